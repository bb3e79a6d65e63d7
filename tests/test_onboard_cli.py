"""`provisioner onboard`: the same steps outside Pulumi, a masked dry-run, one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.app_env import (
    ADMIN_PASSWORD,
    APP_KEY,
    SMTP_PASSWORD,
    SOL_PASSWORD,
    make_app_env,
    set_onboard_env,
)

HOOK = str(Path(__file__).resolve().parent / "app_command_hook.py")


@pytest.fixture
def cli_env(mariadb_server, tmp_path, monkeypatch):
    env = make_app_env(mariadb_server, tmp_path)
    reseller = env.repo / "reseller.yaml"
    text = reseller.read_text(encoding="utf-8")
    start = text.index("app:\n")
    text = text[:start] + f"""app:
  system_database:
    host: 127.0.0.1
    port: {mariadb_server.port}
    database: {env.system_db}
    user: root
  commands:
    migrate: [{json.dumps(sys.executable)}, {json.dumps(HOOK)}, migrate, "{{uuid}}"]
    seed: [{json.dumps(sys.executable)}, {json.dumps(HOOK)}, seed, "{{uuid}}"]
"""
    reseller.write_text(text, encoding="utf-8")
    set_onboard_env(monkeypatch, mariadb_server)
    yield env
    env.drop()


SECRETS = (APP_KEY, ADMIN_PASSWORD, SOL_PASSWORD, SMTP_PASSWORD)


def test_dry_run_prints_every_step_with_secrets_masked(run_cli, monkeypatch) -> None:
    for name, value in {"PROVISIONER_APP_KEY": APP_KEY, "PROVISIONER_SOL_PASSWORD": SOL_PASSWORD,
                        "PROVISIONER_SMTP_PASSWORD": SMTP_PASSWORD}.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_cli("--repo", "examples", "onboard", "ferreteriaandina", "--dry-run")
    assert code == 0, err
    for step in ("website", "database", "migrate", "seed", "certificate", "client", "tenant"):
        assert f"-- step {step} " in out
    assert "INSERT INTO `series`" in out and "'L001'" in out
    assert "'20512333797OSEUSER1', '********'" in out
    assert not any(s in out + err for s in SECRETS)
    code, out, _ = run_cli("--repo", "examples", "onboard", "ferreteriaandina", "--dry-run",
                           "--format", "json")
    plan = json.loads(out)
    assert [s["step"] for s in plan["steps"]] == [
        "website", "database", "migrate", "seed", "certificate", "client", "tenant"]


def test_an_integrators_dry_run_shows_the_sync_writing_its_modules(run_cli,
                                                                  monkeypatch) -> None:
    for name, value in {"PROVISIONER_APP_KEY": APP_KEY,
                        "PROVISIONER_SOL_PASSWORD": SOL_PASSWORD}.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_cli("--repo", "examples", "onboard", "contaapi", "--dry-run",
                             "--format", "json")
    assert code == 0, err
    steps = {s["step"]: s["statements"] for s in json.loads(out)["steps"]}
    assert "INSERT INTO `module_user` (`module_id`, `user_id`) VALUES (5, 1)" in steps["tenant"]
    assert steps["sync"][-2:] == [
        "INSERT INTO module_user (module_id, user_id) SELECT id, 1 FROM `modules` WHERE value"
        " IN ('documents', 'reports') ORDER BY id",
        "INSERT INTO module_level_user (module_level_id, user_id) SELECT id, 1 FROM "
        "`module_levels` WHERE value IN ('list_document') ORDER BY id"]


def test_onboard_runs_the_apps_commands_and_a_second_run_changes_nothing(cli_env,
                                                                         run_cli) -> None:
    code, out, err = run_cli("--repo", cli_env.repo, "onboard", "nandu")
    assert code == 0, err
    assert "nandu: tenant:" in out and "done (website #1)" in out
    assert not any(s in out + err for s in SECRETS)
    code, out, err = run_cli("--repo", cli_env.repo, "onboard", "nandu", "--format", "json")
    assert code == 0, err
    assert json.loads(out) == {"tenant": "nandu", "result": "unchanged", "website_id": 1,
                               "changes": [], "warnings": [], "error": None}


def test_a_changed_company_name_is_not_written_and_never_a_silent_no_change(cli_env,
                                                                           run_cli) -> None:
    code, _, err = run_cli("--repo", cli_env.repo, "onboard", "nandu")
    assert code == 0, err
    path = cli_env.repo / "tenants" / "nandu.yaml"
    text = path.read_text(encoding="utf-8")
    old = next(x for x in text.splitlines() if x.startswith("company_name:"))
    path.write_text(text.replace(old, "company_name: Nandu Renombrado S.A.C."), encoding="utf-8")
    code, out, err = run_cli("--repo", cli_env.repo, "onboard", "nandu")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-1] == "nandu: no change (website #1), 1 warning(s) above"
    assert lines[0].startswith("warning: nandu: company_name differs from what the account "
                               "holds, but the app writes clients.name, companies.name and "
                               "companies.trade_name only when the account is created")
    [(kept,)] = cli_env.query("SELECT name FROM clients")
    assert kept != "Nandu Renombrado S.A.C." and kept.startswith("Ñandú")
    code, out, _ = run_cli("--repo", cli_env.repo, "onboard", "nandu", "--format", "json")
    report = json.loads(out)
    assert report["result"] == "unchanged" and report["changes"] == []
    assert [w.split(" differs")[0] for w in report["warnings"]] == ["nandu: company_name"]


def test_refusals_are_one_line_with_exit_codes(cli_env, run_cli, monkeypatch) -> None:
    cli_env.query("DELETE FROM plans WHERE name = 'Emprendedor'")
    code, _, err = run_cli("--repo", cli_env.repo, "onboard", "nandu")
    assert code == 1
    assert err.strip().count("\n") == 0 and "plan 'Emprendedor'" in err
    assert cli_env.query("SELECT COUNT(*) FROM websites") == [(0,)]
    monkeypatch.delenv("PROVISIONER_APP_KEY")
    code, _, err = run_cli("--repo", cli_env.repo, "onboard", "nandu")
    assert code == 2 and "PROVISIONER_APP_KEY is not set" in err


def test_a_failing_app_command_exits_3_and_names_the_step(cli_env, run_cli,
                                                          monkeypatch) -> None:
    monkeypatch.setenv("HOOK_DB_PORT", "1")  # the migrate hook cannot connect
    code, _, err = run_cli("--repo", cli_env.repo, "onboard", "pruebademo")
    assert code == 3 and "step 'migrate' failed" in err
    monkeypatch.setenv("HOOK_DB_PORT", str(cli_env.server.port))
    code, out, err = run_cli("--repo", cli_env.repo, "onboard", "pruebademo")
    assert code == 0, err
    assert "pruebademo: migrate:" in out
