"""Left from the previous round: a module both added to and removed from a preset, and an
SMTP username that cannot be the sender with no from-address, are refused, by validate and by
`new` alike (one rule each, in the model)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.model.catalog import DEFAULT_CATALOG

Run = Callable[..., tuple[int, str, str]]
NEW = ("--no-input", "--no-lookup", "--ruc", "20131312955", "--company-name", "Aduanas SAC",
       "--subdomain", "aduanas", "--email", "ti@example.pe", "--plan", "pyme")


def _edit(repo: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    path = repo / "tenants" / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


@settings(max_examples=15, deadline=None)
@given(module=st.sampled_from(sorted(DEFAULT_CATALOG.modules)), also=st.booleans())
def test_added_and_removed_is_refused_by_validate(tmp_path_factory, module: str,  # type: ignore[no-untyped-def]
                                                  also: bool) -> None:
    import shutil

    from provisioner.cli import main

    repo = tmp_path_factory.mktemp("r") / "repo"
    shutil.copytree(Path(__file__).resolve().parent.parent / "examples", repo)
    extra = ["reports"] if also and module != "reports" else []
    _edit(repo, "bodegaperez", lambda d: d.update(
        modules={"preset": "basico", "add": [*extra, module], "remove": [module]}))
    assert main(["--repo", str(repo), "validate", "--format", "json"]) == 1


def test_added_and_removed_names_the_remove_entry(repo: Path, run_cli: Run) -> None:
    _edit(repo, "bodegaperez", lambda d: d.update(
        modules={"preset": "basico", "add": ["hotels"], "remove": ["hotels"]}))
    code, _out, err = run_cli("--repo", repo, "validate")
    assert code == 1
    assert "modules.remove[0]" in err and "both added and removed" in err


def test_new_refuses_adding_and_removing_one_module(repo: Path, run_cli: Run) -> None:
    code, _out, err = run_cli("--repo", repo, "new", *NEW, "--add-module", "hotels",
                              "--remove-module", "hotels")
    assert code == 1 and "both added and removed" in err
    assert not (repo / "tenants" / "aduanas.yaml").exists()


@pytest.mark.parametrize(("username", "from_address", "ok"), [
    ("apikey", None, False), ("AKIAIOSFODNN7EXAMPLE", None, False), ("ventas", None, False),
    ("apikey", "ventas@empresa.pe", True), ("ventas@empresa.pe", None, True)])
def test_an_smtp_username_that_is_no_address_needs_a_from_address(
        repo: Path, run_cli: Run, username: str, from_address: str | None, ok: bool) -> None:
    smtp = {"host": "smtp.sendgrid.net", "port": 587, "username": username, "encryption": "tls"}
    if from_address:
        smtp["from_address"] = from_address
    _edit(repo, "bodegaperez", lambda d: d.update(smtp=smtp))
    code, _out, err = run_cli("--repo", repo, "validate")
    if ok:
        assert code == 0, err
    else:
        assert code == 1 and "smtp" in err and "from_address" in err


def test_new_refuses_the_same_smtp(repo: Path, run_cli: Run) -> None:
    code, _out, err = run_cli("--repo", repo, "new", *NEW, "--smtp-host", "smtp.sendgrid.net",
                              "--smtp-username", "apikey")
    assert code == 1 and "smtp.from_address" in err and "apikey" in err
    assert not (repo / "tenants" / "aduanas.yaml").exists()
