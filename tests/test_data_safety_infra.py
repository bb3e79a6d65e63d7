"""Data-safety settings of the Pulumi program, under the mock runtime: what a `pulumi up` would
send the engine for the tenant's database, its TLS connection and the admin password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from provisioner.errors import ProvisionerError
from provisioner.explain.mock_runtime import StackRun, TenantMocks, run_stack
from provisioner.infra.database import SILO_ENGINE_VERSION
from provisioner.infra.program import main
from tests.test_infra_program import (
    EXAMPLES,
    MYSQL_DB,
    MYSQL_GRANT,
    MYSQL_PROVIDER,
    RDS,
    STACK_SECRETS,
    run_example,
)


def _run(stack: str, spec_dir: Path = EXAMPLES, secrets: dict[str, str] | None = None,
         **config: str) -> StackRun:
    return run_stack(stack, main, config={"specDir": str(spec_dir), **config},
                     secrets=STACK_SECRETS if secrets is None else secrets,
                     mocks=TenantMocks())


# -- TLS to the shared MySQL server ------------------------------------------------------------


def test_the_shared_mysql_connection_verifies_tls_by_default() -> None:
    run = run_example("nandu")
    assert run.error is None
    assert run.one(MYSQL_PROVIDER).inputs["tls"] == "true"


def test_skip_verify_still_encrypts_and_false_is_refused_before_any_resource() -> None:
    run = _run("nandu", sharedDatabaseTls="skip-verify")
    assert run.error is None and run.one(MYSQL_PROVIDER).inputs["tls"] == "skip-verify"
    off = _run("nandu", sharedDatabaseTls="false")
    assert isinstance(off, StackRun) and isinstance(off.error, ProvisionerError)
    assert "sharedDatabaseTls" in str(off.error) and "in clear" in str(off.error)
    assert not off.of_type(MYSQL_DB)


# -- the database resources ------------------------------------------------------------------


def _as_demo(repo: Path, name: str) -> Path:
    path = repo / "tenants" / f"{name}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["soap"] = {"send": "sunat", "environment": "demo"}
    spec["allow_production_switch"] = False
    spec.pop("certificate", None)
    path.write_text(yaml.safe_dump(spec))
    return repo


@pytest.mark.parametrize("production", [True, False])
def test_the_database_is_protected_and_retained_in_every_environment(repo: Path,
                                                                    production: bool) -> None:
    """Protected: the engine refuses any replacement or delete of it, whatever the cause.
    Retained: once the orchestrator unprotects it (an acknowledged move, an allowed destroy),
    DROP DATABASE or DeleteDBInstance still never runs. Demo tenants included."""
    spec_dir = repo if production else _as_demo(_as_demo(repo, "bodegaperez"), "hotelsol")
    for stack, kind in (("bodegaperez", MYSQL_DB), ("hotelsol", RDS)):
        run = _run(stack, spec_dir)
        assert run.error is None, run.error
        db = run.one(kind)
        assert db.retain_on_delete is True and db.protect is True
        assert db.inputs.get("deletionProtection", production) is production


def test_a_grant_can_be_replaced_when_privileges_change() -> None:
    grant = run_example("bodegaperez").one(MYSQL_GRANT)
    assert not grant.protect and not grant.retain_on_delete
    assert grant.delete_before_replace  # same id before and after: revoke, then grant


def test_silo_engine_is_pinned_in_standard_support_and_changes_apply_at_up() -> None:
    db = run_example("hotelsol").one(RDS).inputs
    assert db["engineVersion"] == SILO_ENGINE_VERSION == "8.4"
    assert db["engineLifecycleSupport"] == "open-source-rds-extended-support-disabled"
    assert db["autoMinorVersionUpgrade"] is True and db["allowMajorVersionUpgrade"] is False
    assert db["applyImmediately"] is True
    # production: a final snapshot, kept; automated backups also kept after a delete
    assert db["skipFinalSnapshot"] is False and db["finalSnapshotIdentifier"]
    assert db["deleteAutomatedBackups"] is False and db["backupRetentionPeriod"] == 7


# -- the admin password ------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "ok"), [
    ("a" * 72, True),
    ("a" * 73, False),
    ("ñ" * 36, True),  # 72 bytes in UTF-8
    ("ñ" * 36 + "x", False),  # 37 characters but 73 bytes
    ("€" * 25, False),  # 25 characters, 75 bytes
])
def test_an_admin_password_over_72_bytes_stops_the_program_before_any_resource(
        password: str, ok: bool) -> None:
    run = _run("contaapi", secrets={**STACK_SECRETS, "adminPassword": password})
    if ok:
        assert run.error is None
        return
    assert isinstance(run.error, ProvisionerError)
    message = str(run.error)
    assert "72" in message and "pulumi config set --secret --stack contaapi adminPassword" in (
        message)
    assert password not in message
    assert not run.managed  # nothing declared: preview and up fail before any step


def test_an_admin_password_shorter_than_the_app_allows_stops_the_program() -> None:
    run = _run("contaapi", secrets={**STACK_SECRETS, "adminPassword": "ab12"})
    assert isinstance(run.error, ProvisionerError)
    assert "at least 6" in str(run.error) and "ab12" not in str(run.error)
    assert not run.managed


def test_the_check_is_on_bytes_for_any_password(tmp_path: Path) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from provisioner.model.rules import ADMIN_PASSWORD_MIN_LENGTH
    from provisioner.render.passwords import BCRYPT_MAX_BYTES

    @settings(max_examples=25, deadline=None)
    @given(st.text(min_size=1, max_size=80).filter(lambda s: "\x00" not in s))
    def check(password: str) -> None:
        run = _run("contaapi", secrets={**STACK_SECRETS, "adminPassword": password})
        unusable = (len(password.encode("utf-8")) > BCRYPT_MAX_BYTES
                    or len(password) < ADMIN_PASSWORD_MIN_LENGTH)
        assert (run.error is not None) is unusable, json.dumps(password)

    check()


def test_explain_shows_a_demo_database_as_protected_and_retained(run_cli: object) -> None:
    code, out, _ = run_cli("--repo", EXAMPLES, "explain", "pruebademo")  # type: ignore[operator]
    assert code == 0
    assert "mysql:index/database:Database  database  [protected, retained]" in out
    assert "mysql:index/user:User  database-user  [-]" in out
    assert "mysql:index/grant:Grant  database-grant  [-]" in out


def test_render_reveal_refuses_an_admin_password_over_72_bytes(
        run_cli: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The same limit outside the stack: one message, nothing written, never a traceback."""
    long = "ñ" * 37  # 74 bytes
    monkeypatch.setenv("PROVISIONER_SOL_PASSWORD", "sol-x")
    monkeypatch.setenv("PROVISIONER_ADMIN_PASSWORD", long)
    out_dir = tmp_path / "out"
    code, out, err = run_cli("--repo", EXAMPLES, "render", "contaapi", "--reveal",  # type: ignore[operator]
                             "--out", out_dir)
    assert code != 0 and "74 bytes" in err and "at most 72" in err
    assert long not in out + err and "Traceback" not in err
    assert not out_dir.exists() or not any(out_dir.iterdir())
    monkeypatch.setenv("PROVISIONER_ADMIN_PASSWORD", "ñ" * 36)  # 72 bytes: fine
    code, _, err = run_cli("--repo", EXAMPLES, "render", "contaapi", "--reveal",  # type: ignore[operator]
                           "--out", out_dir)
    assert code == 0, err
