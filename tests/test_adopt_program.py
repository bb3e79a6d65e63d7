"""An adopted tenant's stack under Pulumi's mock runtime: what exists is imported (ids as the
pinned providers take them, provisioner/app/adopt_first_apply.py), never declared to be created,
and hyn's user and password are kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from provisioner.app.tenant_database import hyn_password
from provisioner.explain.mock_runtime import StackRun
from tests.test_infra_program import (
    APP_STEP,
    EXAMPLES,
    MYSQL_DB,
    MYSQL_GRANT,
    MYSQL_USER,
    RDS,
    RECORD,
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
