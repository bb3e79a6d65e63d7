"""The Pulumi program for each example tenant, run under the mock runtime
(provisioner.explain.mock_runtime).

What a user would notice: which resources a stack creates, their names, where secrets go,
what survives a `pulumi destroy`, and what a missing secret or a bad spec says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from provisioner import naming
from provisioner.errors import ProvisionerError
from provisioner.explain.mock_runtime import StackRun, TenantMocks, run_stack
from provisioner.infra.program import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# Distinct, recognisable values: a test that finds one in plain text has found a leak.
STACK_SECRETS = {
    "solPassword": "sol-Pa55-7d1e",
    "smtpPassword": "smtp-Pa55-91c3",
    "adminPassword": "admin-Pa55-4b2f",
    "certificate": "-----BEGIN CERTIFICATE-----\ncert-Body-0af3\n-----END CERTIFICATE-----\n",
    "certificatePassword": "cert-Pa55-e57a",
    "appKey": "base64:YXBwLWtleS1QYTU1LTMzYjE=",
    "appDatabasePassword": "appdb-Pa55-6c0d",
}
APP_SECRETS = {k: STACK_SECRETS[k] for k in ("appKey", "appDatabasePassword")}
SHARED_ADMIN_PASSWORD = "shared-Admin-Pa55-88aa"

RECORD = "aws:route53/record:Record"
PASSWORD = "random:index/randomPassword:RandomPassword"
STRING = "random:index/randomString:RandomString"
MYSQL_PROVIDER = "pulumi:providers:mysql"
MYSQL_DB = "mysql:index/database:Database"
MYSQL_USER = "mysql:index/user:User"
MYSQL_GRANT = "mysql:index/grant:Grant"
RDS = "aws:rds/instance:Instance"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
TENANT = "facturador:tenants:Tenant"

POOL = {(MYSQL_PROVIDER, "shared-mysql"), (MYSQL_DB, "database"), (MYSQL_USER, "database-user"),
        (MYSQL_GRANT, "database-grant")}
RANDOM_ID = "random:index/randomId:RandomId"
SILO = {(RDS, "database"), (RANDOM_ID, "final-snapshot-suffix")}


def tenant_db_password(run: StackRun, name: str) -> str:
    """With the app: a pooled tenant's user is hyn's, md5(appKey.'.'.website_id); a silo's is
    its RDS master user with the generated password."""
    from provisioner.app.tenant_database import hyn_password

    if name == "hotelsol":
        return generated(run, PASSWORD, "database-password")
    website_id = run.one(APP_STEP, "app-website").outputs["website_id"]
    return hyn_password(STACK_SECRETS["appKey"], website_id)


def secrets_for(*concerns: str) -> set[tuple[str, str]]:
    names = {c.replace("/", "-").replace(".", "-") for c in concerns}
    return {(SECRET, f"secret-{n}") for n in names} | {(VERSION, f"secret-{n}-version")
                                                        for n in names}


APP_STEP = "pulumi-python:dynamic/app:Step"  # provisioner/infra/onboarding.py: the app's own rows
BASE = ({(RECORD, "dns-a"), (RECORD, "dns-aaaa"), (PASSWORD, "database-password"),
         (PASSWORD, "api-token"), (APP_STEP, "app-website"), (APP_STEP, "app-migrate"),
         (APP_STEP, "app-account")}
        | secrets_for("database", "admin", "config/tenant.env", "config/bootstrap.json"))
GENERATED_ADMIN = {(PASSWORD, "admin-password")}

EXPECTED: dict[str, set[tuple[str, str]]] = {
    "bodegaperez": BASE | POOL | GENERATED_ADMIN | secrets_for("sol", "certificate"),
    "contaapi": BASE | POOL | {(PASSWORD, "admin-password-salt")} | secrets_for("sol"),
    "ferreteriaandina": BASE | POOL | GENERATED_ADMIN | secrets_for("sol", "smtp", "certificate"),
    "hotelsol": BASE | SILO | GENERATED_ADMIN | secrets_for("sol", "certificate"),
    "nandu": BASE | POOL | GENERATED_ADMIN | secrets_for("smtp"),
    "pruebademo": BASE | POOL | GENERATED_ADMIN,
}
PRODUCTION = {"bodegaperez", "ferreteriaandina", "hotelsol"}


def run_example(stack: str, *, spec_dir: Path = EXAMPLES, seed: str = "state-1",
                secrets: dict[str, str] | None = None, **config: str) -> StackRun:
    return run_stack(stack, main, config={"specDir": str(spec_dir), **config},
                     secrets=STACK_SECRETS if secrets is None else secrets,
                     mocks=TenantMocks(seed=seed, shared_admin_secret=json.dumps(
                         {"username": "admin", "password": SHARED_ADMIN_PASSWORD})))


@pytest.fixture(scope="module")
def runs() -> dict[str, StackRun]:
    out = {name: run_example(name) for name in EXPECTED}
    for name, run in out.items():
        assert run.error is None, f"{name}: {run.error}"
    return out


def secret_string(run: StackRun, concern: str) -> str:
    name = "secret-" + concern.replace("/", "-").replace(".", "-") + "-version"
    return str(run.one(VERSION, name).inputs["secretString"])


def generated(run: StackRun, type_: str, name: str) -> str:
    return str(run.one(type_, name).outputs["result"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_declares_exactly_its_resources(runs: dict[str, StackRun],
                                                     name: str) -> None:
    run = runs[name]
    assert {(r.type, r.name) for r in run.managed} == EXPECTED[name]
    component = run.one(TENANT)
    assert component.name == name and component.parent_name == f"tenants-{name}"
    assert {r.parent_urn for r in run.managed} == {component.urn}  # every child parent=self


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dns_alias_points_the_fqdn_at_the_load_balancer(runs: dict[str, StackRun],
                                                        name: str) -> None:
    run = runs[name]
    fqdn = f"{name}.facturador.example.pe"
    assert run.outputs["fqdn"] == fqdn == naming.fqdn(name, "facturador.example.pe")
    assert run.outputs["url"] == f"https://{fqdn}"
    for kind in ("A", "AAAA"):  # examples/reseller.yaml has ipv6: true
        record = run.one(RECORD, f"dns-{kind.lower()}")
        assert record.inputs["name"] == fqdn and record.inputs["type"] == kind
        assert record.inputs["zoneId"] == "Z0123456789EXAMPLE"
        assert record.inputs["aliases"] == [{
            "name": "facturador-alb-123456.us-east-1.elb.amazonaws.com",
            "zoneId": "Z35SXDOTRQ7X7K", "evaluateTargetHealth": True}]


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"hotelsol"}))
def test_pool_tenants_get_a_schema_and_a_user_limited_to_it(runs: dict[str, StackRun],
                                                             name: str) -> None:
    run = runs[name]
    db_name = f"tenancy_{name}"
    assert run.outputs["databaseName"] == db_name
    assert run.outputs["databaseUser"] == db_name
    assert run.one(MYSQL_DB).inputs["name"] == db_name
    user = run.one(MYSQL_USER)
    assert (user.inputs["user"], user.inputs["host"]) == (db_name, "%")
    assert "plaintextPassword" in user.secret_inputs
    assert user.inputs["plaintextPassword"] == tenant_db_password(run, name)
    grant = run.one(MYSQL_GRANT)
    assert grant.inputs["database"] == db_name and grant.inputs["user"] == db_name
    # scoped to the tenant's schema, never WITH GRANT OPTION; spelled as SHOW GRANTS reports
    # the full schema-level set, so the provider reads back no change
    assert grant.inputs["privileges"] == ["ALL PRIVILEGES"]
    assert grant.inputs.get("grant", False) is False and grant.inputs.get("table", "*") == "*"
    provider = run.one(MYSQL_PROVIDER)
    endpoint = "facturador-shared.cluster-abc123.us-east-1.rds.amazonaws.com:3306"
    assert provider.inputs["endpoint"] == endpoint == run.outputs["databaseEndpoint"]
    assert provider.inputs["username"] == "admin"
    assert provider.inputs["password"] == SHARED_ADMIN_PASSWORD
    assert "password" in provider.secret_inputs
    for r in (run.one(MYSQL_DB), user, grant):  # the explicit provider, not a default one
        assert r.provider.startswith(provider.urn + "::"), r.name
    admin_read = [i for i in run.invokes if i.token.endswith("getSecretVersion")]
    assert [i.args["secretId"] for i in admin_read] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:facturador/mysql-admin-AbCdEf"]


def test_the_silo_tenant_gets_its_own_encrypted_rds_instance(runs: dict[str, StackRun]) -> None:
    run = runs["hotelsol"]
    db = run.one(RDS).inputs
    assert {k: db[k] for k in ("engine", "engineVersion", "instanceClass", "dbName",
                               "username", "identifier")} == {
        "engine": "mysql", "engineVersion": "8.4", "instanceClass": "db.t4g.micro",
        "dbName": "tenancy_hotelsol", "username": "tenancyhotelsol",
        "identifier": "tenancy-hotelsol"}
    assert db["storageEncrypted"] is True
    assert db["kmsKeyId"] == ("arn:aws:kms:us-east-1:123456789012:key/"
                              "1234abcd-12ab-34cd-56ef-1234567890ab")
    assert db["dbSubnetGroupName"] == "facturador-db"
    assert db["vpcSecurityGroupIds"] == ["sg-0a1b2c3d4e5f60718"]
    assert db["skipFinalSnapshot"] is False
    suffix = run.one(RANDOM_ID)
    assert suffix.name == "final-snapshot-suffix" and suffix.protect  # production: kept
    assert re.fullmatch(r"tenancy-hotelsol-final-[0-9a-f]{8}", db["finalSnapshotIdentifier"])
    assert db["deletionProtection"] is True and db["backupRetentionPeriod"] >= 7
    assert db["password"] == generated(run, PASSWORD, "database-password")
    assert "password" in run.one(RDS).secret_inputs
    assert db["tags"]["tenant"] == "hotelsol"
    assert run.outputs["databaseEndpoint"].startswith("tenancy-hotelsol.")
    assert not run.of_type(MYSQL_PROVIDER)


@pytest.mark.parametrize(("name", "username"), [
    ("bodegaperez", "10054148289FACTURA1"),  # SUNAT production: RUC + SOL user
    ("ferreteriaandina", "20512333797OSEUSER1"),  # OSE, ruc_user
    ("contaapi", "20000000001"),  # OSE that takes the bare RUC
    ("hotelsol", "20600055519HOTELSOL"),
])
def test_sol_credentials_are_stored_as_sent_on_the_wire(runs: dict[str, StackRun], name: str,
                                                        username: str) -> None:
    stored = json.loads(secret_string(runs[name], "sol"))
    assert stored == {"username": username, "password": STACK_SECRETS["solPassword"]}


@pytest.mark.parametrize("name", ["pruebademo", "nandu"])
def test_sunat_demo_needs_no_sol_secret(runs: dict[str, StackRun], name: str) -> None:
    assert "sol" not in runs[name].outputs["secretArns"]
    assert all("sol" not in r.name for r in runs[name].of_type(SECRET))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_secrets_are_named_encrypted_and_tagged(runs: dict[str, StackRun], name: str) -> None:
    run = runs[name]
    secrets = run.of_type(SECRET)
    arns = run.outputs["secretArns"]
    assert len(arns) == len(secrets)
    for concern in arns:
        assert naming.secret_name("tenancy", name, concern) in {s.inputs["name"]
                                                                for s in secrets}
    for secret in secrets:
        assert secret.inputs["kmsKeyId"].startswith("arn:aws:kms:")
        tags = secret.inputs["tags"]
        assert {k: tags[k] for k in ("tenant", "managed-by", "cost-center")} == {
            "tenant": name, "managed-by": "provisioner", "cost-center": "facturacion"}
        assert tags["environment"] == ("production" if name in PRODUCTION else "demo")
        assert re.fullmatch(r"\d{11}", tags["ruc"]) and tags["plan"]
    database = json.loads(secret_string(run, "database"))
    assert database["database"] == f"tenancy_{name}"
    # a silo tenant's user is its RDS instance's master user: 16 letters or digits at most
    assert database["username"] == (f"tenancy{name}" if name == "hotelsol" else f"tenancy_{name}")
    assert database["password"] == tenant_db_password(run, name)


def test_spec_labels_become_tags(runs: dict[str, StackRun]) -> None:
    assert runs["bodegaperez"].one(SECRET, "secret-database").inputs["tags"]["vendedor"] == "lucia"


def _secret_values(run: StackRun) -> list[str]:
    values = [*STACK_SECRETS.values(), SHARED_ADMIN_PASSWORD]
    for r in run.of_type(PASSWORD) + run.of_type(STRING):
        values.append(r.outputs["result"])
        if "bcryptHash" in r.outputs:
            values.append(r.outputs["bcryptHash"][7:])  # the part after $2a$10$
    return values


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_secret_value_appears_in_plain_inputs_outputs_tags_or_logs(
        runs: dict[str, StackRun], name: str) -> None:
    run = runs[name]
    secrets = _secret_values(run)
    plain: list[str] = []
    for r in run.resources:
        plain += _strings({k: v for k, v in r.inputs.items() if k not in r.secret_inputs})
        plain += _strings({k: v for k, v in r.outputs.items() if k not in r.secret_outputs})
    plain += _strings({k: v for k, v in run.outputs.items() if k not in run.secret_outputs})
    plain += [message for _, message in run.log]
    leaks = [(s, p) for s in secrets for p in plain if s in p]
    assert not leaks


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_secret_input_and_the_published_config_are_secret(runs: dict[str, StackRun],
                                                                name: str) -> None:
    run = runs[name]
    for version in run.of_type(VERSION):
        assert "secretString" in version.secret_inputs, version.name
        assert "secretString" in version.secret_outputs, version.name
    for r in run.of_type(PASSWORD) + run.of_type(STRING):
        assert "result" in r.secret_outputs, r.name
        assert "result" in r.additional_secret_outputs
    assert run.secret_outputs == {"adminPassword"}
    env = secret_string(run, "config/tenant.env")
    assert tenant_db_password(run, name) in env  # rendered from real values
    assert generated(run, PASSWORD, "api-token") in secret_string(run, "config/bootstrap.json")
    if "sol" in run.outputs["secretArns"]:
        assert STACK_SECRETS["solPassword"] in env


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_generated_secret_is_a_random_string(runs: dict[str, StackRun], name: str) -> None:
    """terraform-provider-random makes a random_string's id its result, and ids are stored in
    plain text (secret outputs or not): every generated secret must be a RandomPassword, whose
    id is "none" (tests/test_engine_apply.py finds the value in the state otherwise)."""
    assert not runs[name].of_type(STRING)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_production_data_is_protected_and_retained_the_database_always_retained(
        runs: dict[str, StackRun], name: str) -> None:
    run = runs[name]
    data = {(t, n) for t, n in EXPECTED[name] if t in (MYSQL_DB, MYSQL_USER, RDS,
                                                        SECRET, PASSWORD, STRING, RANDOM_ID)}
    data |= {(APP_STEP, "app-website"), (APP_STEP, "app-account")}  # the client's account
    for r in run.managed:
        must = name in PRODUCTION and (r.type, r.name) in data
        database = r.type in (MYSQL_DB, RDS)  # the tenant's data: kept in every environment
        assert (r.protect, r.retain_on_delete) == (must or database, must or database), r.name
    assert not any(r.protect for r in run.of_type(RECORD) + run.of_type(VERSION))
    assert not any(r.protect or r.retain_on_delete for r in run.of_type(MYSQL_GRANT))


def test_demo_silo_tenant_can_be_deleted(repo: Path) -> None:
    spec = yaml.safe_load((repo / "tenants/hotelsol.yaml").read_text())
    spec["soap"] = {"send": "sunat", "environment": "demo"}
    spec["allow_production_switch"] = False
    (repo / "tenants/hotelsol.yaml").write_text(yaml.safe_dump(spec))
    run = run_example("hotelsol", spec_dir=repo)
    assert run.error is None
    db = run.one(RDS)
    assert db.inputs["deletionProtection"] is False  # Pulumi's protect guards it instead
    # a delete through the provider keeps the automated backups, which expire; no final
    # snapshot kept forever; and the engine itself never deletes it (retain_on_delete)
    assert db.inputs["skipFinalSnapshot"] is True and "finalSnapshotIdentifier" not in db.inputs
    assert db.inputs["deleteAutomatedBackups"] is False
    assert 1 <= db.inputs["backupRetentionPeriod"] < 7
    assert db.retain_on_delete and db.protect


def test_admin_password_is_a_secret_output_matching_its_hash(runs: dict[str, StackRun]) -> None:
    run = runs["pruebademo"]
    assert run.outputs["adminPassword"] == generated(run, PASSWORD, "admin-password")
    stored = json.loads(secret_string(run, "admin"))
    assert stored["email"] == "demo@facturador.example.pe"
    assert stored["password"] == run.outputs["adminPassword"]
    assert len(stored["api_token"]) == 50 and stored["api_token"].isalnum()
    hashed = run.one(PASSWORD, "admin-password").outputs["bcryptHash"]
    assert "$2y$" + hashed[4:] in secret_string(run, "config/bootstrap.json")


def test_operator_set_admin_password_is_hashed_reproducibly(runs: dict[str, StackRun]) -> None:
    run = runs["contaapi"]
    assert run.outputs["adminPassword"] == STACK_SECRETS["adminPassword"]
    found = re.findall(r"\$2y\$\d\d\$[./A-Za-z0-9]{53}", secret_string(run,
                                                                         "config/bootstrap.json"))
    assert found, "no PHP bcrypt hash in bootstrap.json"
    assert bcrypt.checkpw(STACK_SECRETS["adminPassword"].encode(),
                          ("$2b$" + found[0][4:]).encode())
    assert secret_string(run_example("contaapi"), "config/bootstrap.json") == secret_string(
        run, "config/bootstrap.json")


def test_same_state_renders_the_same_config_and_other_state_does_not() -> None:
    first, second = run_example("ferreteriaandina"), run_example("ferreteriaandina")
    other = run_example("ferreteriaandina", seed="state-2")
    for concern in ("config/tenant.env", "config/bootstrap.json"):
        assert secret_string(first, concern) == secret_string(second, concern)
        assert secret_string(first, concern) != secret_string(other, concern)


def test_a_spec_change_only_changes_the_published_config(repo: Path) -> None:
    before = run_example("nandu", spec_dir=repo)
    path = repo / "tenants/nandu.yaml"
    path.write_text(path.read_text().replace('trade_name: "Restaurante Ñandú #1 $pecial"',
                                             "trade_name: Restaurante Ñandú Dos"))
    after = run_example("nandu", spec_dir=repo)
    assert before.error is None and after.error is None
    old = {r.urn: r.inputs for r in before.resources}
    new = {r.urn: r.inputs for r in after.resources}
    assert old.keys() == new.keys()
    changed = {urn.rsplit("::", 1)[-1] for urn in old if old[urn] != new[urn]}
    assert changed == {"secret-config-tenant-env-version", "secret-config-bootstrap-json-version"}


@pytest.mark.parametrize(("name", "missing"), [
    ("bodegaperez", ["solPassword", "certificate", "certificatePassword"]),
    ("contaapi", ["adminPassword", "solPassword"]),
    ("nandu", ["smtpPassword"]),
])
def test_a_missing_stack_secret_names_the_command_that_sets_it(name: str,
                                                               missing: list[str]) -> None:
    run = run_example(name, secrets={})
    assert isinstance(run.error, ProvisionerError)
    message = str(run.error)
    for key in missing:
        assert f"pulumi config set --secret --stack {name} {key}" in message
    assert not run.managed  # nothing half-declared


def test_a_plaintext_secret_is_accepted_with_a_warning(repo: Path) -> None:
    run = run_stack("nandu", main, config={"specDir": str(repo), "smtpPassword": "plain-1"},
                    secrets=APP_SECRETS)
    assert run.error is None
    assert any("smtpPassword is stored in plain text" in m for level, m in run.log
               if level == "warning")
    assert "plain-1" not in " ".join(m for _, m in run.log)


def test_an_invalid_spec_fails_with_located_findings(repo: Path) -> None:
    path = repo / "tenants/pruebademo.yaml"
    path.write_text(path.read_text().replace("plan: emprendedor", "plan: emprendedr"))
    run = run_example("pruebademo", spec_dir=repo)
    assert isinstance(run.error, ProvisionerError)
    assert re.search(r"tenants/pruebademo\.yaml:\d+:\d+: plan: unknown plan 'emprendedr'",
                     str(run.error))
    assert "Traceback" not in str(run.error) and not run.managed


def test_another_tenants_broken_file_does_not_block_this_stack(repo: Path) -> None:
    (repo / "tenants/nandu.yaml").write_text("ruc: [not a ruc\n")
    assert run_example("pruebademo", spec_dir=repo).error is None
    assert run_example("nandu", spec_dir=repo).error is not None


def test_a_stack_without_a_tenant_file_says_so() -> None:
    run = run_example("nosuchtenant")
    assert isinstance(run.error, ProvisionerError)
    assert "no tenant file tenants/nosuchtenant.yaml" in str(run.error)


def test_without_spec_dir_the_program_reads_the_examples() -> None:
    run = run_stack("pruebademo", main, secrets=APP_SECRETS)
    assert run.error is None and run.outputs["databaseName"] == "tenancy_pruebademo"
