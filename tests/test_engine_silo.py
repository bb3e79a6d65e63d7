"""The silo tenant (examples/tenants/hotelsol.yaml: its own RDS instance) end to end on the real
Pulumi engine: the instance made (the aws stand-in's RDS is the run's MariaDB,
tests/engine_plugins/aws_rds_mysql.py), the tenant's database, hyn's user and grant made on it
through the master login, the app's rows, DNS and secrets; a second apply and a refresh that
change nothing; a day-2 change of the instance's settings and of a password applied in place;
the production destroy refused, then allowed, keeping what docs/data-safety.md says it keeps.
The tests run in order, each on the state the one before left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from provisioner.app.tenant_database import hyn_password
from provisioner.orchestrate.local import client
from tests.engine_runs import commit, init_repository, run_json, secret_leaks, shown, signs_in
from tests.engine_world import SYSTEM_DB, World, engine_world

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]

TENANT = "hotelsol"
UUID = f"tenancy_{TENANT}"  # the app's database and hyn's user
MASTER = f"tenancy{TENANT}"  # the instance's master user (naming.database_user, silo)
IDENTIFIER = f"tenancy-{TENANT}"
RUC = "20600055519"
BASE_DOMAIN = "facturador.example.pe"
# a new secret value is a new version of its secret (secret_string is ForceNew upstream,
# docs/engine.md); nothing else may be replaced by a day-2 change
VERSION_REPLACEMENTS = {"secret-sol-version", "secret-config-tenant-env-version",
                        "secret-config-bootstrap-json-version", "secret-database-version",
                        "secret-admin-version"}


@pytest.fixture(scope="module")
def world(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with engine_world(tmp_path_factory.mktemp("silo"), [TENANT]) as w:
        init_repository(w.repo)
        yield w


@pytest.fixture(scope="module")
def outputs() -> list[str]:
    """Everything the commands printed, searched for secrets at the end."""
    return []


def _instance(world: World) -> dict[str, Any]:
    (d,) = client("rds", world.moto).describe_db_instances(
        DBInstanceIdentifier=IDENTIFIER)["DBInstances"]
    return d


def _database_secret(world: World) -> dict[str, Any]:
    return json.loads(client("secretsmanager", world.moto).get_secret_value(
        SecretId=f"tenancy/tenants/{TENANT}/database")["SecretString"])


def _website_id(world: World) -> int:
    ((website_id,),) = world.server.execute("SELECT id FROM websites WHERE uuid = %s", (UUID,),
                                            database=SYSTEM_DB)
    return int(website_id)


def test_the_silo_tenant_gets_its_instance_and_is_onboarded_through_its_master_login(
        world: World, outputs: list[str]) -> None:
    world.prepare_stack(TENANT)
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0, shown(report)
    (result,) = report["results"]
    assert result["changes"]["create"] >= 20 and result["changes"]["replace"] == 0, result

    # the instance, in the platform's subnet group, security group and KMS key
    d = _instance(world)
    assert d["DBSubnetGroup"]["DBSubnetGroupName"] == world.platform["dbSubnetGroup"]
    assert [g["VpcSecurityGroupId"] for g in d["VpcSecurityGroups"]] == json.loads(
        world.platform["securityGroupIds"])
    assert d["KmsKeyId"] == world.platform["kmsKeyId"] and d["StorageEncrypted"] is True
    assert d["DeletionProtection"] is True  # production
    assert d["MasterUsername"] == MASTER and d["DBName"] == UUID

    # its endpoint is a MySQL server: the stack's database secret signs in as the master user,
    # who may grant (what the onboarding's database step needed)
    secret = _database_secret(world)
    assert (secret["host"], secret["port"]) == (world.server.host, world.server.port)
    assert secret["username"] == MASTER and secret["database"] == UUID
    conn = world.server.connect(user=MASTER, password=secret["password"])
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GRANTS")
            grants = [g[0] for g in cur.fetchall()]
    finally:
        conn.close()
    assert any("ALL PRIVILEGES ON *.*" in g and "WITH GRANT OPTION" in g for g in grants)

    # made on the instance through that login: the app's database and hyn's user, whose
    # password is hyn's md5(APP_KEY.'.'.website_id); the website points hyn at the
    # tenant's own connection
    website_id = _website_id(world)
    assert world.server.execute("SHOW DATABASES LIKE %s", (UUID,))
    assert signs_in(world, UUID, hyn_password(world.app_key, website_id), UUID)
    ((connection,),) = world.server.execute(
        "SELECT managed_by_database_connection FROM websites WHERE id = %s", (website_id,),
        database=SYSTEM_DB)
    assert connection == f"tenant_{TENANT}"

    # the rows "Guardar" writes: the clients row in the system database, the tenant's own
    (row,) = world.server.execute("SELECT email, locked_tenant FROM clients WHERE number = %s",
                                  (RUC,), database=SYSTEM_DB)
    assert row == ("gerencia@hotelsol.example.pe", 0)
    assert world.server.execute("SELECT email FROM users WHERE type = 'admin'",
                                database=UUID) == [("gerencia@hotelsol.example.pe",)]
    assert world.server.execute("SELECT COUNT(*) FROM companies", database=UUID) == [(1,)]

    # DNS and the secrets
    sets = client("route53", world.moto).list_resource_record_sets(
        HostedZoneId=world.platform["hostedZoneId"])["ResourceRecordSets"]
    assert {r["Type"] for r in sets if r["Name"] == f"{TENANT}.{BASE_DOMAIN}."} == {"A", "AAAA"}
    names = {s["Name"] for s in client("secretsmanager", world.moto).list_secrets(
        MaxResults=100)["SecretList"]}
    for concern in ("database", "admin", "sol", "certificate", "config/tenant.env"):
        assert f"tenancy/tenants/{TENANT}/{concern}" in names
    world.secret_values["generated"] = {"master password": secret["password"],
                                        "hyn password": hyn_password(world.app_key,
                                                                     website_id)}


def test_a_second_apply_and_a_refresh_of_the_silo_tenant_change_nothing(
        world: World, outputs: list[str]) -> None:
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0, shown(report)
    assert report["totals"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}, report
    # drift refreshes: the instance read back (endpoint, master user) is what the state holds
    code, report = run_json(world, outputs, "drift")
    assert code == 0, shown(report)


def test_an_instance_setting_and_a_password_change_update_the_instance_in_place(
        world: World, outputs: list[str]) -> None:
    before = _instance(world)
    reseller = world.repo / "reseller.yaml"
    data = yaml.safe_load(reseller.read_text(encoding="utf-8"))
    data["platform"]["silo_instance_class"] = "db.t4g.small"
    reseller.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    world.pulumi("config", "set", "--secret", "solPassword", "--stack", TENANT,
                 input="sol-day2-Pa55-7b1e")
    world.secret_values[TENANT]["solPassword"] = "sol-day2-Pa55-7b1e"
    commit(world.repo, "day 2: a larger instance, a new SOL password")

    code, report = run_json(world, outputs, "apply", "--base", "HEAD~1")
    assert code == 0, shown(report)
    (result,) = report["results"]
    steps = {(s["op"], s["name"]) for s in result["steps"]}
    assert ("update", "database") in steps, steps  # the instance, in place
    assert {s["name"] for s in result["steps"] if s["op"] == "replace"} <= \
        VERSION_REPLACEMENTS, steps
    assert result["changes"]["delete"] == 0, result
    after = _instance(world)
    assert after["DBInstanceClass"] == "db.t4g.small"
    assert (after["DbiResourceId"], after["InstanceCreateTime"]) == (
        before["DbiResourceId"], before["InstanceCreateTime"])  # the same instance
    sol = json.loads(client("secretsmanager", world.moto).get_secret_value(
        SecretId=f"tenancy/tenants/{TENANT}/sol")["SecretString"])
    assert sol["password"] == "sol-day2-Pa55-7b1e"
    # both logins still work, the rows are still there
    assert signs_in(world, MASTER, _database_secret(world)["password"])
    assert signs_in(world, UUID, hyn_password(world.app_key, _website_id(world)), UUID)
    assert world.server.execute("SELECT COUNT(*) FROM companies", database=UUID) == [(1,)]
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0 and report["totals"] == {"create": 0, "update": 0, "replace": 0,
                                              "delete": 0}, report


def test_the_production_silo_destroy_is_refused_then_keeps_instance_data_and_secrets(
        world: World, outputs: list[str]) -> None:
    code, report = run_json(world, outputs, "destroy", TENANT)
    assert code == 1 and "allow-destroy-production" in json.dumps(report), report
    assert _instance(world)  # nothing ran
    password = _database_secret(world)["password"]

    code, report = run_json(world, outputs, "destroy", TENANT, "--allow-destroy-production")
    assert code == 0, shown(report)
    (kept,) = report["warnings"]
    assert f"its RDS instance {IDENTIFIER}, secrets and generated values are kept" in kept
    assert "keeps running (and billing) until it is deleted by hand" in kept
    exported = json.loads(world.pulumi("stack", "export", "--stack", TENANT).stdout)
    assert not exported["deployment"].get("resources"), "the stack holds nothing"
    # gone: the DNS records
    sets = client("route53", world.moto).list_resource_record_sets(
        HostedZoneId=world.platform["hostedZoneId"])["ResourceRecordSets"]
    assert not [r for r in sets if r["Name"].startswith(f"{TENANT}.")]
    # kept (docs/data-safety.md "Destroy"): the instance, retained in every environment, with
    # its master login and the tenant's data; in production the secrets and the app's rows
    d = _instance(world)
    assert d["DBInstanceStatus"] == "available" and d["DeletionProtection"] is True
    assert signs_in(world, MASTER, password)
    assert world.server.execute("SELECT COUNT(*) FROM companies", database=UUID) == [(1,)]
    names = {s["Name"] for s in client("secretsmanager", world.moto).list_secrets(
        MaxResults=100)["SecretList"]}
    assert f"tenancy/tenants/{TENANT}/database" in names
    assert world.server.execute("SELECT 1 FROM clients WHERE number = %s", (RUC,),
                                database=SYSTEM_DB)


def test_the_kept_instance_imports_by_identifier_with_its_mysql_endpoint(
        world: World) -> None:
    """`pulumi import` (what an adopted silo tenant's `import_` does at `up`): the plugin's Read
    finds the instance by identifier and reports the server behind it, not moto's name."""
    world.pulumi("stack", "init", "reimport", "--secrets-provider", world.secrets_provider)
    world.pulumi("import", "aws:rds/instance:Instance", "kept", IDENTIFIER, "--stack",
                 "reimport", "--yes", "--generate-code=false", "--protect=false")
    exported = json.loads(world.pulumi("stack", "export", "--stack", "reimport").stdout)
    (kept,) = [r for r in exported["deployment"]["resources"] if r["urn"].endswith("::kept")]
    assert kept["id"] == IDENTIFIER
    assert (kept["outputs"]["address"], kept["outputs"]["port"]) == (world.server.host,
                                                                     world.server.port)
    assert kept["outputs"]["endpoint"] == world.server.endpoint
    assert kept["inputs"]["username"] == MASTER and kept["inputs"]["dbName"] == UUID
    world.pulumi("state", "delete", kept["urn"], "--stack", "reimport", "--yes")
    world.pulumi("stack", "rm", "reimport", "--yes", "--force")  # its default provider left
    assert _instance(world)  # only the state entries went


def test_the_kept_silo_account_is_adopted_and_its_instance_imported_with_no_data_written(
        world: World, outputs: list[str]) -> None:
    """`provisioner adopt` of the account the destroy kept, then its first apply: the instance
    is imported by identifier (the stand-in's Read, getInstance for the kept-settings
    warnings), its master password given as the `databasePassword` stack secret and kept, and
    the onboarding steps find the account: no row, user or database is written. While the
    destroyed stack's kept secrets exist, adopt leaves the account out (a stack creates its
    secrets and imports none, so its first apply would fail CreateSecret half way:
    docs/data-safety.md); they are deleted, as the refusal says, and adopt goes through."""
    master = _database_secret(world)["password"]
    website_id = _website_id(world)
    rows = world.server.execute("SELECT * FROM companies", database=UUID)
    (world.repo / "tenants" / f"{TENANT}.yaml").unlink()
    world.env["PROVISIONER_APP_DB_PASSWORD"] = world.server.password
    proc = world.provisioner("adopt", TENANT)
    outputs.extend([proc.stdout, proc.stderr])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{TENANT}: NOT ADOPTED: secrets kept by an earlier destroy exist" in proc.stdout
    assert not (world.repo / "tenants" / f"{TENANT}.yaml").exists()
    sm = client("secretsmanager", world.moto)
    for kept in sm.list_secrets(MaxResults=100)["SecretList"]:
        if kept["Name"].startswith(f"tenancy/tenants/{TENANT}/"):
            assert kept["Name"] in proc.stdout
            sm.delete_secret(SecretId=kept["ARN"], ForceDeleteWithoutRecovery=True)
    proc = world.provisioner("adopt", TENANT)
    outputs.extend([proc.stdout, proc.stderr])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    spec = yaml.safe_load((world.repo / "tenants" / f"{TENANT}.yaml").read_text("utf-8"))
    assert spec["adopted"]["website_id"] == website_id and spec["plan"] == "corporativo"
    world.pulumi("config", "set", "--secret", "databasePassword", "--stack", TENANT,
                 input=master)
    world.secret_values[TENANT]["databasePassword"] = master
    commit(world.repo, "hotelsol adopted")

    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0, shown(report)
    (result,) = report["results"]
    assert result["changes"]["replace"] == 0 and result["changes"]["delete"] == 0, result
    exported = json.loads(world.pulumi("stack", "export", "--stack", TENANT).stdout)
    (instance,) = [r for r in exported["deployment"]["resources"]
                   if r["type"] == "aws:rds/instance:Instance"]
    assert instance["id"] == IDENTIFIER
    assert instance["outputs"]["endpoint"] == world.server.endpoint
    assert signs_in(world, MASTER, master)  # its password kept, not reset to a new one
    assert _database_secret(world)["password"] == master
    assert _website_id(world) == website_id
    assert world.server.execute("SELECT * FROM companies", database=UUID) == rows
    assert signs_in(world, UUID, hyn_password(world.app_key, website_id), UUID)
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0 and report["totals"] == {"create": 0, "update": 0, "replace": 0,
                                              "delete": 0}, report


def test_no_state_file_or_output_of_the_silo_run_holds_a_secret(
        world: World, outputs: list[str]) -> None:
    assert not (leaks := secret_leaks(world, outputs)), leaks
