"""Taking over accounts the app made, on the real Pulumi engine (.engine/bin/pulumi).

The accounts are made the way the app's "Guardar" (ClientController::store) makes them
(tests/app_env.py: the onboarding steps against the app's schema, then our journal dropped: the
form keeps none): the websites/hostnames/clients rows, the tenant database with hyn's user and
password, its companies/configurations/users rows. The AWS side an installation has is in moto:
one account's own Route53 records, the others behind the app's wildcard record. Then the
operator's steps of docs/adopt.md: `adopt --all`, the report read, `adopt --set-secrets`, the
stacks made with the named secrets provider and the app's platform secrets set, the commit; the
pull request's `plan`, the merge's `apply`: imports and the documented creates only, no create,
replace or delete of what the app has, no password reset, no row the report did not name; a
second apply changes nothing. The tests run in order on one world.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner.app.journal import JOURNAL
from provisioner.app.tenant_database import hyn_password
from provisioner.orchestrate.local import client
from tests.app_env import APP_KEY, SMTP_PASSWORD, AppEnv
from tests.engine_world import SYSTEM_DB, World, engine_world

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1500)]

BASE_DOMAIN = "facturador.example.pe"
OWN_RECORD = "pruebademo"  # has its own A/AAAA records: adopted.dns_record, imported
EDITED = "nandu"  # SMTP (its password goes to the stack), and edited by hand in the app
SHARED = (OWN_RECORD, EDITED)
PREFIX = "tenancy"
APP_SERVER_IP, APP_SERVER_IP6 = "192.0.2.10", "2001:db8::10"
TENANT_TABLES = ("companies", "configurations", "establishments", "warehouses", "series",
                 "users", "module_user", "module_level_user")
# what the engine reports for an `import_` resource (pulumi/pulumi sdk/go/common/apitype
# OpType: "import"); the provisioner's steps keep it apart from "create"
IMPORTED = "import"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def _commit(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.pe", "commit", "-qm", message)


def uuid(sub: str) -> str:
    return f"{PREFIX}_{sub}"


def fqdn(sub: str) -> str:
    return f"{sub}.{BASE_DOMAIN}"


def _records(world: World, name: str) -> dict[str, dict[str, Any]]:
    """The record sets of `name` by type (Route53 spells a leading `*` as `\\052`)."""
    zone = world.platform["hostedZoneId"]
    sets = client("route53", world.moto).list_resource_record_sets(HostedZoneId=zone)
    return {r["Type"]: r for r in sets["ResourceRecordSets"]
            if r["Name"].replace("\\052", "*") == name + "."}


def _change_records(world: World, name: str, kinds: dict[str, str]) -> None:
    zone = world.platform["hostedZoneId"]
    client("route53", world.moto).change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": name, "Type": kind, "TTL": 300, "ResourceRecords": [{"Value": value}]}}
            for kind, value in kinds.items()]})


@pytest.fixture(scope="module")
def world(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The app with its accounts, made by its form; the reseller's repository without tenants."""
    with engine_world(tmp_path_factory.mktemp("adopt"), list(SHARED)) as w:
        w.app_key = APP_KEY  # the app's APP_KEY: hyn's passwords were made with it
        app = AppEnv(w.server, SYSTEM_DB, w.repo)
        for sub in SHARED:
            app.onboarding(sub).run()
        app.query(f"DROP TABLE {JOURNAL}")
        # hand edits in the app: a trade name, and a level of a module the admin lacks
        w.server.execute("UPDATE companies SET trade_name = 'Nandu Grill' WHERE id = 1",
                         database=uuid(EDITED))
        w.server.execute("INSERT INTO module_level_user (module_level_id, user_id) SELECT id, "
                         "1 FROM module_levels WHERE module_id = 11 ORDER BY id LIMIT 1",
                         database=uuid(EDITED))
        # the installation's DNS: the app's wildcard, and one account's own records
        _change_records(w, f"*.{BASE_DOMAIN}", {"A": APP_SERVER_IP})
        _change_records(w, fqdn(OWN_RECORD), {"A": APP_SERVER_IP, "AAAA": APP_SERVER_IP6})
        for path in (w.repo / "tenants").glob("*.yaml"):
            path.unlink()
        _git(w.repo, "init", "-q", "-b", "main")
        _commit(w.repo, "the reseller's repository, before adopting")
        w.env["PROVISIONER_APP_DB_PASSWORD"] = w.server.password
        yield w


@pytest.fixture(scope="module")
def outputs() -> list[str]:
    """Everything the commands printed, searched for secrets at the end."""
    return []


@pytest.fixture(scope="module")
def before(world: World) -> dict[str, Any]:
    """The app's rows, users, grants and DNS as the form left them, before adopt."""
    return snapshot(world)


def snapshot(world: World) -> dict[str, Any]:
    server = world.server
    out: dict[str, Any] = {
        t: server.execute(f"SELECT * FROM `{t}` ORDER BY id", database=SYSTEM_DB)
        for t in ("websites", "hostnames", "clients", "plans")}
    for sub in SHARED:
        for table in TENANT_TABLES:
            out[(sub, table)] = server.execute(f"SELECT * FROM `{table}` ORDER BY id",
                                               database=uuid(sub))
        users = server.execute("SELECT User, Host, Password, authentication_string, plugin "
                               "FROM mysql.user WHERE User = %s ORDER BY Host", (uuid(sub),))
        out[(sub, "mysql.user")] = users
        out[(sub, "grants")] = [server.execute(f"SHOW GRANTS FOR `{u}`@'{h}'")
                                for u, h, *_ in users]
        out[(sub, "schema")] = server.execute(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM "
            "information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (uuid(sub),))
        out[(sub, "dns")] = _records(world, fqdn(sub))
    out["wildcard"] = _records(world, f"*.{BASE_DOMAIN}")
    return out


def journal(world: World) -> list[tuple[Any, ...]]:
    return world.server.execute(f"SELECT uuid, website_id, stack, steps, created_at, updated_at,"
                                f" certificate_sha256 FROM {JOURNAL} ORDER BY uuid",
                                database=SYSTEM_DB)


def run_json(world: World, outputs: list[str], *args: str) -> tuple[int, dict[str, Any]]:
    proc = world.provisioner(*args, "--format", "json")
    outputs.extend([proc.stdout, proc.stderr])
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"provisioner {' '.join(args)} printed no JSON report "
                             f"(exit {proc.returncode}):\n{proc.stdout[-2000:]}\n"
                             f"{proc.stderr[-4000:]}") from None
    return proc.returncode, report


def run_text(world: World, outputs: list[str], *args: str) -> tuple[int, str]:
    proc = world.provisioner(*args)
    outputs.extend([proc.stdout, proc.stderr])
    return proc.returncode, proc.stdout + proc.stderr


def by_stack(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["stack"]: r for r in report["results"]}


def hyn_login_works(world: World, sub: str) -> bool:
    """The tenant database user signs in with the password the app set (hyn's)."""
    (website_id,) = world.server.execute("SELECT id FROM websites WHERE uuid = %s",
                                         (uuid(sub),), database=SYSTEM_DB)[0]
    import pymysql

    try:
        world.server.connect(uuid(sub), user=uuid(sub),
                             password=hyn_password(APP_KEY, website_id)).close()
    except pymysql.MySQLError:
        return False
    return True


# --- 1. adopt ---------------------------------------------------------------------------------

def test_adopt_writes_each_account_and_names_the_differences(
        world: World, before: dict[str, Any], outputs: list[str]) -> None:
    code, report = run_json(world, outputs, "adopt", "--all")
    assert code == 1, report  # the hand-edited account would change: exit 1
    adopted = {a["tenant"]: a for a in report["adopted"]}
    assert sorted(adopted) == sorted(SHARED)
    assert all(a["error"] is None for a in adopted.values()), adopted
    assert set(before["wildcard"]) == {"A"}, before["wildcard"]
    assert set(before[(OWN_RECORD, "dns")]) == {"A", "AAAA"} and not before[(EDITED, "dns")]
    assert adopted[OWN_RECORD]["differences"] == []
    fields = {d["field"]: d for d in adopted[EDITED]["differences"]}
    assert fields["companies.trade_name"]["app"] == "Nandu Grill"
    stray = [f for f in fields if f.startswith("module_levels[")]
    assert len(stray) == 1 and "not have" in fields[stray[0]]["why"], fields
    # and what the sync makes of it: user 1's levels without the stray one
    assert set(fields) == {"companies.trade_name", "module_level_user", *stray}, fields
    assert set(fields["module_level_user"]["app"]) - set(fields["module_level_user"]["spec"]) \
        == {int(stray[0][len("module_levels["):-1])}
    # the SMTP password the app holds: to set in the stack, never in the output
    assert adopted[EDITED]["secrets_to_set"] == ["smtpPassword"]
    assert SMTP_PASSWORD not in json.dumps(report)

    from provisioner.model.repository import load_repository

    repo = load_repository(world.repo)
    repo.raise_for_errors()
    for sub in SHARED:
        spec = repo.tenant(sub).spec
        website_id = adopted[sub]["website_id"]
        assert spec.adopted is not None and spec.adopted.website_id == website_id
        # hyn keeps a local database host as the user's host: adopt records it
        assert spec.adopted.database_user_host == world.server.host
        text = (world.repo / "tenants" / f"{sub}.yaml").read_text(encoding="utf-8")
        assert text.startswith("# yaml-language-server") and SMTP_PASSWORD not in text
    assert repo.tenant(EDITED).spec.smtp is not None

    # adopt read the app and wrote only our journal rows: every step done
    assert snapshot(world) == before
    rows = journal(world)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (uuid(s), adopted[s]["website_id"], s, "website,database,migrate,seed,client,tenant")
        for s in sorted(SHARED)]


def test_the_operator_sets_the_secrets_and_commits(world: World, outputs: list[str]) -> None:
    """docs/adopt.md step 5 (the account with its own records), step 6 (--set-secrets; the
    stacks made with the named secrets provider; the app's platform secrets), step 7 (commit)."""
    path = world.repo / "tenants" / f"{OWN_RECORD}.yaml"
    text = path.read_text(encoding="utf-8")
    assert "dns_record" not in text  # adopt does not look at Route53: the operator sets it
    path.write_text(text.replace("adopted:\n", "adopted:\n  dns_record: true\n", 1),
                    encoding="utf-8")

    code, out = run_text(world, outputs, "adopt", "--all", "--force", "--set-secrets")
    assert code == 1, out  # still the hand edits: reported again
    assert f"secret smtpPassword: set in stack {EDITED}" in out
    assert SMTP_PASSWORD not in out
    # --force rewrote the files and kept what the operator set (adopt cannot read it)
    from provisioner.model.repository import load_repository

    specs = {t.spec.subdomain: t.spec for t in load_repository(world.repo).tenants}
    assert specs[OWN_RECORD].adopted.dns_record is True
    assert specs[EDITED].adopted.dns_record is False

    for sub in SHARED:
        listed = world.pulumi("stack", "ls", "--json").stdout
        if sub not in {s["name"] for s in json.loads(listed)}:
            world.pulumi("stack", "init", sub, "--secrets-provider", world.secrets_provider)
        world.pulumi("config", "set-all", "--stack", sub,
                     *(f"--plaintext={k}={v}" for k, v in world.platform.items()))
        values = {"appKey": APP_KEY, "appDatabasePassword": world.server.password}
        for key, value in values.items():  # from stdin: never on a command line
            world.pulumi("config", "set", "--secret", key, "--stack", sub, input=value)
        world.secret_values[sub] = values
    settings = (world.repo / f"Pulumi.{EDITED}.yaml").read_text(encoding="utf-8")
    assert "smtpPassword" in settings and "secure:" in settings
    assert SMTP_PASSWORD not in settings
    world.secret_values["app"] = {"smtp": SMTP_PASSWORD}
    _commit(world.repo, "adopt the app's accounts")


# --- 2. the pull request's plan, the merge's apply ---------------------------------------------

# Creates the first apply may show for an adopted account (docs/adopt.md: only the database and
# the records of `dns_record: true` exist and are imported): the stack's own bookkeeping
# (component, generated values, the onboarding steps, which find the account existing), its
# published secrets (the installation has none), and the alias records of an account without
# records of its own.
DOCUMENTED_CREATES = {
    "facturador:tenants:Tenant", "random:index/randomPassword:RandomPassword",
    "pulumi-python:dynamic/app:Step", "aws:secretsmanager/secret:Secret",
    "aws:secretsmanager/secretVersion:SecretVersion"}


def _check_first_steps(result: dict[str, Any], sub: str) -> None:
    steps = [(s["op"], s["type"], s["name"]) for s in result["steps"]]
    ops = {op for op, _, _ in steps}
    assert ops <= {"create", IMPORTED}, steps  # no update, replace or delete
    imported = {(t, n) for op, t, n in steps if op == IMPORTED}
    expected = {("mysql:index/database:Database", "database")}
    if sub == OWN_RECORD:
        expected |= {("aws:route53/record:Record", "dns-a"),
                     ("aws:route53/record:Record", "dns-aaaa")}
    assert imported == expected, steps
    created = {t for op, t, n in steps if op == "create"}
    allowed = DOCUMENTED_CREATES | ({"aws:route53/record:Record"} if sub != OWN_RECORD
                                    else set())
    assert created <= allowed, sorted(created - allowed)
    assert not [s for s in steps if s[1].startswith(("mysql:index/user", "mysql:index/grant"))]
    assert result["changes"]["replace"] == result["changes"]["delete"] == 0, result


def test_the_pull_request_plan_shows_imports_only(world: World, outputs: list[str]) -> None:
    code, report = run_json(world, outputs, "plan", "--base", "HEAD~1")
    assert code == 0, report
    results = by_stack(report)
    assert sorted(results) == sorted(SHARED)
    for sub in SHARED:
        assert results[sub]["operation"] == "preview", results[sub]
        _check_first_steps(results[sub], sub)


def test_the_first_apply_imports_and_changes_nothing_of_the_app(
        world: World, before: dict[str, Any], outputs: list[str]) -> None:
    journal_before = journal(world)
    code, report = run_json(world, outputs, "apply", "--base", "HEAD~1")
    assert code == 0, report
    results = by_stack(report)
    for sub in SHARED:
        assert results[sub]["status"] == "ok", results[sub]
        _check_first_steps(results[sub], sub)

    after = snapshot(world)
    # the hand-edited account: the one change the report named that the sync makes (user 1's
    # levels, as the edit form writes them: the stray level gone); the trade name is kept
    assert after[(EDITED, "companies")] == before[(EDITED, "companies")]
    # store() wrote the system's level ids; update() writes the tenant's ids of the same
    # values (its migrations shifted ids from 76 on: tests/app_schema.py TENANT_LEVELS)
    levels_before = level_values(world, before, SYSTEM_DB)
    levels_after = level_values(world, after, uuid(EDITED))
    assert levels_before - levels_after == {"account_users_settings"}, levels_before
    assert levels_after < levels_before
    assert {r[1:] for r in after[(EDITED, "module_user")]} == \
        {r[1:] for r in before[(EDITED, "module_user")]}
    changed = {k for k in before if before[k] != after[k]}
    # module_user rows come back with new ids (update() deletes and inserts them)
    assert changed <= {(EDITED, "module_level_user"), (EDITED, "module_user"),
                       (EDITED, "dns")}, changed
    # DNS: the own records imported as they point; the other account got the stack's alias
    # records; the app's wildcard untouched
    assert after[(OWN_RECORD, "dns")] == before[(OWN_RECORD, "dns")]
    assert after["wildcard"] == before["wildcard"]
    mine = after[(EDITED, "dns")]
    assert set(mine) == {"A", "AAAA"}, mine
    assert mine["A"]["AliasTarget"]["DNSName"].startswith("facturador-alb-")
    # the tenant users: not re-created, password not reset, hyn's password still signs in
    for sub in SHARED:
        assert hyn_login_works(world, sub), sub
    # our journal: as adopt wrote it
    assert journal(world) == journal_before

    # the stack holds the imported database under the app's name, protected and retained
    for sub in SHARED:
        exported = json.loads(world.pulumi("stack", "export", "--stack", sub).stdout)
        (db,) = [r for r in exported["deployment"]["resources"]
                 if r["type"] == "mysql:index/database:Database"]
        assert db["id"] == uuid(sub) and db.get("protect") and db.get("retainOnDelete"), db
        assert not [r for r in exported["deployment"]["resources"]
                    if r["type"].startswith(("mysql:index/user", "mysql:index/grant"))]


def level_values(world: World, rows: dict[str, Any], levels_of: str) -> set[str]:
    """User 1's levels of the edited account by value, its ids read in `levels_of`'s
    module_levels (the system's for store()'s ids, the tenant's for update()'s)."""
    ids = sorted(r[1] for r in rows[(EDITED, "module_level_user")] if r[2] == 1)
    marks = ", ".join(["%s"] * len(ids))
    return {v for (v,) in world.server.execute(
        f"SELECT value FROM module_levels WHERE id IN ({marks})", ids, database=levels_of)}


def test_a_second_apply_changes_nothing(world: World, outputs: list[str]) -> None:
    state = snapshot(world)
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0, report
    assert report["totals"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}, report
    assert all(not r["steps"] for r in report["results"]), report
    assert snapshot(world) == state


def test_no_state_file_or_output_holds_a_secret(world: World, outputs: list[str]) -> None:
    printed = "\n".join(outputs)
    assert printed, "no command output was captured"
    leaks = {}
    for value in sorted(world.every_secret() | {SMTP_PASSWORD}):
        files = world.files_holding(value, world.state_dir, world.repo,
                                    world.base / "pulumi-home")
        if files or value in printed:
            leaks[value[:6] + "…"] = ([str(f.relative_to(world.base)) for f in files],
                                      value in printed)
    assert not leaks, leaks
