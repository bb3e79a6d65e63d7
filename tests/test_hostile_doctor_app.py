"""doctor's app-database check is onboard's own schema check and more: reachable with the
password onboard reads, TLS state, the tables onboard needs, the grants hyn's statements need;
"skipped: no credentials" when the password is not set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from provisioner.model.repository import load_reseller
from provisioner.readiness import Settings, app_database, grants_problem
from tests.app_env import make_app_env
from tests.test_hostile_refusals import _ddl


@pytest.fixture
def app(mariadb_server, tmp_path):  # type: ignore[no-untyped-def]
    env = make_app_env(mariadb_server, tmp_path)
    path = env.repo / "reseller.yaml"
    block = (f"  system_database:\n    host: 127.0.0.1\n    port: {mariadb_server.port}\n"
             f"    database: {env.system_db}\n    user: {mariadb_server.user}\n")
    path.write_text(re.sub(r"  system_database:\n(    .*\n)+", block,
                           path.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    yield env
    env.drop()


def _check(env, password: str | None, user: str | None = None):  # type: ignore[no-untyped-def]
    path = env.repo / "reseller.yaml"
    if user is not None:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(f"    user: {env.server.user}\n", f"    user: {user}\n"),
                        encoding="utf-8")
    reseller, _c, findings = load_reseller(path)
    assert reseller is not None, findings
    environ = {} if password is None else {"PROVISIONER_APP_DB_PASSWORD": password}
    return app_database(Settings(root=env.repo, reseller=reseller, env=environ))


def test_ready(app) -> None:  # type: ignore[no-untyped-def]
    check = _check(app, app.server.password)
    assert check.status == "ok", check
    assert "TLS" in check.detail and app.system_db in check.detail


def test_no_password_is_skipped_as_no_credentials(app) -> None:  # type: ignore[no-untyped-def]
    check = _check(app, None)
    assert check.status == "skip" and "skipped: no credentials" in check.detail


def test_a_wrong_password_fails(app) -> None:  # type: ignore[no-untyped-def]
    check = _check(app, "wrong")
    assert check.status == "fail" and "cannot connect" in check.detail


def test_missing_tables_are_named(app) -> None:  # type: ignore[no-untyped-def]
    _ddl(app, "DROP TABLE module_levels", "ALTER TABLE clients DROP COLUMN token")
    check = _check(app, app.server.password)
    assert check.status == "fail"
    assert "module_levels" in check.detail and "clients.token" in check.detail


def test_a_user_without_the_grants_fails(app) -> None:  # type: ignore[no-untyped-def]
    user = f"reader{app.system_db[-6:]}"
    app.server.execute(f"CREATE USER IF NOT EXISTS `{user}`@'%' IDENTIFIED BY 'pw'")
    app.server.execute(f"GRANT SELECT ON `{app.system_db}`.* TO `{user}`@'%'")
    try:
        check = _check(app, "pw", user=user)
    finally:
        app.server.execute(f"DROP USER IF EXISTS `{user}`@'%'")
    assert check.status == "fail"
    assert "CREATE" in check.detail and "GRANT OPTION" in check.detail


@pytest.mark.parametrize(("grants", "ok"), [
    (["GRANT ALL PRIVILEGES ON *.* TO `root`@`%` WITH GRANT OPTION"], True),
    (["GRANT CREATE, CREATE USER, SELECT ON *.* TO `a`@`%` WITH GRANT OPTION"], True),
    (["GRANT ALL PRIVILEGES ON *.* TO `a`@`%`"], False),
    (["GRANT USAGE ON *.* TO `a`@`%`", "GRANT ALL PRIVILEGES ON `app`.* TO `a`@`%`"], False),
])
def test_grants(grants: list[str], ok: bool) -> None:
    assert (grants_problem(grants) is None) is ok


def test_doctor_shows_it(app, run_cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PROVISIONER_APP_DB_PASSWORD", app.server.password)
    _code, out, _err = run_cli("--repo", app.repo, "doctor")
    line = next(ln for ln in out.splitlines() if "app-database" in ln)
    assert line.startswith("OK") and Path(app.repo).name not in line
