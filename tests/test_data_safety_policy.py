"""No surprise data loss: a change that would give a tenant a new database (tier, prefix,
subdomain) is blocked at plan and apply in every environment unless the spec names the new
database; an acknowledged one says what happens to the data and runs as a database move."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.orchestrate.changes import ChangeSet, StackChange
from provisioner.orchestrate.policy import (
    ACK_FIELD,
    MOVE_OPERATION,
    PREVIEW_MOVE_OPERATION,
    database_identity,
    move_for,
    review,
)
from provisioner.orchestrate.results import StackResult, StepCallback
from tests.test_orchestrate_changes import commit, gitrepo  # noqa: F401  (fixture)
from tests.test_orchestrate_run import FakeRunner, fake  # noqa: F401  (fixture)


class MovingRunner(FakeRunner):
    def move_database(self, stack: str, on_step: StepCallback) -> StackResult:
        return self._op(MOVE_OPERATION, stack, on_step)

    def preview_move(self, stack: str, on_step: StepCallback) -> StackResult:
        return self._op(PREVIEW_MOVE_OPERATION, stack, on_step)


@pytest.fixture
def runner(fake: FakeRunner, monkeypatch: pytest.MonkeyPatch) -> FakeRunner:  # noqa: F811
    fake.__class__ = MovingRunner
    return fake


def _set(repo: Path, name: str, **values: Any) -> None:
    path = repo / "tenants" / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    for key, value in values.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


# -- the rule, over every combination ----------------------------------------------------------

TIERS = {"emprendedor": "pool", "corporativo": "silo"}


@settings(max_examples=200, deadline=None)
@given(old_plan=st.sampled_from(sorted(TIERS)), new_plan=st.sampled_from(sorted(TIERS)),
       old_prefix=st.sampled_from(["tenancy", "acme"]),
       new_prefix=st.sampled_from(["tenancy", "acme"]),
       old_sub=st.sampled_from(["shop", "tienda"]), new_sub=st.sampled_from(["shop", "tienda"]),
       env=st.sampled_from(["demo", "production", "internal"]),
       ack=st.one_of(st.none(), st.sampled_from(["pool", "silo"]).flatmap(
           lambda t: st.sampled_from([f"{t}:tenancy_shop", f"{t}:acme_tienda",
                                      f"{t}:tenancy_tienda", f"{t}:acme_shop"]))))
def test_blocked_exactly_when_the_database_changes_and_is_not_named(
        old_plan: str, new_plan: str, old_prefix: str, new_prefix: str, old_sub: str,
        new_sub: str, env: str, ack: str | None) -> None:
    old = {"subdomain": old_sub, "plan": old_plan, "ruc": "20100000001",
           "soap": {"environment": env}}
    new = {**old, "subdomain": new_sub, "plan": new_plan, **({ACK_FIELD: ack} if ack else {})}
    new_id = f"{TIERS[new_plan]}:{new_prefix}_{new_sub}"
    changed = (TIERS[old_plan], old_prefix, old_sub) != (TIERS[new_plan], new_prefix, new_sub)
    move = move_for(new_sub, old, new, {"database_prefix": old_prefix},
                    {"database_prefix": new_prefix})
    assert (move is not None) is changed
    if move is None:
        return
    assert move.new == new_id and move.acknowledged is (ack == new_id)
    change = StackChange(new_sub, "up", "test", new_text=yaml.safe_dump(new))
    checked = review(ChangeSet("base", "HEAD", [change]), allow_destroy_production=True,
                     operation="preview", moves={new_sub: move})
    if ack == new_id:
        assert [c.stack for c in checked.runnable] == [new_sub]
        assert "EMPTY" in checked.warnings[new_sub][0]
    else:
        assert not checked.runnable and checked.blocked[0].status == "blocked"
        assert f"{ACK_FIELD}: {new_id}" in (checked.blocked[0].error or "")


def test_identity_follows_the_reseller_catalog() -> None:
    tenant = {"subdomain": "Shop", "plan": "pyme"}
    assert database_identity(tenant, {}) == "pool:tenancy_shop"
    silo_pyme = {"database_prefix": "acme", "plans": [
        {"name": "pyme", "label": "Pyme", "pricing": 1, "tier": "silo"}]}
    assert database_identity(tenant, silo_pyme) == "silo:acme_shop"
    assert database_identity({"subdomain": "x", "plan": "nosuch"}, {}) is None


# -- plan and apply on real git histories -------------------------------------------------------


def test_tier_change_is_blocked_in_plan_for_a_demo_tenant_and_said_why(
        gitrepo: Path, runner: FakeRunner, run_cli: Any, tmp_path: Path) -> None:  # noqa: F811
    _set(gitrepo, "nandu", plan="corporativo")
    commit(gitrepo, "nandu to silo")
    comment = tmp_path / "c.md"
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--comment-file",
                           comment)
    assert code == 1 and runner.calls == []
    text = comment.read_text()
    for where in (out, text):
        assert "pool:tenancy_nandu" in where and "silo:tenancy_nandu" in where
        assert f"{ACK_FIELD}: silo:tenancy_nandu" in where
    code, _, _ = run_cli("--repo", gitrepo, "apply", "--base", "base")
    assert code == 1 and runner.calls == []


def test_a_wrong_acknowledgement_does_not_count_the_right_one_moves(
        gitrepo: Path, runner: FakeRunner, run_cli: Any, tmp_path: Path) -> None:  # noqa: F811
    _set(gitrepo, "hotelsol", plan="pyme", acknowledge_new_database="silo:tenancy_hotelsol")
    commit(gitrepo, "hotelsol to pool, stale ack")
    code, out, _ = run_cli("--repo", gitrepo, "apply", "--base", "base")
    assert code == 1 and runner.calls == []
    assert f"{ACK_FIELD}: pool:tenancy_hotelsol" in out
    _set(gitrepo, "hotelsol", acknowledge_new_database="pool:tenancy_hotelsol")
    commit(gitrepo, "ack")
    comment = tmp_path / "c.md"
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--comment-file",
                           comment)
    assert code == 0 and runner.calls == [(PREVIEW_MOVE_OPERATION, "hotelsol")]
    assert "EMPTY" in comment.read_text() and "retain_on_delete" in comment.read_text()
    runner.calls = []
    code, out, _ = run_cli("--repo", gitrepo, "apply", "--base", "base", "--format", "json")
    assert code == 0 and runner.calls == [(MOVE_OPERATION, "hotelsol")]
    assert any("EMPTY" in w for w in json.loads(out)["warnings"])


def test_a_prefix_change_blocks_every_tenant(
        gitrepo: Path, runner: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    path = gitrepo / "reseller.yaml"
    path.write_text(path.read_text().replace("database_prefix: tenancy",
                                             "database_prefix: acme"))
    commit(gitrepo, "prefix")
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--format", "json")
    data = json.loads(out)
    assert code == 1 and runner.calls == []
    blocked = {r["stack"]: r["error"] for r in data["results"] if r["status"] == "blocked"}
    assert set(blocked) == {"bodegaperez", "contaapi", "ferreteriaandina", "hotelsol", "nandu",
                            "pruebademo"}
    assert "database_prefix tenancy -> acme" in blocked["nandu"]
    assert f"{ACK_FIELD}: silo:acme_hotelsol" in blocked["hotelsol"]


def test_a_subdomain_rename_holds_the_old_stacks_destroy_until_acknowledged(
        gitrepo: Path, runner: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    old = gitrepo / "tenants" / "nandu.yaml"
    text = old.read_text().replace("subdomain: nandu", "subdomain: nandu2")
    old.unlink()
    (gitrepo / "tenants" / "nandu2.yaml").write_text(text)
    commit(gitrepo, "rename")
    code, out, _ = run_cli("--repo", gitrepo, "apply", "--base", "base", "--format", "json")
    status = {r["stack"]: r["status"] for r in json.loads(out)["results"]}
    assert code == 1 and runner.calls == []
    assert status == {"nandu2": "blocked", "nandu": "blocked"}
    _set(gitrepo, "nandu2", acknowledge_new_database="pool:tenancy_nandu2")
    commit(gitrepo, "ack")
    code, out, _ = run_cli("--repo", gitrepo, "apply", "--base", "base", "--format", "json")
    assert code == 0
    assert sorted(runner.calls) == [("destroy", "nandu"), (MOVE_OPERATION, "nandu2")]
    warnings = " ".join(json.loads(out)["warnings"])
    assert re.search(r"pool:tenancy_nandu to pool:tenancy_nandu2 \(subdomain nandu -> nandu2\)",
                     warnings)


def test_other_changes_are_not_moves(
        gitrepo: Path, runner: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    _set(gitrepo, "nandu", plan="pyme", trade_name="Otro")  # pool to pool
    _set(gitrepo, "hotelsol", acknowledge_new_database="silo:tenancy_hotelsol")  # inert ack
    commit(gitrepo, "edits")
    code, _, _ = run_cli("--repo", gitrepo, "apply", "--base", "base")
    assert code == 0 and sorted(runner.calls) == [("up", "hotelsol"), ("up", "nandu")]


def test_the_acknowledgement_is_validated(repo: Path, run_cli: Any) -> None:
    _set(repo, "nandu", acknowledge_new_database="yes please")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 1
    assert re.search(r"tenants/nandu\.yaml:\d+:\d+: acknowledge_new_database", err)


def test_a_production_rename_can_keep_the_old_tenant_serving(
        gitrepo: Path, runner: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    """The documented 'new tenant plus the retained old one' path."""
    old = gitrepo / "tenants" / "bodegaperez.yaml"
    text = old.read_text().replace("subdomain: bodegaperez", "subdomain: bodega")
    old.unlink()
    (gitrepo / "tenants" / "bodega.yaml").write_text(
        text + f"{ACK_FIELD}: pool:tenancy_bodega\n")
    commit(gitrepo, "rename, acknowledged")
    code, out, _ = run_cli("--repo", gitrepo, "apply", "--base", "base", "--format", "json")
    status = {r["stack"]: r["status"] for r in json.loads(out)["results"]}
    assert code == 1 and status == {"bodega": "ok", "bodegaperez": "blocked"}
    assert runner.calls == [(MOVE_OPERATION, "bodega")]
    runner.calls = []
    code, _, _ = run_cli("--repo", gitrepo, "destroy", "bodegaperez")
    assert code == 1 and runner.calls == []
    code, _, _ = run_cli("--repo", gitrepo, "destroy", "bodegaperez",
                         "--allow-destroy-production")
    assert code == 0 and runner.calls == [("destroy", "bodegaperez")]


def test_a_catalog_edit_that_changes_a_plans_tier_is_a_move(
        gitrepo: Path, runner: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    path = gitrepo / "reseller.yaml"
    path.write_text(path.read_text().replace("    establishments_limit: 3\n",
                                             "    establishments_limit: 3\n    tier: silo\n"))
    commit(gitrepo, "pyme becomes silo")
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--format", "json")
    on_pyme = {p.stem for p in (gitrepo / "tenants").glob("*.yaml")
               if "plan: pyme" in p.read_text()}
    blocked = {r["stack"] for r in json.loads(out)["results"] if r["status"] == "blocked"}
    assert on_pyme and code == 1 and blocked == on_pyme and runner.calls == []


def test_a_replacement_for_any_other_reason_is_refused_and_explained(
        gitrepo: Path, runner: FakeRunner, run_cli: Any,  # noqa: F811
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new KMS key would replace every silo instance (RDS kms_key_id is ForceNew): not a
    database move by name, so the engine's protect refuses it (the database is protected in
    every environment) and the plan says what that means."""
    engine = ('error: unable to replace resource "urn:pulumi:hotelsol::tenants::facturador:'
              'tenants:Tenant$aws:rds/instance:Instance::database"\nas it is currently marked '
              "for protection. To unprotect the resource, remove the `protect` flag")

    def preview(stack: str, on_step: StepCallback) -> StackResult:
        runner.calls.append(("preview", stack))
        if stack == "hotelsol":
            raise RuntimeError(engine)
        return StackResult(stack, "preview")

    monkeypatch.setattr(runner, "preview", preview)
    path = gitrepo / "reseller.yaml"
    path.write_text(path.read_text().replace("1234abcd-12ab-34cd-56ef-1234567890ab",
                                             "9999abcd-12ab-34cd-56ef-1234567890ab"))
    commit(gitrepo, "new KMS key")
    comment = tmp_path / "c.md"
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--comment-file",
                           comment, "--format", "json")
    assert code == 1 and len(runner.calls) == 6  # a platform change: every tenant previewed
    warnings = json.loads(out)["warnings"]
    assert any(w.startswith("hotelsol: Pulumi refused to replace or delete a protected")
               for w in warnings)
    assert "docs/data-safety.md" in comment.read_text()


def test_a_platform_change_moves_nothing(
        gitrepo: Path, runner: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    (gitrepo / "tenant_templates" / "tenant.env.j2").write_text("X=2\n")
    commit(gitrepo, "template")
    code, _, _ = run_cli("--repo", gitrepo, "apply", "--base", "base")
    assert code == 0 and {op for op, _ in runner.calls} == {"up"} and len(runner.calls) == 6
