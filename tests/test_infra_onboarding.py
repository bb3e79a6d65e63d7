"""The onboarding steps in the tenant's stack, under Pulumi's mock runtime: which resources,
in which order, with which secrets."""

from __future__ import annotations

import json

import pytest

from provisioner.app.tenant_database import hyn_password
from provisioner.explain.mock_runtime import StackRun
from tests.test_infra_program import (
    APP_STEP,
    MYSQL_GRANT,
    MYSQL_USER,
    RDS,
    STACK_SECRETS,
    run_example,
)

EXAMPLES = ["bodegaperez", "contaapi", "ferreteriaandina", "hotelsol", "nandu", "pruebademo"]


@pytest.fixture(scope="module")
def runs() -> dict[str, StackRun]:
    out = {name: run_example(name) for name in EXAMPLES}
    for name, run in out.items():
        assert run.error is None, (name, run.error)
    return out


def _urn(run: StackRun, type_: str, name: str) -> str:
    return run.one(type_, name).urn


@pytest.mark.parametrize("name", EXAMPLES)
def test_steps_wait_for_each_other_and_for_the_database(runs, name) -> None:
    run = runs[name]
    website = run.one(APP_STEP, "app-website")
    migrate = run.one(APP_STEP, "app-migrate")
    account = run.one(APP_STEP, "app-account")
    assert website.inputs["steps"] == ["website"]
    assert migrate.inputs["steps"][-2:] in (["migrate", "seed"], ["seed", "certificate"])
    assert account.inputs["steps"] == ["client", "tenant", "sync"]
    assert website.urn in migrate.dependencies
    assert migrate.urn in account.dependencies
    if name == "hotelsol":  # silo: the <uuid> user is made on the RDS instance by app-migrate
        assert migrate.inputs["steps"][0] == "database"
        assert _urn(run, RDS, "database") in migrate.dependencies
    else:  # pool: the pulumi-mysql user carries hyn's password, so it waits for the website
        assert _urn(run, MYSQL_GRANT, "database-grant") in migrate.dependencies
        user = run.one(MYSQL_USER, "database-user")
        assert website.urn in user.dependencies
        assert user.inputs["user"] == f"tenancy_{name}"
        assert user.inputs["plaintextPassword"] == hyn_password(
            STACK_SECRETS["appKey"], website.outputs["website_id"])


@pytest.mark.parametrize("name", EXAMPLES)
def test_secrets_reach_the_steps_only_as_secrets(runs, name) -> None:
    run = runs[name]
    for step in run.of_type(APP_STEP):
        assert "secrets" in step.secret_inputs, step.name
        plain = json.dumps(step.inputs["system"])
        assert STACK_SECRETS["appKey"] not in plain
    account = run.one(APP_STEP, "app-account")
    assert "account" in account.secret_inputs
    secrets = json.loads(account.inputs["secrets"])
    assert secrets["app_key"] == STACK_SECRETS["appKey"]
    assert secrets["system_password"] == STACK_SECRETS["appDatabasePassword"]
    assert len(secrets["token"]) == 50 and secrets["password_hash"].startswith("$2y$")
    for output in run.outputs.values():
        assert STACK_SECRETS["appKey"] not in json.dumps(output, default=str)


def test_the_silo_tenant_points_hyn_at_its_connection_and_outputs_the_entry(runs) -> None:
    run = runs["hotelsol"]
    account = json.loads(run.one(APP_STEP, "app-account").inputs["account"])
    assert account["managed_by_database_connection"] == "tenant_hotelsol"
    entry = run.outputs["appDatabaseConnection"]["tenant_hotelsol"]
    assert entry["host"].startswith("tenancy-hotelsol.") and entry["port"] == 3306
    assert entry["database"] == entry["username"] == "tenancy_hotelsol"
    assert "password" not in entry  # hyn sets it per website
    assert "appDatabaseConnection" not in runs["nandu"].outputs


@pytest.mark.parametrize(("name", "kept"), [("bodegaperez", True), ("nandu", False)])
def test_production_accounts_are_protected_and_retained(runs, name, kept) -> None:
    for step in ("app-website", "app-account"):
        r = runs[name].one(APP_STEP, step)
        assert (r.protect, r.retain_on_delete) == (kept, kept)


def test_missing_app_secrets_are_named_with_their_commands() -> None:
    secrets = {k: v for k, v in STACK_SECRETS.items() if k != "appKey"}
    run = run_example("nandu", secrets=secrets)
    assert run.error is not None
    assert "pulumi config set --secret --stack nandu appKey" in str(run.error)
    assert not any(r.type == APP_STEP for r in run.resources)


def test_a_catalog_edit_of_the_plans_limits_changes_the_account_step(tmp_path) -> None:
    """The account's rows name the plan, its limits come from the app's `plans` row: an edit
    of the limits in reseller.yaml must change the account step's inputs, or the engine never
    runs the sync that copies the row into the tenant's configuration (update())."""
    import shutil

    import yaml

    from tests.test_infra_program import EXAMPLES as SPEC_DIR

    spec_dir = tmp_path / "specs"
    shutil.copytree(SPEC_DIR, spec_dir)
    path = spec_dir / "reseller.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    (pyme,) = [p for p in data["plans"] if p["name"] == "pyme"]
    pyme["limit_documents"] += 500
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    before = run_example("bodegaperez")
    after = run_example("bodegaperez", spec_dir=spec_dir)
    assert after.error is None, after.error
    old, new = (r.one(APP_STEP, "app-account").inputs for r in (before, after))
    assert new["plan"]["limit_documents"] == old["plan"]["limit_documents"] + 500
    assert new["account"] == old["account"]  # the account's own rows do not change
