"""`adopt` refuses before writing (no Pulumi CLI for --set-secrets, missing tables, a wrong
password: exit 1 as onboard), and never replaces a tenant file it did not write."""

from __future__ import annotations

import json
import shutil

import pytest

from provisioner.app.journal import JOURNAL
from tests.app_env import make_app_env
from tests.test_adopt import _point_at
from tests.test_hostile_refusals import _ddl, snapshot

ACCOUNTS = ["nandu", "pruebademo"]


@pytest.fixture
def app(mariadb_server, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    env = make_app_env(mariadb_server, tmp_path)
    _point_at(env)
    for sub in ACCOUNTS:
        env.onboarding(sub).run()
    env.query(f"DROP TABLE {JOURNAL}")
    originals = tmp_path / "originals"
    shutil.move(env.repo / "tenants", originals)
    (env.repo / "tenants").mkdir()
    monkeypatch.setenv("PROVISIONER_APP_DB_PASSWORD", env.server.password)
    env.originals = originals
    yield env
    env.drop()


def test_set_secrets_without_pulumi_refuses_before_any_write(app, run_cli, monkeypatch,  # type: ignore[no-untyped-def]
                                                              mariadb_server) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    before = snapshot(mariadb_server, app.repo)
    code, _out, err = run_cli("--repo", app.repo, "adopt", "--all", "--set-secrets")
    assert code == 2 and "Pulumi CLI" in err
    assert snapshot(mariadb_server, app.repo) == before


@pytest.mark.parametrize(("case", "code", "words"), [
    ("wrong password", 1, ["cannot connect"]),
    ("unreachable", 1, ["cannot connect"]),
    ("clients missing", 1, ["clients", "nothing was written"]),
    ("a column missing", 1, ["hostnames.fqdn"]),
    ("unknown account", 2, ["nosuch"]),
])
def test_adopt_refusals_write_nothing_and_agree_with_onboard(app, run_cli, monkeypatch,  # type: ignore[no-untyped-def]
                                                             mariadb_server, case, code,
                                                             words) -> None:
    args = ["--all"]
    if case == "wrong password":
        monkeypatch.setenv("PROVISIONER_APP_DB_PASSWORD", "wrong")
    elif case == "unreachable":
        path = app.repo / "reseller.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace(
            f"port: {app.server.port}", "port: 1"), encoding="utf-8")
    elif case == "clients missing":
        _ddl(app, "DROP TABLE clients")
    elif case == "a column missing":
        _ddl(app, "ALTER TABLE hostnames DROP COLUMN fqdn")
    else:
        args = ["nosuch"]
    before = snapshot(mariadb_server, app.repo)
    got, _out, err = run_cli("--repo", app.repo, "adopt", *args)
    assert got == code, err
    assert err.strip().count("\n") == 0 and "internal error" not in err
    for word in words:
        assert word in err
    assert snapshot(mariadb_server, app.repo) == before


def test_a_file_adopt_did_not_write_is_skipped_and_named(app, run_cli) -> None:  # type: ignore[no-untyped-def]
    mine = app.repo / "tenants" / "nandu.yaml"
    made_by_new = (app.originals / "nandu.yaml").read_bytes()
    mine.write_bytes(made_by_new)
    code, out, err = run_cli("--repo", app.repo, "adopt", "--all", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert report["not_written_by_adopt"] == ["nandu"]
    assert [a["tenant"] for a in report["adopted"]] == ["pruebademo"]
    assert mine.read_bytes() == made_by_new
    code, out, _ = run_cli("--repo", app.repo, "adopt", "nandu")
    assert "nandu: SKIPPED: tenants/nandu.yaml exists and was not written by adopt" in out
    assert mine.read_bytes() == made_by_new
    # a .yml of the same subdomain counts too
    mine.rename(mine.with_suffix(".yml"))
    run_cli("--repo", app.repo, "adopt", "nandu")
    assert not mine.exists() and mine.with_suffix(".yml").read_bytes() == made_by_new


def test_force_replaces_it_and_adopts_own_files_again(app, run_cli) -> None:  # type: ignore[no-untyped-def]
    mine = app.repo / "tenants" / "nandu.yaml"
    mine.write_bytes((app.originals / "nandu.yaml").read_bytes())
    _code, out, err = run_cli("--repo", app.repo, "adopt", "nandu", "--force")
    assert "Written by `provisioner adopt`" in mine.read_text(encoding="utf-8"), out + err
    _code, out, _ = run_cli("--repo", app.repo, "adopt", "nandu", "--format", "json")
    assert json.loads(out)["skipped"] == ["nandu"]


def test_an_empty_database_password_is_tried_not_refused(app, run_cli, monkeypatch,  # type: ignore[no-untyped-def]
                                                         mariadb_server) -> None:
    """As onboard: unset is missing (exit 2), empty is a password the server judges (exit 1
    here, where root has one)."""
    before = snapshot(mariadb_server, app.repo)
    monkeypatch.setenv("PROVISIONER_APP_DB_PASSWORD", "")
    code, _out, err = run_cli("--repo", app.repo, "adopt", "--all")
    assert code == 1 and "cannot connect" in err
    monkeypatch.delenv("PROVISIONER_APP_DB_PASSWORD")
    code, _out, err = run_cli("--repo", app.repo, "adopt", "--all")
    assert code == 2 and "PROVISIONER_APP_DB_PASSWORD is not set" in err
    assert snapshot(mariadb_server, app.repo) == before
