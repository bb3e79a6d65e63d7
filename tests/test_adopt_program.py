"""An adopted tenant's stack under Pulumi's mock runtime: what exists is imported (ids as the
pinned providers take them, provisioner/app/adopt_first_apply.py), never declared to be created,
and hyn's user and password are kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from provisioner.app.tenant_database import hyn_password
from provisioner.explain.mock_runtime import StackRun, TenantMocks, run_stack
from provisioner.infra.database import ADOPTED_INSTANCE_KEPT, instance_differences
from provisioner.infra.program import main
from tests.test_infra_program import (
    APP_STEP,
    EXAMPLES,
    MYSQL_DB,
    MYSQL_GRANT,
    MYSQL_USER,
    RDS,
    RECORD,
    SHARED_ADMIN_PASSWORD,
    STACK_SECRETS,
    VERSION,
    run_example,
)

ZONE = "Z0123456789EXAMPLE"  # examples/reseller.yaml platform.hosted_zone_id
ADOPTED = {"nandu": "adopted:\n  website_id: 41\n",
           "bodegaperez": "adopted:\n  website_id: 7\n  database_user_host: localhost\n"
                          "  dns_record: true\n",
           "hotelsol": "adopted:\n  website_id: 12\n"}


@pytest.fixture(scope="module")
def spec_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("adopted") / "repo"
    shutil.copytree(EXAMPLES, root)
    for name, block in ADOPTED.items():
        path = root / "tenants" / f"{name}.yaml"
        path.write_text(path.read_text(encoding="utf-8") + block, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def runs(spec_dir) -> dict[str, StackRun]:
    out = {name: run_example(name, spec_dir=spec_dir) for name in [*ADOPTED, "pruebademo"]}
    for name, run in out.items():
        assert run.error is None, (name, run.error)
    return out


def _imports(run: StackRun) -> dict[tuple[str, str], str]:
    return {(r.type, r.name): r.import_id for r in run.managed if r.import_id}


def test_the_pooled_database_is_imported_by_name_and_hyns_user_is_not_redeclared(runs) -> None:
    for name in ("nandu", "bodegaperez"):
        run = runs[name]
        imports = _imports(run)
        assert imports[(MYSQL_DB, "database")] == f"tenancy_{name}"
        # pulumi-mysql cannot import a user or grant: declaring them would CREATE USER
        assert not run.of_type(MYSQL_USER) and not run.of_type(MYSQL_GRANT)
        migrate = run.one(APP_STEP, "app-migrate")
        assert migrate.inputs["steps"][0] == "database"  # hyn's user and grant kept here
        assert run.one(MYSQL_DB, "database").urn in migrate.dependencies
    assert runs["nandu"].one(APP_STEP, "app-migrate").inputs["user_host"] == "%"
    assert runs["bodegaperez"].one(APP_STEP, "app-migrate").inputs["user_host"] == "localhost"


def test_dns_records_are_imported_only_when_the_account_has_them(runs) -> None:
    imports = _imports(runs["bodegaperez"])
    fqdn = "bodegaperez.facturador.example.pe"
    assert imports[(RECORD, "dns-a")] == f"{ZONE}_{fqdn}_A"
    assert imports[(RECORD, "dns-aaaa")] == f"{ZONE}_{fqdn}_AAAA"
    assert set(imports) == {(MYSQL_DB, "database"), (RECORD, "dns-a"), (RECORD, "dns-aaaa")}
    assert set(_imports(runs["nandu"])) == {(MYSQL_DB, "database")}  # a wildcard record
    # imported records keep where they point; the first up does not re-point them
    for kind in ("a", "aaaa"):
        assert set(runs["bodegaperez"].one(RECORD, f"dns-{kind}").ignore_changes) == {
            "aliases", "records", "ttl"}
    assert runs["nandu"].one(RECORD, "dns-a").ignore_changes == ()


def test_the_silo_instance_is_imported_by_its_identifier(runs) -> None:
    assert _imports(runs["hotelsol"]) == {(RDS, "database"): "tenancy-hotelsol"}
    assert runs["hotelsol"].one(APP_STEP, "app-migrate").inputs["steps"][0] == "database"
    assert "user_host" not in runs["hotelsol"].one(APP_STEP, "app-migrate").inputs


def test_hyns_password_is_derived_from_the_adopted_website_id(runs) -> None:
    run = runs["nandu"]
    secret = json.loads(str(run.one(VERSION, "secret-database-version").inputs["secretString"]))
    assert secret["password"] == hyn_password(STACK_SECRETS["appKey"], 41)
    assert secret["username"] == "tenancy_nandu"


def test_a_tenant_not_adopted_imports_nothing(runs) -> None:
    run = runs["pruebademo"]
    assert run.managed and not _imports(run)
    assert run.of_type(MYSQL_USER) and run.of_type(MYSQL_GRANT)
    assert "user_host" not in run.one(APP_STEP, "app-migrate").inputs


def test_a_dns_import_needs_a_zone_id_known_before_the_program_runs(spec_dir, tmp_path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(spec_dir, root)
    reseller = root / "reseller.yaml"
    text = reseller.read_text(encoding="utf-8").replace(
        f"  hosted_zone_id: {ZONE}\n", "  stack_reference: org/platform/prod\n")
    reseller.write_text(text, encoding="utf-8")
    run = run_example("bodegaperez", spec_dir=root)
    assert run.error is not None and "platform.hosted_zone_id" in str(run.error)
    assert not any(r.type == RECORD for r in run.resources)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


# what must never change on an instance the app's owner made (a reset master password locks the
# app out; the others apply at once, apply_immediately)
MUST_KEEP = {"password", "engineVersion", "instanceClass", "allocatedStorage",
             "maxAllocatedStorage", "storageType", "kmsKeyId", "dbSubnetGroupName",
             "vpcSecurityGroupIds", "publiclyAccessible", "backupRetentionPeriod",
             "deletionProtection", "dbName", "username", "autoMinorVersionUpgrade"}


def test_the_adopted_instance_keeps_its_password_and_settings(runs) -> None:
    """An import that differs now updates in the same run; ignore_changes is what keeps the
    instance as it is, the master password first (RDS never returns it)."""
    instance = runs["hotelsol"].one(RDS, "database")
    kept = set(instance.ignore_changes)
    assert kept >= MUST_KEEP
    assert kept == {_camel(n) for n in ADOPTED_INSTANCE_KEPT}
    # ... and connects with the instance's own password, a stack secret, never a generated one
    assert instance.inputs["password"] == STACK_SECRETS["databasePassword"]
    assert "password" in instance.secret_inputs


def test_a_stack_made_instance_has_no_ignored_changes() -> None:
    run = run_example("hotelsol")
    assert run.error is None
    instance = run.one(RDS, "database")
    assert instance.ignore_changes == () and not instance.import_id
    assert instance.inputs["password"] != STACK_SECRETS["databasePassword"]


def test_the_adopted_schema_keeps_its_character_set_and_collation(runs) -> None:
    for name in ("nandu", "bodegaperez"):
        schema = runs[name].one(MYSQL_DB, "database")
        assert set(schema.ignore_changes) == {"defaultCharacterSet", "defaultCollation"}
    assert runs["pruebademo"].one(MYSQL_DB, "database").ignore_changes == ()


def test_an_adopted_silo_tenant_needs_the_instance_password(spec_dir) -> None:
    secrets = {k: v for k, v in STACK_SECRETS.items() if k != "databasePassword"}
    run = run_example("hotelsol", spec_dir=spec_dir, secrets=secrets)
    assert run.error is not None
    assert "pulumi config set --secret --stack hotelsol databasePassword" in str(run.error)
    assert not run.managed  # refused before anything is declared
    assert run_example("hotelsol", secrets=secrets).error is None  # not adopted: not needed


def _adopted_silo_run(spec_dir: Path, live: dict) -> StackRun:
    return run_stack("hotelsol", main, config={"specDir": str(spec_dir)}, secrets=STACK_SECRETS,
                     mocks=TenantMocks(shared_admin_secret=json.dumps(
                         {"username": "admin", "password": SHARED_ADMIN_PASSWORD}),
                         rds_instances={"tenancy-hotelsol": live}))


def test_the_plan_warns_about_each_setting_the_adopted_instance_keeps(spec_dir) -> None:
    run = _adopted_silo_run(spec_dir, {"dbInstanceClass": "db.r6g.large",
                                       "engineVersion": "8.0.39", "allocatedStorage": 20,
                                       "storageEncrypted": True, "masterUsername":
                                       "tenancyhotelsol"})
    assert run.error is None, run.error
    warnings = [m for level, m in run.log if level == "warning" and "tenancy-hotelsol" in m]
    assert len(warnings) == 2, run.log
    assert any("instance_class is 'db.r6g.large' on the instance" in w for w in warnings)
    assert any("engine_version is '8.0.39'" in w for w in warnings)
    assert STACK_SECRETS["databasePassword"] not in " ".join(m for _, m in run.log)
    same = _adopted_silo_run(spec_dir, {"dbInstanceClass": "db.t4g.micro",
                                        "engineVersion": "8.4.3", "allocatedStorage": 20})
    assert same.error is None
    assert not [m for level, m in same.log if level == "warning" and "tenancy-hotelsol" in m]


def test_instance_differences_compare_like_rds_reports() -> None:
    declared = {"engine_version": "8.4", "vpc_security_group_ids": ["sg-1", "sg-2"],
                "allocated_storage": 20, "kms_key_id": None}
    assert instance_differences(declared, {"engine_version": "8.4.3",
                                           "vpc_security_groups": ["sg-2", "sg-1"],
                                           "allocated_storage": 20,
                                           "kms_key_id": "arn:x"}) == []
    assert instance_differences(declared, {"engine_version": "8.40.1"}) == [
        "engine_version is '8.40.1' on the instance, '8.4' in the stack"]
    assert instance_differences(declared, {"vpc_security_groups": ["sg-1"],
                                           "allocated_storage": 50}) == [
        "allocated_storage is 50 on the instance, 20 in the stack",
        "vpc_security_group_ids is ['sg-1'] on the instance, ['sg-1', 'sg-2'] in the stack"]
