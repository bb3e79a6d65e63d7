"""Every refusal comes before the first write: for each refused case of `onboard` and
`adopt`, every table of every database on the test MariaDB, its users and the repository's
files are the same after the run as before it."""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.app_env import (
    make_app_env,
    set_onboard_env,
)

HOOK = str(Path(__file__).resolve().parent / "app_command_hook.py")
SERVER_SCHEMAS = {"mysql", "information_schema", "performance_schema", "sys"}


def snapshot(server, repo: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """All rows of all tables of every database on the server, its users, the repo's files."""
    tables: dict[str, list[str]] = {}
    for (db,) in server.execute("SHOW DATABASES"):
        if db in SERVER_SCHEMAS:
            continue
        for (table,) in server.execute("SHOW TABLES", database=db):
            rows = server.execute(f"SELECT * FROM `{table}`", database=db)
            tables[f"{db}.{table}"] = sorted(repr(r) for r in rows)
    users = sorted(server.execute("SELECT User, Host FROM mysql.user"))
    files = {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
             if p.is_file()}
    return {"tables": tables, "users": users, "files": files}


def _app_section(server, system_db: str, put_certificate: bool = False) -> str:  # type: ignore[no-untyped-def]
    put = (f'    put_certificate: [{json.dumps(sys.executable)}, {json.dumps(HOOK)}, '
           f'put-certificate, "{{filename}}"]\n') if put_certificate else ""
    return f"""app:
  system_database:
    host: 127.0.0.1
    port: {server.port}
    database: {system_db}
    user: root
  commands:
    migrate: [{json.dumps(sys.executable)}, {json.dumps(HOOK)}, migrate, "{{uuid}}"]
    seed: [{json.dumps(sys.executable)}, {json.dumps(HOOK)}, seed, "{{uuid}}"]
{put}"""


@pytest.fixture
def env(mariadb_server, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    app = make_app_env(mariadb_server, tmp_path)
    reseller = app.repo / "reseller.yaml"
    text = reseller.read_text(encoding="utf-8")
    reseller.write_text(text[:text.index("app:\n")] + _app_section(mariadb_server, app.system_db),
                        encoding="utf-8")
    set_onboard_env(monkeypatch, mariadb_server)
    monkeypatch.delenv("PROVISIONER_CERTIFICATE", raising=False)
    monkeypatch.delenv("PROVISIONER_CERTIFICATE_PASSWORD", raising=False)
    yield app
    app.drop()


def _certificate(ruc: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "BODEGA"),
                      x509.NameAttribute(NameOID.SERIAL_NUMBER, f"RUC:{ruc}")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    pfx = pkcs12.serialize_key_and_certificates(b"c", key, cert, None,
                                                serialization.BestAvailableEncryption(b"pw"))
    return base64.encodebytes(pfx).decode()  # wrapped, as `base64 file.pfx` prints it


def _ddl(env, *statements: str) -> None:  # type: ignore[no-untyped-def]
    """Schema changes with foreign keys off (the app's tables reference each other)."""
    conn = env.server.connect(env.system_db)
    try:
        with conn.cursor() as cur:
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")
            for sql in statements:
                cur.execute(sql)
        conn.commit()
    finally:
        conn.close()


REFUSED = {
    # case: (tenant, how to break it, exit code, words the one line names)
    "no app key": ("nandu", lambda mp, env: mp.delenv("PROVISIONER_APP_KEY"), 2,
                   ["PROVISIONER_APP_KEY"]),
    "every missing variable at once": (
        "bodegaperez", lambda mp, env: [mp.delenv(n) for n in (
            "PROVISIONER_APP_KEY", "PROVISIONER_SOL_PASSWORD", "PROVISIONER_APP_DB_PASSWORD",
            "PROVISIONER_ADMIN_PASSWORD")], 2,
        ["PROVISIONER_APP_KEY", "PROVISIONER_SOL_PASSWORD", "PROVISIONER_APP_DB_PASSWORD",
         "PROVISIONER_CERTIFICATE", "PROVISIONER_ADMIN_PASSWORD"]),
    "no admin password": ("nandu", lambda mp, env: mp.delenv("PROVISIONER_ADMIN_PASSWORD"), 1,
                          ["admin user's password"]),
    "certificate without put_certificate": (
        "bodegaperez", lambda mp, env: [mp.setenv("PROVISIONER_CERTIFICATE",
                                                  _certificate("10054148289")),
                                        mp.setenv("PROVISIONER_CERTIFICATE_PASSWORD", "pw")], 1,
        ["put_certificate"]),
    "certificate of another RUC": (
        "bodegaperez", lambda mp, env: [mp.setenv("PROVISIONER_CERTIFICATE",
                                                  _certificate("20131312955")),
                                        mp.setenv("PROVISIONER_CERTIFICATE_PASSWORD", "pw")], 1,
        ["RUC 10054148289"]),
    "a table missing": ("nandu", lambda mp, env: _ddl(env, "DROP TABLE module_levels"), 1,
                        ["module_levels", "nothing was written"]),
    "two tables and a column missing": (
        "nandu", lambda mp, env: _ddl(env, "DROP TABLE modules", "DROP TABLE module_levels",
                                       "ALTER TABLE clients DROP COLUMN smtp_port"), 1,
        ["modules", "module_levels", "clients.smtp_port"]),
    "configurations missing": ("nandu", lambda mp, env: _ddl(env, "DROP TABLE configurations"),
                               1, ["configurations"]),
    "wrong database password": (
        "nandu", lambda mp, env: mp.setenv("PROVISIONER_APP_DB_PASSWORD", "wrong"), 1,
        ["cannot connect"]),
    "empty database password where the server wants one": (
        "nandu", lambda mp, env: mp.setenv("PROVISIONER_APP_DB_PASSWORD", ""), 1,
        ["cannot connect"]),
    "plan missing from the app": (
        "nandu", lambda mp, env: env.query("DELETE FROM plans WHERE name = 'Emprendedor'"), 1,
        ["plan 'Emprendedor'"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_onboard_refuses_before_any_write(env, run_cli, monkeypatch, mariadb_server,  # type: ignore[no-untyped-def]
                                          case: str) -> None:
    tenant, breaks, code, words = REFUSED[case]
    breaks(monkeypatch, env)
    before = snapshot(mariadb_server, env.repo)
    got, _out, err = run_cli("--repo", env.repo, "onboard", tenant)
    assert got == code, err
    line = err.strip()
    assert line.count("\n") == 0 and "internal error" not in line, line
    for word in words:
        assert word in line, (word, line)
    assert snapshot(mariadb_server, env.repo) == before


def test_another_tenants_broken_file_does_not_block_onboarding(env, run_cli) -> None:  # type: ignore[no-untyped-def]
    (env.repo / "tenants" / "hotelsol.yaml").write_text("ruc: [not, a, ruc]\n",
                                                        encoding="utf-8")
    code, _out, err = run_cli("--repo", env.repo, "onboard", "nandu", "--dry-run")
    assert code == 0, err
    code, out, err = run_cli("--repo", env.repo, "onboard", "nandu")
    assert code == 0, err
    assert "nandu: done" in out


def test_an_empty_database_password_is_a_value_not_a_missing_variable() -> None:
    from provisioner.cli.onboard import read_environment
    from provisioner.model.repository import load_repository

    spec = load_repository(Path(__file__).resolve().parent.parent / "examples") \
        .tenant("nandu").spec
    values = read_environment(spec, {"PROVISIONER_APP_KEY": "k",
                                     "PROVISIONER_APP_DB_PASSWORD": "",
                                     "PROVISIONER_SOL_PASSWORD": "s"})
    assert values["db_password"] == ""


def test_redo_runs_a_step_recorded_as_done(env, run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("--repo", env.repo, "onboard", "nandu")[0] == 0
    code, out, err = run_cli("--repo", env.repo, "onboard", "nandu")
    assert code == 0 and "no change" in out, err
    code, out, err = run_cli("--repo", env.repo, "onboard", "nandu", "--redo", "seed",
                             "--format", "json")
    assert code == 0, err
    assert [c for c in json.loads(out)["changes"] if c.startswith("seed:")]
    assert not [c for c in json.loads(out)["changes"] if c.startswith("migrate:")]


def test_redo_of_a_row_step_is_a_usage_error(run_cli) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = run_cli("--repo", "examples", "onboard", "nandu", "--redo", "tenant")
    assert code == 2 and "invalid choice" in err


def test_help_names_every_variable_and_exit_code(run_cli) -> None:  # type: ignore[no-untyped-def]
    from provisioner.cli.exit_codes import TABLE

    code, out, _ = run_cli("onboard", "--help")
    assert code == 0
    for name in ("PROVISIONER_APP_KEY", "PROVISIONER_APP_DB_PASSWORD",
                 "PROVISIONER_ADMIN_PASSWORD", "PROVISIONER_SOL_PASSWORD",
                 "PROVISIONER_SMTP_PASSWORD", "PROVISIONER_CERTIFICATE",
                 "PROVISIONER_CERTIFICATE_PASSWORD"):
        assert name in out
    flat = " ".join(out.split())
    for number, _meaning in TABLE["onboard"]:
        assert f" {number} " in flat
