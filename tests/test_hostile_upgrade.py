"""`init --upgrade` rewrites only the files init generated and nobody changed since (its
manifest of hashes, or init's note in the file); a hand-made Pulumi project is kept and named;
a file it cannot read, or a Pulumi.yaml it cannot parse, is refused before anything is
written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from provisioner import scaffold

Run = Callable[..., tuple[int, str, str]]
FLAGS = ("--no-input", "--base-domain", "facturador.acme.pe", "--database-prefix", "acme",
         "--backend-url", "s3://acme-pulumi-state", "--secrets-provider",
         "awskms://alias/pulumi")
HAND_MADE_PROJECT = "name: acme-infra\nruntime: python\nbackend:\n  url: s3://ours\n"
HAND_MADE_PROGRAM = "import pulumi\n\npulumi.export('ours', 1)\n"
TOOL_FILES = sorted(scaffold.generated_files("x", None))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture
def made(tmp_path: Path, run_cli: Run) -> Path:
    target = tmp_path / "acme"
    assert run_cli("init", target, *FLAGS)[0] == 0
    assert (target / scaffold.MANIFEST).is_file()
    return target


def _stale(target: Path) -> None:
    """requirements.txt as an older init wrote it (note kept, another pin)."""
    path = target / "requirements.txt"
    path.write_text(path.read_text().replace("tenant-provisioner", "tenant-provisioner-old"))


def test_a_hand_made_pulumi_project_is_kept_and_named(made: Path, run_cli: Run) -> None:
    (made / "Pulumi.yaml").write_text(HAND_MADE_PROJECT)
    (made / "infra" / "__main__.py").write_text(HAND_MADE_PROGRAM)
    _stale(made)
    code, _out, err = run_cli("init", made, "--upgrade")
    assert code == 0, err
    assert (made / "Pulumi.yaml").read_text() == HAND_MADE_PROJECT
    assert (made / "infra" / "__main__.py").read_text() == HAND_MADE_PROGRAM
    assert "kept Pulumi.yaml" in err and "kept infra/__main__.py" in err
    assert "tenant-provisioner-old" not in (made / "requirements.txt").read_text()
    # and the next run says the same, and writes nothing
    before = _files(made)
    code, out, err = run_cli("init", made, "--upgrade")
    assert code == 0 and "up to date" in out and "kept Pulumi.yaml" in err
    assert _files(made) == before


@pytest.mark.parametrize("broken", ["name: tenants\nbackend: [unclosed\n",
                                    "- a list\n- not a project\n"])
def test_a_marked_pulumi_yaml_that_does_not_parse_is_refused(made: Path, run_cli: Run,
                                                             broken: str) -> None:
    note = (made / "Pulumi.yaml").read_text().splitlines()[0]
    (made / "Pulumi.yaml").write_text(f"{note}\n{broken}")
    _stale(made)
    before = _files(made)
    code, _out, err = run_cli("init", made, "--upgrade")
    assert code == 1
    assert "Pulumi.yaml" in err and "nothing was written" in err
    assert _files(made) == before


def test_a_file_it_cannot_read_is_refused_before_any_write(made: Path, run_cli: Run) -> None:
    (made / ".pre-commit-config.yaml").write_bytes(b"\xff\xfe not utf-8 \x80")
    _stale(made)
    before = _files(made)
    code, _out, err = run_cli("init", made, "--upgrade")
    assert code == 1 and ".pre-commit-config.yaml: cannot be read" in err
    assert _files(made) == before


def test_a_repository_from_before_the_manifest(made: Path, run_cli: Run) -> None:
    (made / scaffold.MANIFEST).unlink()
    (made / "Pulumi.yaml").write_text(HAND_MADE_PROJECT)
    _stale(made)
    code, _out, err = run_cli("init", made, "--upgrade")
    assert code == 0, err
    assert (made / "Pulumi.yaml").read_text() == HAND_MADE_PROJECT
    assert "tenant-provisioner-old" not in (made / "requirements.txt").read_text()
    assert (made / scaffold.MANIFEST).is_file()


def test_a_damaged_manifest_is_refused(made: Path, run_cli: Run) -> None:
    (made / scaffold.MANIFEST).write_text("{not json")
    _stale(made)
    before = _files(made)
    code, _out, err = run_cli("init", made, "--upgrade")
    assert code == 1 and "init-manifest.json" in err
    assert _files(made) == before


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edited=st.sets(st.sampled_from(TOOL_FILES), max_size=4))
@example(edited={"Pulumi.yaml", "infra/__main__.py"})
@example(edited=set())
def test_exactly_the_untouched_tool_files_are_rewritten(tmp_path_factory, run_cli: Run,  # type: ignore[no-untyped-def]
                                                        edited: set[str]) -> None:
    target = tmp_path_factory.mktemp("u") / "acme"
    assert run_cli("init", target, *FLAGS)[0] == 0
    generated = {rel: (target / rel).read_text() for rel in TOOL_FILES}
    _stale(target)  # as an older init left it...
    for rel in edited:  # ...and some rewritten by hand, without init's note
        (target / rel).write_text(f"# ours\n{rel}\n")
    code, _out, err = run_cli("init", target, "--upgrade")
    assert code == 0, err
    for rel in TOOL_FILES:
        text = (target / rel).read_text()
        if rel in edited:
            assert text == f"# ours\n{rel}\n" and f"kept {rel}" in err
        else:
            assert text == generated[rel], rel


def test_doctor_reads_a_broken_pulumi_yaml_as_no_backend(made: Path, run_cli: Run,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    (made / "Pulumi.yaml").write_text("name: x\nbackend: [unclosed\n")
    code, out, err = run_cli("--repo", made, "doctor")
    assert code == 1 and "internal error" not in err
    assert "no state backend named" in out
