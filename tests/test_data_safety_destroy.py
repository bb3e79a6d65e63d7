"""Destroy order and unprotect, through the Automation API adapter with autospec fakes of
`pulumi.automation` (no CLI here): retained resources are unprotected first, the DNS records go
last, and a refused destroy runs no step at all."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from pulumi import automation as auto

from provisioner.orchestrate.automation import AutomationRunner
from provisioner.orchestrate.results import Step
from provisioner.orchestrate.teardown import DNS_TYPE, ProtectedResourceError
from tests.test_orchestrate_changes import commit, gitrepo  # noqa: F401  (fixture)

PREFIX = "urn:pulumi:bodegaperez::tenants::"
TENANT = f"{PREFIX}facturador:tenants:Tenant::bodegaperez"


def _res(kind: str, name: str, *, protect: bool = False, retain: bool = False,
         custom: bool = True, parent: str = TENANT) -> dict[str, Any]:
    return {"urn": f"{PREFIX}facturador:tenants:Tenant${kind}::{name}", "type": kind,
            "custom": custom, "protect": protect, "retainOnDelete": retain, "parent": parent}


def production_state() -> auto.Deployment:
    """What a production pool tenant's state holds (the program's options, tests/
    test_infra_program.py): data protected and retained, DNS and versions neither."""
    resources = [
        {"urn": f"{PREFIX}pulumi:pulumi:Stack::tenants-bodegaperez", "type": "pulumi:pulumi:Stack",
         "custom": False, "outputs": {"databaseName": "tenancy_bodegaperez"}},
        {"urn": TENANT, "type": "facturador:tenants:Tenant", "custom": False},
        _res("pulumi:providers:aws", "default_7_0_0", parent=""),
        _res("pulumi:providers:mysql", "shared-mysql"),
        _res(DNS_TYPE, "dns-a"), _res(DNS_TYPE, "dns-aaaa"),
        _res("random:index/randomPassword:RandomPassword", "database-password", protect=True,
             retain=True),
        _res("mysql:index/database:Database", "database", protect=True, retain=True),
        _res("mysql:index/user:User", "database-user", protect=True, retain=True),
        _res("mysql:index/grant:Grant", "database-grant"),
        _res("aws:secretsmanager/secret:Secret", "secret-database", protect=True, retain=True),
        _res("aws:secretsmanager/secretVersion:SecretVersion", "secret-database-version"),
    ]
    return auto.Deployment(version=3, deployment={"manifest": {}, "resources": resources})


class Stacks(dict[str, Any]):
    """The fake stacks made, by name; `initial` makes each one's state."""

    initial = staticmethod(production_state)


@pytest.fixture
def stacks(monkeypatch: pytest.MonkeyPatch) -> Stacks:
    made = Stacks()

    def create_or_select(name: str, workspace: Any) -> Any:
        stack = mock.create_autospec(auto.Stack, instance=True)
        state = {"now": made.initial()}
        calls: list[tuple[str, Any]] = []

        def export() -> auto.Deployment:
            calls.append(("export", None))
            return copy.deepcopy(state["now"])

        def import_(deployment: auto.Deployment) -> None:
            calls.append(("import", deployment))
            state["now"] = deployment

        def destroy(**kwargs: Any) -> Any:
            calls.append(("destroy", kwargs.get("target")))
            n = len(kwargs.get("target") or []) or 4
            return mock.Mock(summary=mock.Mock(resource_changes={"delete": n}))

        stack.workspace = workspace
        workspace.serialize_args_for_op.return_value = []
        stack.export_stack.side_effect = export
        stack.import_stack.side_effect = import_
        stack.destroy.side_effect = destroy
        stack.preview.side_effect = lambda **kw: calls.append(
            ("preview", workspace.serialize_args_for_op(name))) or mock.Mock(
            change_summary={"delete": 3})
        stack.up.side_effect = lambda **kw: calls.append(("up", None)) or mock.Mock(
            summary=mock.Mock(resource_changes={"create": 1}))
        stack.calls = calls
        stack.state = state
        made[name] = stack
        return stack

    monkeypatch.setattr(auto, "LocalWorkspace", mock.create_autospec(auto.LocalWorkspace))
    # destroy, a move and its preview only select an existing stack (only apply creates one)
    monkeypatch.setattr(auto.Stack, "select",
                        mock.create_autospec(auto.Stack.select, side_effect=create_or_select))
    return made


KMS = "awskms://alias/pulumi?region=us-east-1"


def _runner(tmp_path: Path) -> AutomationRunner:
    return AutomationRunner(tmp_path, plugins={}, secrets_provider=KMS)


def _noop(stack: str, step: Step) -> None:
    pass


def _by_name(state: auto.Deployment) -> dict[str, dict[str, Any]]:
    return {r["urn"].rsplit("::", 1)[-1]: r for r in state.deployment["resources"]}


def test_destroy_unprotects_retained_first_and_removes_dns_last(stacks: dict[str, Any],
                                                                tmp_path: Path) -> None:
    result = _runner(tmp_path).destroy("bodegaperez", _noop)
    assert result.ok and result.changes["delete"] == 6 + 4  # both phases counted
    stack = stacks["bodegaperez"]
    kinds = [k for k, _ in stack.calls]
    assert kinds == ["export", "import", "export", "destroy", "destroy"]
    imported = _by_name(stack.calls[1][1])
    # every retained resource unprotected, nothing else touched
    for name, r in imported.items():
        assert not r.get("protect"), name
        assert r.get("retainOnDelete", False) == (name in {
            "database-password", "database", "database-user", "secret-database"}), name
    first = stack.calls[3][1]
    assert first and all(DNS_TYPE not in urn and "pulumi:providers:" not in urn
                         for urn in first)
    assert {u.rsplit("::", 1)[-1] for u in first} == {
        "database-password", "database", "database-user", "database-grant", "secret-database",
        "secret-database-version"}
    assert stack.calls[4][1] is None  # then everything left: the DNS records among it


def test_a_protected_resource_that_is_not_retained_stops_the_destroy_before_any_step(
        stacks: Stacks, tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    real = production_state()
    _by_name(real)["dns-a"]["protect"] = True  # e.g. protected by hand
    stacks.initial = lambda: real  # type: ignore[method-assign]
    with pytest.raises(ProtectedResourceError, match="dns-a is protected and not retained"):
        runner.destroy("bodegaperez", _noop)
    assert [k for k, _ in stacks["bodegaperez"].calls] == ["export"]  # no import, no destroy


def test_unprotect_refusal_is_a_clear_error() -> None:
    from provisioner.orchestrate.teardown import unprotect_retained

    stack = mock.create_autospec(auto.Stack, instance=True)
    state = production_state()
    _by_name(state)["database-grant"]["protect"] = True
    stack.export_stack.return_value = state
    with pytest.raises(ProtectedResourceError, match="database-grant is protected and not "
                                                     "retained"):
        unprotect_retained(stack)
    stack.import_stack.assert_not_called()


def test_a_database_move_unprotects_then_ups(stacks: dict[str, Any], tmp_path: Path) -> None:
    result = _runner(tmp_path).move_database("bodegaperez", _noop)
    assert result.ok and result.operation == "up"
    assert [k for k, _ in stacks["bodegaperez"].calls] == ["export", "import", "up"]


def test_the_plan_of_a_move_previews_with_protect_ignored_and_changes_no_state(
        stacks: Stacks, tmp_path: Path) -> None:
    result = _runner(tmp_path).preview_move("bodegaperez", _noop)
    stack = stacks["bodegaperez"]
    assert result.ok and result.operation == "preview" and result.changes["delete"] == 3
    # the CLI got --ignore-protect for the preview only; no export or import: no state change
    assert stack.calls == [("preview", ["--ignore-protect"])]
    assert stack.workspace.serialize_args_for_op("bodegaperez") == []


# -- a database move found in the state, when no BASE is there to compare (--all) ---------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _state_check(**tenant_edits: Any) -> Any:
    import yaml

    from provisioner.orchestrate.state_moves import StateCheck

    tenant = yaml.safe_load((EXAMPLES / "tenants" / "bodegaperez.yaml").read_text())
    reseller = yaml.safe_load((EXAMPLES / "reseller.yaml").read_text())
    reseller.update(tenant_edits.pop("reseller", {}))
    return StateCheck({"bodegaperez": {**tenant, **tenant_edits}}, reseller)


@pytest.mark.parametrize(("edits", "new"), [
    ({"plan": "corporativo"}, "silo:tenancy_bodegaperez"),
    ({"reseller": {"database_prefix": "acme"}}, "pool:acme_bodegaperez"),
])
@pytest.mark.parametrize("operation", ["up", "preview"])
def test_a_move_the_state_shows_is_refused_before_the_engine_runs(
        stacks: Stacks, tmp_path: Path, edits: dict[str, Any], new: str, operation: str) -> None:
    runner = _runner(tmp_path)
    runner.state_check = _state_check(**edits)
    result = getattr(runner, operation)("bodegaperez", _noop)
    assert result.status == "blocked" and not result.ok and result.changes["create"] == 0
    assert new in (result.error or "") and "pool:tenancy_bodegaperez" in (result.error or "")
    assert "\n" not in (result.error or "")
    assert [k for k, _ in stacks["bodegaperez"].calls] == ["export"]  # no preview, no up


def test_the_spec_of_the_states_database_runs_as_usual(stacks: Stacks, tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    runner.state_check = _state_check()
    assert runner.up("bodegaperez", _noop).ok
    assert [k for k, _ in stacks["bodegaperez"].calls] == ["export", "up"]


def test_an_acknowledged_move_the_state_shows_runs_as_a_database_move(
        stacks: Stacks, tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    runner.state_check = _state_check(plan="corporativo",
                                      acknowledge_new_database="silo:tenancy_bodegaperez")
    result = runner.up("bodegaperez", _noop)
    assert result.ok and any("created EMPTY" in w for w in result.warnings), result
    assert [k for k, _ in stacks["bodegaperez"].calls] == ["export", "export", "import", "up"]


def test_a_stack_never_applied_has_no_database_in_its_state() -> None:
    from provisioner.orchestrate.state_moves import state_identity

    assert state_identity(production_state()) == "pool:tenancy_bodegaperez"
    assert state_identity(auto.Deployment(version=3, deployment={"resources": []})) is None
    both = production_state()
    both.deployment["resources"].append(_res("aws:rds/instance:Instance", "database-rds"))
    assert state_identity(both) is None  # a move half done by hand: not guessed


# -- the command ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(stacks: Stacks, monkeypatch: pytest.MonkeyPatch) -> Stacks:
    from provisioner.orchestrate import automation

    monkeypatch.setattr(automation, "require_pulumi_cli", lambda _project=None: "/usr/bin/pulumi")
    monkeypatch.setenv("PROVISIONER_SECRETS_PROVIDER", KMS)
    return stacks


def test_destroy_production_without_the_flag_refuses_before_any_step(
        gitrepo: Path, cli_env: dict[str, Any], run_cli: Any) -> None:  # noqa: F811
    code, out, _ = run_cli("--repo", gitrepo, "destroy", "bodegaperez", "--format", "json")
    assert code == 1 and cli_env == {}  # no stack was even selected
    assert "--allow-destroy-production" in json.loads(out)["results"][0]["error"]
    (gitrepo / "tenants" / "bodegaperez.yaml").unlink()
    commit(gitrepo, "remove")
    code, out, _ = run_cli("--repo", gitrepo, "destroy", "bodegaperez")
    assert code == 1 and cli_env == {}


def test_destroy_production_with_the_flag_keeps_the_data_and_dns_goes_last(
        gitrepo: Path, cli_env: dict[str, Any], run_cli: Any) -> None:  # noqa: F811
    code, out, err = run_cli("--repo", gitrepo, "destroy", "bodegaperez",
                             "--allow-destroy-production", "--format", "json")
    assert code == 0, out + err
    stack = cli_env["bodegaperez"]
    assert [k for k, _ in stack.calls] == ["export", "import", "export", "destroy", "destroy"]
    assert not any(r.get("protect") for r in stack.calls[1][1].deployment["resources"])
    warnings = " ".join(json.loads(out)["warnings"])
    assert "database, secrets and generated values are kept (retain_on_delete)" in warnings


def test_plan_all_refuses_a_tier_change_the_state_shows_without_previewing(
        gitrepo: Path, cli_env: Stacks, run_cli: Any) -> None:  # noqa: F811
    path = gitrepo / "tenants" / "bodegaperez.yaml"
    path.write_text(path.read_text().replace("plan: pyme", "plan: corporativo"))
    code, out, err = run_cli("--repo", gitrepo, "plan", "--all", "--stacks", "bodegaperez",
                             "--format", "json")
    assert code == 1, out + err
    (result,) = json.loads(out)["results"]
    assert result["status"] == "blocked" and "silo:tenancy_bodegaperez" in result["error"]
    assert [k for k, _ in cli_env["bodegaperez"].calls] == ["export"]


@pytest.mark.parametrize(("tenant", "production", "kept"), [
    ("pruebademo", False, "pruebademo: its database is kept (retain_on_delete)"),
    ("bodegaperez", True, "bodegaperez: its database, secrets and generated values are kept"),
    ("hotelsol", True, "hotelsol: its RDS instance tenancy-hotelsol, secrets and generated "
                       "values are kept (retain_on_delete) and no longer managed by the stack; "
                       "the instance keeps running (and billing) until it is deleted by hand"),
])
def test_the_destroy_message_names_what_is_kept_and_a_silo_instance_left_running(
        tenant: str, production: bool, kept: str) -> None:
    from provisioner.cli.destroy import kept_message, silo_instance

    examples = Path(__file__).resolve().parent.parent / "examples"
    text = (examples / "tenants" / f"{tenant}.yaml").read_text(encoding="utf-8")
    message = kept_message(tenant, production, silo_instance(examples, text))
    assert message.startswith(kept), message
    assert ("keeps running" in message) is (tenant == "hotelsol")


def test_an_unreadable_spec_names_no_silo_instance(tmp_path: Path) -> None:
    from provisioner.cli.destroy import silo_instance

    (tmp_path / "reseller.yaml").write_text("base_domain: x.example.pe\n", encoding="utf-8")
    assert silo_instance(tmp_path, None) is None
    assert silo_instance(tmp_path, "plan: [not, a, name]\n") is None
    assert silo_instance(tmp_path / "missing", "subdomain: a\nplan: corporativo\n") is None
