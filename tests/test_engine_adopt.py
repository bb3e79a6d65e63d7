"""Taking over accounts the app made, on the real Pulumi engine (.engine/bin/pulumi).

The accounts are made the way the app's "Guardar" (ClientController::store) makes them
(tests/app_env.py: the onboarding steps against the app's schema, then our journal dropped: the
form keeps none): the websites/hostnames/clients rows, the tenant database with hyn's user and
password, its companies/configurations/users rows. The AWS side an installation has is in moto:
one account's own Route53 records, the others behind the app's wildcard record; the silo
account's RDS instance (the stand-in backed by the MariaDB, tests/engine_plugins/aws_rds_mysql.py)
with other settings than the stack's and its own master password. Then the
operator's steps of docs/adopt.md: `adopt --all`, the report read, `adopt --set-secrets`, the
stacks made with the named secrets provider and the app's platform secrets set, the commit; the
pull request's `plan`, the merge's `apply`: imports and the documented creates only, no create,
replace or delete of what the app has, no password reset (hyn's or the instance's master
password), no instance setting applied, no row the report did not name; a second apply changes
nothing, and adopting again finds the same files. The tests run in order on one world.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from provisioner.app.connection import Server
from provisioner.app.journal import JOURNAL
from provisioner.app.tenant_database import hyn_password
from provisioner.infra.database import silo_identifier
from provisioner.naming import database_name, database_user
from provisioner.orchestrate.local import client
from tests.app_env import APP_KEY, SMTP_PASSWORD, SOL_PASSWORD, AppEnv
from tests.engine_runs import by_stack, commit, git, run_json, secret_leaks, shown, signs_in
from tests.engine_world import SYSTEM_DB, World, engine_world

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1500)]

BASE_DOMAIN = "facturador.example.pe"
OWN_RECORD = "pruebademo"  # has its own A/AAAA records: adopted.dns_record, imported
EDITED = "nandu"  # SMTP (its password goes to the stack), and edited by hand in the app
SHARED = (OWN_RECORD, EDITED)
SILO = "hotelsol"  # the corporativo plan: its own RDS instance, which the app's account uses
ACCOUNTS = (*SHARED, SILO)
PREFIX = "tenancy"
SILO_ID = silo_identifier(PREFIX, SILO)
MASTER_USER = database_user(PREFIX, SILO, silo=True)
MASTER_PASSWORD = "Instance-master-7Qe2v9"  # the instance's, set when it was made
# the instance as the installation made it: other settings than the stack's (8.4, the
# reseller's silo_instance_class, 20 GB, 7 days of backups for production)
INSTANCE = {"EngineVersion": "8.0.39", "DBInstanceClass": "db.t3.medium",
            "AllocatedStorage": 50, "BackupRetentionPeriod": 1}
INSTANCE_FIELDS = ("Engine", "EngineVersion", "DBInstanceClass", "AllocatedStorage",
                   "MaxAllocatedStorage", "StorageType", "StorageEncrypted", "KmsKeyId",
                   "DBName", "MasterUsername", "BackupRetentionPeriod", "PubliclyAccessible",
                   "DeletionProtection", "AutoMinorVersionUpgrade", "DBSubnetGroup",
                   "VpcSecurityGroups")
APP_SERVER_IP, APP_SERVER_IP6 = "192.0.2.10", "2001:db8::10"
TENANT_TABLES = ("companies", "configurations", "establishments", "warehouses", "series",
                 "users", "module_user", "module_level_user")
# what the engine reports for an `import_` resource (pulumi/pulumi sdk/go/common/apitype
# OpType: "import"); the provisioner's steps keep it apart from "create"
IMPORTED = "import"


def uuid(sub: str) -> str:
    return database_name(PREFIX, sub)


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
    with engine_world(tmp_path_factory.mktemp("adopt"), list(ACCOUNTS)) as w:
        w.app_key = APP_KEY  # the app's APP_KEY: hyn's passwords were made with it
        app = AppEnv(w.server, SYSTEM_DB, w.repo)
        for sub in SHARED:
            app.onboarding(sub).run()
        # the silo account, on the instance made for it (the stand-in's RDS is the MariaDB,
        # its master user an account there: tests/engine_plugins/aws_rds_mysql.py); without a
        # certificate of its own, which the first apply would place again from the stack
        spec = w.repo / "tenants" / f"{SILO}.yaml"
        spec.write_text(spec.read_text(encoding="utf-8").replace("certificate: true\n", ""),
                        encoding="utf-8")
        _make_instance(w)
        app.onboarding(SILO, tenant_server=Server(w.server.host, w.server.port, MASTER_USER,
                                                  MASTER_PASSWORD, "")).run()
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
        ORIGINALS.update(w.tenant_specs())  # what the form was given; the files go
        for path in (w.repo / "tenants").glob("*.yaml"):
            path.unlink()
        git(w.repo, "init", "-q", "-b", "main")
        commit(w.repo, "the reseller's repository, before adopting")
        w.env["PROVISIONER_APP_DB_PASSWORD"] = w.server.password
        yield w


def _make_instance(world: World) -> None:
    """The silo account's RDS instance, as the installation made it, with the stand-in's
    MariaDB account behind it (what the stand-in's Create makes)."""
    from tests.engine_plugins.aws_rds_mysql import Backing

    server = world.server
    backing = Backing(server.host, server.port, server.user, server.password)
    backing.check_master(SILO_ID, MASTER_USER, MASTER_PASSWORD)
    client("rds", world.moto).create_db_instance(
        DBInstanceIdentifier=SILO_ID, Engine="mysql", MasterUsername=MASTER_USER,
        MasterUserPassword=MASTER_PASSWORD, DBName=uuid(SILO), StorageEncrypted=True,
        KmsKeyId=world.platform["kmsKeyId"], StorageType="gp3", **INSTANCE)
    backing.create_master(SILO_ID, MASTER_USER, MASTER_PASSWORD)


def instance(world: World) -> dict[str, Any]:
    (d,) = client("rds", world.moto).describe_db_instances(
        DBInstanceIdentifier=SILO_ID)["DBInstances"]
    return {k: d.get(k) for k in INSTANCE_FIELDS}


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
    for sub in ACCOUNTS:
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
    out[(SILO, "instance")] = instance(world)
    out[(SILO, "master")] = server.execute(
        "SELECT User, Host, Password, authentication_string, plugin FROM mysql.user WHERE "
        "User = %s", (MASTER_USER,))
    return out


def journal(world: World) -> list[tuple[Any, ...]]:
    return world.server.execute(f"SELECT uuid, website_id, stack, steps, created_at, updated_at,"
                                f" certificate_sha256 FROM {JOURNAL} ORDER BY uuid",
                                database=SYSTEM_DB)


def run_text(world: World, outputs: list[str], *args: str) -> tuple[int, str]:
    proc = world.provisioner(*args)
    outputs.extend([proc.stdout, proc.stderr])
    return proc.returncode, proc.stdout + proc.stderr


def hyn_login_works(world: World, sub: str) -> bool:
    """The tenant database user signs in with the password the app set (hyn's)."""
    (website_id,) = world.server.execute("SELECT id FROM websites WHERE uuid = %s",
                                         (uuid(sub),), database=SYSTEM_DB)[0]
    return signs_in(world, uuid(sub), hyn_password(APP_KEY, website_id), uuid(sub))


ORIGINALS: dict[str, Any] = {}  # the specs the accounts were made from
REPORTED_LEVELS: list[int] = []  # what adopt said the first apply writes to user 1's levels


# --- 1. adopt ---------------------------------------------------------------------------------

def test_adopt_writes_each_account_and_names_the_differences(
        world: World, before: dict[str, Any], outputs: list[str]) -> None:
    code, report = run_json(world, outputs, "adopt", "--all")
    assert code == 1, report  # the hand-edited account would change: exit 1
    adopted = {a["tenant"]: a for a in report["adopted"]}
    assert sorted(adopted) == sorted(ACCOUNTS)
    assert all(a["error"] is None for a in adopted.values()), adopted
    # the silo account: no difference; the instance's master password is the operator's to
    # give the stack (RDS never returns it), the SOL password goes with --set-secrets
    assert adopted[SILO]["differences"] == [], adopted[SILO]
    assert adopted[SILO]["secrets_to_set"] == ["databasePassword", "solPassword"]
    assert SOL_PASSWORD not in json.dumps(report)
    assert set(before["wildcard"]) == {"A"}, before["wildcard"]
    assert set(before[(OWN_RECORD, "dns")]) == {"A", "AAAA"} and not before[(EDITED, "dns")]
    assert adopted[OWN_RECORD]["differences"] == []
    fields = {d["field"]: d for d in adopted[EDITED]["differences"]}
    assert fields["companies.trade_name"]["app"] == "Nandu Grill"
    stray = [f for f in fields if f.startswith("module_levels[")]
    assert len(stray) == 1 and "not have" in fields[stray[0]]["why"], fields
    # and what the sync makes of it: user 1's levels as the edit form writes them (checked
    # against the rows the first apply leaves)
    assert set(fields) == {"companies.trade_name", "module_level_user", *stray}, fields
    REPORTED_LEVELS[:] = fields["module_level_user"]["spec"]
    # the SMTP password the app holds: to set in the stack, never in the output
    assert adopted[EDITED]["secrets_to_set"] == ["smtpPassword"]
    assert SMTP_PASSWORD not in json.dumps(report)

    from provisioner.model.repository import load_repository

    repo = load_repository(world.repo)
    repo.raise_for_errors()
    for sub in ACCOUNTS:
        spec = repo.tenant(sub).spec
        website_id = adopted[sub]["website_id"]
        assert spec.adopted is not None and spec.adopted.website_id == website_id
        # hyn keeps a local database host as the user's host: adopt records it
        assert spec.adopted.database_user_host == world.server.host
        text = (world.repo / "tenants" / f"{sub}.yaml").read_text(encoding="utf-8")
        assert text.startswith("# yaml-language-server") and SMTP_PASSWORD not in text
        assert SOL_PASSWORD not in text
        # what the form was given, read back from the app's rows
        was = ORIGINALS[sub]
        assert (spec.ruc, spec.company_name, spec.admin_email, spec.plan, spec.soap.send,
                spec.soap.environment, spec.soap.sol_user, spec.allow_production_switch,
                spec.limit_emission) == (
            was.ruc, was.company_name, was.admin_email, was.plan, was.soap.send,
            was.soap.environment, was.soap.sol_user, was.allow_production_switch,
            was.limit_emission), sub
    assert repo.tenant(EDITED).spec.smtp is not None
    assert (repo.tenant(EDITED).spec.smtp.host, repo.tenant(EDITED).spec.smtp.port) == (
        ORIGINALS[EDITED].smtp.host, ORIGINALS[EDITED].smtp.port)
    assert repo.tenant(SILO).spec.plan == "corporativo"

    # adopt read the app and wrote only our journal rows: every step done
    assert snapshot(world) == before
    rows = journal(world)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (uuid(s), adopted[s]["website_id"], s, "website,database,migrate,seed,client,tenant")
        for s in sorted(ACCOUNTS)]


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
    assert f"secret solPassword: set in stack {SILO}" in out
    assert f"secret databasePassword still to set: pulumi config set --secret --stack {SILO}" \
        in out
    assert SMTP_PASSWORD not in out and SOL_PASSWORD not in out
    # --force rewrote the files and kept what the operator set (adopt cannot read it)
    from provisioner.model.repository import load_repository

    specs = {t.spec.subdomain: t.spec for t in load_repository(world.repo).tenants}
    assert specs[OWN_RECORD].adopted.dns_record is True
    assert specs[EDITED].adopted.dns_record is False

    for sub in ACCOUNTS:
        listed = world.pulumi("stack", "ls", "--json").stdout
        if sub not in {s["name"] for s in json.loads(listed)}:
            world.pulumi("stack", "init", sub, "--secrets-provider", world.secrets_provider)
        world.pulumi("config", "set-all", "--stack", sub,
                     *(f"--plaintext={k}={v}" for k, v in world.platform.items()))
        values = {"appKey": APP_KEY, "appDatabasePassword": world.server.password}
        if sub == SILO:  # the instance's master password, as it is (docs/adopt.md step 6)
            values["databasePassword"] = MASTER_PASSWORD
        for key, value in values.items():  # from stdin: never on a command line
            world.pulumi("config", "set", "--secret", key, "--stack", sub, input=value)
        world.secret_values[sub] = values
    settings = (world.repo / f"Pulumi.{EDITED}.yaml").read_text(encoding="utf-8")
    assert "smtpPassword" in settings and "secure:" in settings
    assert SMTP_PASSWORD not in settings
    world.secret_values["app"] = {"smtp": SMTP_PASSWORD, "sol": SOL_PASSWORD}
    commit(world.repo, "adopt the app's accounts")


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
# what each account's first apply imports (docs/adopt.md's table)
IMPORTS = {
    OWN_RECORD: {("mysql:index/database:Database", "database"),
                 ("aws:route53/record:Record", "dns-a"), ("aws:route53/record:Record", "dns-aaaa")},
    EDITED: {("mysql:index/database:Database", "database")},
    SILO: {("aws:rds/instance:Instance", "database")}}


# An adopted instance's update in the same run as its import (the engine imports, then diffs
# against the program: pulumi/pulumi step_generator.go continueStepsFromImport): only what
# docs/adopt.md leaves to the stack, tags and what only Pulumi reads at a delete; every setting
# of the instance is in ignore_changes (provisioner/infra/database.py ADOPTED_INSTANCE_KEPT).
INSTANCE_STACK_OWNED = {"tags", "applyImmediately", "skipFinalSnapshot",
                        "finalSnapshotIdentifier", "deleteAutomatedBackups"}


def changed_keys(step: dict[str, Any]) -> set[str]:
    """The properties a step changes, from its detail (`key: old → new; ...`)."""
    return {part.split(":", 1)[0] for part in step["detail"].split("; ") if ":" in part}


def _check_first_steps(result: dict[str, Any], sub: str) -> None:
    steps = [(s["op"], s["type"], s["name"]) for s in result["steps"]]
    updates = [s for s in result["steps"] if s["op"] == "update"]
    if sub == SILO:
        (update,) = updates
        assert (update["type"], update["name"]) == ("aws:rds/instance:Instance", "database")
        assert changed_keys(update) <= INSTANCE_STACK_OWNED, update
        assert "password" not in changed_keys(update)
    else:
        assert updates == [], updates
    ops = {op for op, _, _ in steps}
    assert ops <= {"create", "update", IMPORTED}, steps  # no replace or delete
    imported = {(t, n) for op, t, n in steps if op == IMPORTED}
    assert imported == IMPORTS[sub], steps
    created = {t for op, t, n in steps if op == "create"}
    allowed = DOCUMENTED_CREATES | ({"aws:route53/record:Record"} if sub != OWN_RECORD
                                    else set())
    if sub == SILO:  # the final snapshot's name suffix, made once per stack
        allowed |= {"random:index/randomId:RandomId"}
    assert created <= allowed, sorted(created - allowed)
    assert not [s for s in steps if s[1].startswith(("mysql:index/user", "mysql:index/grant"))]
    assert result["changes"]["replace"] == result["changes"]["delete"] == 0, result


def test_the_pull_request_plan_shows_imports_only(world: World, outputs: list[str]) -> None:
    comment = world.base / "comment.md"
    code, report = run_json(world, outputs, "plan", "--base", "HEAD~1",
                            "--comment-file", str(comment))
    assert code == 0, shown(report)
    results = by_stack(report)
    assert sorted(results) == sorted(ACCOUNTS)
    for sub in ACCOUNTS:
        assert results[sub]["operation"] == "preview", results[sub]
        _check_first_steps(results[sub], sub)
    # the instance's settings that differ from the stack's: warned, kept (docs/adopt.md)
    kept = [w for w in report["warnings"] if f"adopted instance {SILO_ID}:" in w]
    assert all("kept as it is" in w for w in kept), kept
    # (moto gave the instance its default security group)
    assert {w.split(f"{SILO_ID}: ", 1)[1].split(" is ", 1)[0] for w in kept} == {
        "engine_version", "instance_class", "allocated_storage", "backup_retention_period",
        "vpc_security_group_ids"}, kept
    assert not [w for w in report["warnings"] if not w.startswith(f"{SILO}: ")], report
    # the pull request's comment: adopted, the imports as imports, the warnings
    text = comment.read_text(encoding="utf-8")
    assert text.count(" (adopted) |") == len(ACCOUNTS), text
    assert "- import `mysql:index/database:Database` `database`" in text
    assert "- import `aws:rds/instance:Instance` `database`" in text
    assert "create `mysql:index/database:Database`" not in text
    assert "instance_class is" in text


def test_the_plan_as_pr_yml_runs_it_reading_no_secret_value(world: World,
                                                           outputs: list[str]) -> None:
    """pr.yml's plan role reads no secret value (PROVISIONER_PREVIEW_SECRET_VALUES=none: the
    shared server's admin password stays unknown, so the mysql provider is not configured):
    the same imports; the pooled database's diff after its import is then unknown to the
    engine, shown as an update with no property named (docs/adopt.md), which the merge's apply
    (with the password) does not make."""
    world.env["PROVISIONER_PREVIEW_SECRET_VALUES"] = "none"
    try:
        code, report = run_json(world, outputs, "plan", "--base", "HEAD~1")
    finally:
        del world.env["PROVISIONER_PREVIEW_SECRET_VALUES"]
    assert code == 0, shown(report)
    results = by_stack(report)
    for sub in ACCOUNTS:
        steps = results[sub]["steps"]
        unknown = [s for s in steps if s["op"] == "update"
                   and s["type"] == "mysql:index/database:Database"]
        assert all(s["detail"] == "" for s in unknown), unknown
        _check_first_steps({**results[sub], "steps": [s for s in steps if s not in unknown]},
                           sub)


def test_the_first_apply_imports_and_changes_nothing_of_the_app(
        world: World, before: dict[str, Any], outputs: list[str]) -> None:
    journal_before = journal(world)
    code, report = run_json(world, outputs, "apply", "--base", "HEAD~1")
    assert code == 0, shown(report)
    results = by_stack(report)
    for sub in ACCOUNTS:
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
    # exactly the ids the report said the first apply would write
    assert sorted(r[1] for r in after[(EDITED, "module_level_user")] if r[2] == 1) == \
        REPORTED_LEVELS
    assert {r[1:] for r in after[(EDITED, "module_user")]} == \
        {r[1:] for r in before[(EDITED, "module_user")]}
    changed = {k for k in before if before[k] != after[k]}
    # module_user rows come back with new ids (update() deletes and inserts them)
    assert changed <= {(EDITED, "module_level_user"), (EDITED, "module_user"),
                       (EDITED, "dns"), (SILO, "dns")}, changed
    # DNS: the own records imported as they point; the other account got the stack's alias
    # records; the app's wildcard untouched
    assert after[(OWN_RECORD, "dns")] == before[(OWN_RECORD, "dns")]
    assert after["wildcard"] == before["wildcard"]
    for sub in (EDITED, SILO):
        mine = after[(sub, "dns")]
        assert set(mine) == {"A", "AAAA"}, mine
        assert mine["A"]["AliasTarget"]["DNSName"].startswith("facturador-alb-")
    # the tenant users: not re-created, password not reset, hyn's password still signs in
    for sub in ACCOUNTS:
        assert hyn_login_works(world, sub), sub
    # the silo instance: imported, its master password and settings as they were
    assert after[(SILO, "instance")] == before[(SILO, "instance")]
    assert after[(SILO, "master")] == before[(SILO, "master")]
    assert signs_in(world, MASTER_USER, MASTER_PASSWORD)
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
    assert code == 0, shown(report)
    assert report["totals"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}, report
    assert all(not r["steps"] for r in report["results"]), report
    assert snapshot(world) == state
    # and the nightly drift run (a refresh: every provider reads what it imported) is clean
    code, report = run_json(world, outputs, "drift")
    assert code == 0 and sorted(by_stack(report)) == sorted(ACCOUNTS), report
    assert snapshot(world) == state


def test_adopting_again_after_the_first_apply_finds_what_the_app_keeps(
        world: World, outputs: list[str]) -> None:
    """The first apply left user 1's levels in the edit form's ids: read back as the app means
    them, the specs are the same files, and only the trade name the stack keeps differs."""
    code, report = run_json(world, outputs, "adopt", "--all", "--force")
    adopted = {a["tenant"]: a for a in report["adopted"]}
    assert code == 1 and adopted[OWN_RECORD]["differences"] == [] == \
        adopted[SILO]["differences"], report
    assert [d["field"] for d in adopted[EDITED]["differences"]] == ["companies.trade_name"]
    assert git(world.repo, "status", "--porcelain", "tenants") == ""


def test_no_state_file_or_output_holds_a_secret(world: World, outputs: list[str]) -> None:
    assert not (leaks := secret_leaks(world, outputs, frozenset({SMTP_PASSWORD}))), leaks
