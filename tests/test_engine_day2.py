"""Day-2 edits, database moves and drift on the real Pulumi engine, through the `provisioner`
commands as CI runs them (tests/engine_world.py: moto, a private MariaDB with the app's schema,
the stand-in plugins, a file backend). Its own world, apart from test_engine_apply.py: the tests
run in order on one reseller repository (a demo and a production tenant), each edit previewed
by the pull request's plan as updates, applied in place, re-applied with nothing to change,
and checked in the app's rows the edit dialog and lock buttons write (docs/app.md, "Day 2")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.model.catalog import DEFAULT_MODULES, DEFAULT_PRESETS
from provisioner.orchestrate.local import client
from tests.app_env import dict_rows
from tests.engine_runs import by_stack, commit, git, init_repository, run_json, secret_leaks, shown
from tests.engine_world import World, engine_world
from tests.test_engine_apply import VERSION_REPLACEMENTS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1200)]

DEMO, PRODUCTION = "pruebademo", "bodegaperez"
DEMO_RUC, PRODUCTION_RUC = "20123456789", "10054148289"
BASE_DOMAIN = "facturador.example.pe"
ZERO = {"create": 0, "update": 0, "replace": 0, "delete": 0}
# Of the secret versions a new value may replace (test_engine_apply.VERSION_REPLACEMENTS), a
# day-2 edit touches only the published config's: the database password and the admin's
# never change after creation, so their user and versions must not even show in a plan.
DAY_2_REPLACEMENTS = {"secret-config-tenant-env-version", "secret-config-bootstrap-json-version"}
assert DAY_2_REPLACEMENTS <= VERSION_REPLACEMENTS
NEVER_ON_DAY_2 = {"database-user", "secret-database-version", "secret-admin-version",
                  "app-website"}


@pytest.fixture(scope="module")
def world(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with engine_world(tmp_path_factory.mktemp("engine-day2"), [DEMO, PRODUCTION]) as w:
        init_repository(w.repo)
        yield w


@pytest.fixture(scope="module")
def outputs() -> list[str]:
    """Everything the commands printed, searched for secrets at the end."""
    return []


def _replaced(result: dict[str, Any]) -> set[str]:
    return {s["name"] for s in result["steps"] if s["op"] == "replace"}


def _steps(result: dict[str, Any]) -> set[tuple[str, str]]:
    return {(s["op"], s["name"]) for s in result["steps"]}


def _tenant_file(world: World, name: str) -> Path:
    return world.repo / "tenants" / f"{name}.yaml"


def _edit_tenant(world: World, name: str, edit: Callable[[dict[str, Any]], None]) -> None:
    path = _tenant_file(world, name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _edit_reseller(world: World, edit: Callable[[dict[str, Any]], None]) -> None:
    path = world.repo / "reseller.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _one(world: World, sql: str, database: str, args: Any = None) -> dict[str, Any]:
    (row,) = dict_rows(world, sql, database, args)
    return row


def _client(world: World, ruc: str) -> dict[str, Any]:
    return _one(world, "SELECT * FROM clients WHERE number = %s", "facturador", (ruc,))


def _configuration(world: World, stack: str) -> dict[str, Any]:
    return _one(world, "SELECT * FROM configurations WHERE id = 1", f"tenancy_{stack}")


def _company(world: World, stack: str) -> dict[str, Any]:
    return _one(world, "SELECT * FROM companies WHERE id = 1", f"tenancy_{stack}")


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _previewed_then_applied_in_place(world: World, outputs: list[str], stack: str,
                                     *, base: str = "HEAD~1",
                                     allowed: set[str] = DAY_2_REPLACEMENTS
                                     ) -> dict[str, Any]:
    """The pull request's plan shows the edit as updates of `stack` (no replace but of the
    secret versions in `allowed`, no delete); the merge's apply does the same; a re-apply of
    every tenant changes nothing. Returns the apply's result of `stack`."""
    selection = ["--all"] if base == "all" else ["--base", base]
    code, report = run_json(world, outputs, "plan", *selection)
    assert code == 0, shown(report)
    result = by_stack(report)[stack]
    assert result["operation"] == "preview" and result["status"] == "ok", result
    assert result["changes"]["update"] > 0 and result["changes"]["delete"] == 0, result
    assert ("update", "app-account") in _steps(result), result["steps"]
    assert _replaced(result) <= allowed, result["steps"]
    assert not {name for _op, name in _steps(result)} & NEVER_ON_DAY_2, result["steps"]
    previewed = _steps(result)

    code, report = run_json(world, outputs, "apply", *selection)
    assert code == 0, shown(report)
    result = by_stack(report)[stack]
    assert result["status"] == "ok" and result["changes"]["delete"] == 0, result
    assert _replaced(result) <= allowed, result["steps"]
    # what ran is what the pull request showed
    assert _steps(result) == previewed, (previewed, result["steps"])

    code, again = run_json(world, outputs, "apply", "--all")
    assert code == 0 and again["totals"] == ZERO, again
    return result


def test_first_apply_creates_both_tenants(world: World, outputs: list[str]) -> None:
    for stack in (DEMO, PRODUCTION):
        world.prepare_stack(stack)
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0, shown(report)
    assert {r["stack"]: r["status"] for r in report["results"]} == {DEMO: "ok",
                                                                   PRODUCTION: "ok"}
    assert _client(world, DEMO_RUC)["locked_users"] == 0
    assert _company(world, PRODUCTION)["soap_username"] == f"{PRODUCTION_RUC}FACTURA1"


def _level_values(world: World, stack: str) -> list[str]:
    return sorted(r["value"] for r in dict_rows(
        world, "SELECT l.value FROM module_level_user u JOIN module_levels l ON "
               "l.id = u.module_level_id WHERE u.user_id = 1", f"tenancy_{stack}"))


def test_module_levels_edit_updates_in_place_and_rewrites_the_admins_levels(
        world: World, outputs: list[str]) -> None:
    modules = {m.value: m for m in DEFAULT_MODULES}
    kept = {"documents": ["new_document", "list_document"], "pos": ["pos"]}
    _edit_tenant(world, DEMO, lambda d: d["modules"].update(levels=kept))
    commit(world.repo, "day 2: fewer levels of documents and pos")
    _previewed_then_applied_in_place(world, outputs, DEMO)
    # the edit dialog writes the tenant's ids of the posted values (docs/app.md): the levels
    # listed for documents and pos, every level of the preset's other modules
    expected = {lv for m in DEFAULT_PRESETS["basico"] for lv in kept.get(m, modules[m].levels)}
    held = _level_values(world, DEMO)
    assert set(held) == expected and len(held) == len(expected), held


def test_plan_limits_edit_reaches_the_accounts_configuration(world: World,
                                                             outputs: list[str]) -> None:
    """The reseller raises the demo's plan limits in its catalog and in the app's `plans`
    row (the row the app enforces; the tool never writes it): the apply copies the row into
    the tenant's configuration as update() does, and the published config says the same."""
    before = _configuration(world, DEMO)
    assert before["limit_documents"] == 300

    def raise_limits(data: dict[str, Any]) -> None:
        data["plans"].append({"name": "emprendedor", "label": "Emprendedor", "pricing": 29,
                              "limit_users": 3, "limit_documents": 450,
                              "documents": ["facturas"], "establishments_limit": 2})

    _edit_reseller(world, raise_limits)
    world.server.execute("UPDATE plans SET limit_documents = 450, limit_users = 3 "
                         "WHERE name = 'Emprendedor'", database="facturador")
    commit(world.repo, "catalog: emprendedor allows 450 documents, 3 users, 2 locals")
    result = _previewed_then_applied_in_place(world, outputs, DEMO)
    assert ("replace", "secret-config-bootstrap-json-version") in _steps(result), result

    after = _configuration(world, DEMO)
    assert after["limit_documents"] == 450
    plan = json.loads(_text(after["plan"]))
    assert (plan["name"], plan["limit_documents"], plan["limit_users"]) == ("Emprendedor",
                                                                            450, 3)
    # limit_users is written only when the account is created (docs/app.md)
    assert after["limit_users"] == before["limit_users"] == 2
    sm = client("secretsmanager", world.moto)
    bootstrap = json.loads(sm.get_secret_value(
        SecretId=f"tenancy/tenants/{DEMO}/config/bootstrap.json")["SecretString"])
    assert bootstrap["configuration"]["limit_documents"] == 450, bootstrap


def test_soap_edit_from_sunat_to_an_ose_updates_the_company_in_place(
        world: World, outputs: list[str]) -> None:
    ose = "https://ose.example.pe/ol-ti-itcpe/billService"
    _edit_tenant(world, DEMO, lambda d: d["soap"].update(send="ose", ose_url=ose))
    commit(world.repo, "day 2: documents go through an OSE")
    before = _company(world, DEMO)
    assert (before["soap_send_id"], before["soap_url"]) == ("01", None)
    _previewed_then_applied_in_place(world, outputs, DEMO)
    after = _company(world, DEMO)
    assert (after["soap_type_id"], after["soap_send_id"], after["soap_url"]) == ("01", "02",
                                                                                  ose)
    # hidden in the edit dialog (an OSE in demo without its own user): kept as they were
    assert (after["soap_username"], after["soap_password"]) == (before["soap_username"],
                                                                before["soap_password"])


def test_sol_password_change_updates_the_company_and_the_secret(world: World,
                                                                 outputs: list[str]) -> None:
    """A new SOL password is a stack secret change (no spec edit): previewed and applied over
    every tenant; the SOL secret gets a new version (secret_string is ForceNew upstream) and
    the app's company row the new password, nothing else is replaced."""
    new = "SolNueva-7d2e-Pa55"
    world.pulumi("config", "set", "--secret", "solPassword", "--stack", PRODUCTION, input=new)
    world.secret_values[PRODUCTION]["solPassword"] = new
    assert _text(_company(world, PRODUCTION)["soap_password"]) != new
    _previewed_then_applied_in_place(world, outputs, PRODUCTION, base="all",
                                     allowed={*DAY_2_REPLACEMENTS, "secret-sol-version"})
    assert _text(_company(world, PRODUCTION)["soap_password"]) == new
    sol = json.loads(client("secretsmanager", world.moto).get_secret_value(
        SecretId=f"tenancy/tenants/{PRODUCTION}/sol")["SecretString"])
    assert sol["password"] == new


def test_lock_users_and_limit_emission_update_both_lock_columns(world: World,
                                                                outputs: list[str]) -> None:
    _edit_tenant(world, DEMO, lambda d: d.update(lock_users=True, limit_emission=True))
    commit(world.repo, "day 2: the client may not create users nor emit")
    _previewed_then_applied_in_place(world, outputs, DEMO)
    client_row, config = _client(world, DEMO_RUC), _configuration(world, DEMO)
    assert (client_row["locked_users"], config["locked_users"]) == (1, 1)
    assert (client_row["locked_emission"], config["locked_emission"]) == (1, 1)
    assert (client_row["locked_tenant"], config["locked_tenant"]) == (0, 0)


# -- database moves: refused before the engine writes anything -----------------------------

def _snapshot(world: World, stacks: tuple[str, ...]) -> dict[str, Any]:
    """Everything an engine run on `stacks` could write: their files in the backend (state,
    history, backups) and their settings, moto's records and secrets (with their versions),
    MariaDB's databases, users and app rows."""
    def mine(path: Path) -> bool:
        return any(s in path.name or s in path.parts for s in stacks)

    files = {str(p.relative_to(world.base)): hashlib.sha256(p.read_bytes()).hexdigest()
             for top in (world.state_dir, world.repo) for p in sorted(top.rglob("*"))
             if p.is_file() and ".git" not in p.parts and mine(p)}
    r53 = client("route53", world.moto)
    records = r53.list_resource_record_sets(HostedZoneId=world.platform["hostedZoneId"])
    sm = client("secretsmanager", world.moto)
    secrets = {s["Name"]: sorted(v["VersionId"] for v in sm.list_secret_version_ids(
        SecretId=s["ARN"], IncludeDeprecated=True)["Versions"])
        for s in sm.list_secrets(MaxResults=100)["SecretList"]}
    server = world.server
    app = {table: server.execute(f"SELECT * FROM {table} ORDER BY id", database="facturador")
           for table in ("websites", "hostnames", "clients")}
    tenants = {stack: _configuration(world, stack) for stack in (DEMO, PRODUCTION)}
    return {"files": files, "records": records["ResourceRecordSets"], "secrets": secrets,
            "databases": server.execute("SHOW DATABASES"),
            "users": server.execute("SELECT user, host FROM mysql.user ORDER BY user, host"),
            "app": app, "tenants": tenants}


def _refused_with_nothing_changed(world: World, outputs: list[str],
                                  expect: dict[str, str]) -> None:
    """`plan` and `apply`, with the pull request's BASE and with --all, each refuse the move
    of every stack of `expect` in one line naming its new database and exit 1, and nothing of
    those stacks in the backend, moto or MariaDB differs afterwards."""
    stacks = tuple(expect)
    before = _snapshot(world, stacks)
    for command, selection in (("plan", "--base"), ("apply", "--base"), ("plan", "--all"),
                               ("apply", "--all")):
        args = [command, selection, *(["HEAD~1"] if selection == "--base" else [])]
        code, report = run_json(world, outputs, *args)
        assert code == 1, (args, report)
        blocked = 0
        for stack, new in expect.items():
            result = by_stack(report)[stack]
            assert result["changes"] == ZERO and not result["steps"], (args, result)
            line = result["error"]
            if result["status"] == "skipped":  # a later wave, after the blocked one
                assert command == "apply" and line.startswith("not run: wave"), (args, result)
                continue
            assert result["status"] == "blocked", (args, result)
            assert "\n" not in line and new in line, (args, line)
            blocked += 1
        assert blocked, (args, report)
        after = _snapshot(world, stacks)
        assert after == before, (args, {k for k in before if before[k] != after[k]})


def test_a_pool_to_silo_plan_change_is_refused_before_any_write(world: World,
                                                               outputs: list[str]) -> None:
    _edit_tenant(world, DEMO, lambda d: d.update(plan="corporativo"))
    commit(world.repo, "the demo moves to the silo plan")
    try:
        _refused_with_nothing_changed(world, outputs, {DEMO: f"silo:tenancy_{DEMO}"})
    finally:
        git(world.repo, "revert", "--no-edit", "HEAD")
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0 and report["totals"] == ZERO, report


def test_a_database_prefix_change_is_refused_before_any_write(world: World,
                                                              outputs: list[str]) -> None:
    _edit_reseller(world, lambda d: d.update(database_prefix="acme"))
    commit(world.repo, "a new database prefix")
    try:
        _refused_with_nothing_changed(world, outputs, {DEMO: f"pool:acme_{DEMO}",
                                                       PRODUCTION: f"pool:acme_{PRODUCTION}"})
    finally:
        git(world.repo, "revert", "--no-edit", "HEAD")
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0 and report["totals"] == ZERO, report


# -- drift ---------------------------------------------------------------------------------

def _record(world: World, kind: str) -> dict[str, Any]:
    fqdn = f"{DEMO}.{BASE_DOMAIN}."
    sets = client("route53", world.moto).list_resource_record_sets(
        HostedZoneId=world.platform["hostedZoneId"])["ResourceRecordSets"]
    (found,) = [r for r in sets if r["Name"] == fqdn and r["Type"] == kind]
    return found


def _upsert(world: World, record: dict[str, Any]) -> None:
    client("route53", world.moto).change_resource_record_sets(
        HostedZoneId=world.platform["hostedZoneId"],
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]})


def test_drift_names_a_record_changed_out_of_band(world: World, outputs: list[str]) -> None:
    code, report = run_json(world, outputs, "drift")
    assert code == 0 and report["drifted"] == [], report
    original = _record(world, "AAAA")
    changed = {**original, "AliasTarget": {**original["AliasTarget"],
                                           "DNSName": "other-alb-987.us-east-1.elb.amazonaws.com."}}
    _upsert(world, changed)
    try:
        code, report = run_json(world, outputs, "drift")
        assert code == 3, report
        assert report["drifted"] == [DEMO], report
        (drifted,) = [r for r in report["results"] if r["stack"] == DEMO]
        custom = [(s["op"], s["type"], s["name"]) for s in drifted["steps"]
                  if not s["type"].startswith("facturador:")]
        assert custom == [("update", "aws:route53/record:Record", "dns-aaaa")], drifted
    finally:
        _upsert(world, original)


def test_drift_with_the_app_database_refusing_sign_in_fails_instead_of_no_drift(
        world: World, outputs: list[str]) -> None:
    """The admin's password changed on the server (as a rotation half done): every refresh
    fails to sign in, so drift cannot say "no drift": exit 1 and one line per tenant naming
    what could not be read, no password in it."""
    server = world.server
    old, wrong = server.password, "rotated-elsewhere-51c0"
    # one connection, kept open, changes and restores every account of the admin user
    admin = server.connect()
    with admin.cursor() as cur:
        cur.execute("SELECT host FROM mysql.user WHERE user = %s", (server.user,))
        hosts = [h for (h,) in cur.fetchall()]

    def set_password(password: str) -> None:
        with admin.cursor() as cur:
            for host in hosts:
                cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (server.user, host, password))

    set_password(wrong)
    try:
        code, report = run_json(world, outputs, "drift")
        assert code == 1, report
        assert report["drifted"] == [], report
        for result in report["results"]:
            assert result["status"] == "failed", result
            error = result["error"]
            assert error and "\n" not in error, result
            assert "denied" in error.lower() or "refresh of" in error, error
            assert old not in error and wrong not in error, error
        proc = world.provisioner("drift")
        outputs.extend([proc.stdout, proc.stderr])
        assert proc.returncode == 1, proc.stdout
        assert "no drift" not in proc.stdout, proc.stdout
    finally:
        set_password(old)
        admin.close()
    code, report = run_json(world, outputs, "drift")
    assert code == 0 and report["drifted"] == [], report


def test_no_state_file_log_or_output_holds_a_secret(world: World, outputs: list[str]) -> None:
    assert not (leaks := secret_leaks(world, outputs)), leaks
