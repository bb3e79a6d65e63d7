"""`provisioner platform`: explain without a cloud, and the guard that keeps `up` from
replacing or deleting what tenants and CI depend on (against a stand-in runner: the engine
runs are in tests/test_engine_platform.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provisioner.cli import main
from provisioner.errors import UsageError
from provisioner.orchestrate import platform_run
from provisioner.orchestrate.platform_run import (
    PlatformChangeRefused,
    engine_refusals,
    platform_project,
    refusals,
    run_platform,
)
from provisioner.orchestrate.results import StackResult, Step
from provisioner.platform_outputs import ALL_OUTPUTS
from provisioner.platform_stack.protected import PROTECTED

ROOT = Path(__file__).resolve().parent.parent


def test_explain_needs_no_cloud_and_names_its_placeholders(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["platform", "explain", "staging", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["stack"] == "staging"
    assert tuple(data["outputs"]) == ALL_OUTPUTS
    assert "githubRepository" in data["placeholders"]
    protected = {r["name"] for r in data["resources"] if r["protect"]}
    assert protected == set(PROTECTED)
    bucket = next(r for r in data["resources"] if r["type"] == "aws:s3/bucket:Bucket")
    assert bucket["properties"]["bucket"] == "tenancy-staging-pulumi-state"
    version = next(r for r in data["resources"]
                   if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion")
    assert version["properties"]["secretString"] == "********"  # the admin password never


def test_explain_reads_the_stack_file_of_the_repository(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "reseller.yaml").write_text(
        "base_domain: facturador.acme.pe\ndatabase_prefix: acme\n", encoding="utf-8")
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "Pulumi.production.yaml").write_text(
        "config:\n  platform:githubRepository: acme/tenants\n  platform:vpcId: "
        "vpc-0123456789abcdef0\n  platform:subnetIds: [subnet-0123456789abcdef0, "
        "subnet-0123456789abcdef1]\n  platform:loadBalancerDnsName: alb.example.com\n"
        "  platform:loadBalancerZoneId: Z35SXDOTRQ7X7K\n"
        "  platform:hostedZoneId: Z0123456789EXAMPLE\n", encoding="utf-8")
    assert main(["--repo", str(tmp_path), "platform", "explain", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["placeholders"] == []
    assert data["outputs"]["hostedZoneId"] == "Z0123456789EXAMPLE"  # adopted
    zone = next(r for r in data["resources"] if r["type"] == "aws:route53/zone:Zone")
    assert zone["properties"]["name"] == "facturador.acme.pe"
    role = next(r for r in data["resources"] if r["name"] == "apply-role")
    trust = json.loads(role["properties"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"] == "repo:acme/tenants:environment:apply"


def test_explain_of_bad_settings_is_one_message_and_exit_1(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["platform", "explain", "Not_An_Env"]) == 1
    err = capsys.readouterr().err
    assert "name the stack after the environment" in err and "Traceback" not in err


def test_preview_and_up_need_the_platform_project(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="init --platform"):
        platform_project(tmp_path)
    assert platform_project(ROOT) == ROOT / "platform"


class FakeRunner:
    """A runner whose preview reports the given steps (or raises), recording what ran."""

    def __init__(self, steps: list[Step] | None = None, error: Exception | None = None):
        self.steps, self.error, self.calls = steps or [], error, []

    def preview(self, stack: str, on_step: Any) -> StackResult:
        self.calls.append("preview")
        if self.error is not None:
            raise self.error
        return StackResult(stack, "preview", True, steps=self.steps)

    def up(self, stack: str, on_step: Any) -> StackResult:
        self.calls.append("up")
        return StackResult(stack, "up", True, steps=self.steps)

    def stack(self, stack: str) -> Any:
        class Outputs:
            def outputs(self) -> dict[str, Any]:
                from types import SimpleNamespace
                return {"hostedZoneId": SimpleNamespace(value="Z1", secret=False)}
        return Outputs()


@pytest.mark.parametrize("name", sorted(PROTECTED))
@pytest.mark.parametrize("op", ["replace", "delete"])
def test_a_change_replacing_a_protected_resource_is_refused_before_the_up(
        name: str, op: str) -> None:
    runner = FakeRunner([Step("update", "aws:iam/role:Role", "plan-role"),
                         Step(op, "aws:any/type:Type", name)])
    with pytest.raises(PlatformChangeRefused) as refused:
        run_platform(runner, "production", lambda *_: None)
    assert runner.calls == ["preview"]  # nothing applied
    text = str(refused.value)
    assert f"{name}: this change would {op} it" in text and PROTECTED[name] in text


def test_other_changes_go_through_and_return_the_outputs() -> None:
    runner = FakeRunner([Step("replace", "aws:iam/rolePolicy:RolePolicy", "plan-role-policy"),
                         Step("update", "aws:rds/instance:Instance", "shared-mysql")])
    outcome = run_platform(runner, "production", lambda *_: None)
    assert runner.calls == ["preview", "up"]
    assert outcome.outputs == {"hostedZoneId": "Z1"}
    assert run_platform(FakeRunner(), "production", lambda *_: None,
                        preview_only=True).up is None


def test_the_engines_own_refusal_gets_the_same_advice() -> None:
    error = RuntimeError(
        'error: unable to replace resource "urn:pulumi:production::platform::'
        'facturador:platform:Platform$aws:s3/bucket:Bucket::state-bucket"\nas it is '
        "currently marked for protection. To unprotect the resource, ...")
    runner = FakeRunner(error=error)
    with pytest.raises(PlatformChangeRefused, match="state-bucket: this change would replace"):
        run_platform(runner, "production", lambda *_: None)
    with pytest.raises(RuntimeError, match="network"):  # any other failure is not disguised
        run_platform(FakeRunner(error=RuntimeError("network down")), "p", lambda *_: None)
    assert engine_refusals("something else") == []


def test_refusals_name_only_protected_resources() -> None:
    assert refusals([Step("replace", "aws:kms/alias:Alias", "state-key-alias")]) == []
    assert len(refusals([Step("replace", "aws:kms/key:Key", "state-key"),
                         Step("delete", "aws:kms/key:Key", "tenant-secrets-key")])) == 2
    assert set(PROTECTED) <= set(platform_run._protected())


def test_local_network_is_made_once_in_moto() -> None:
    import requests

    from provisioner.orchestrate.local import local_network, local_platform_config, moto_server

    with moto_server() as url:
        try:
            vpc, subnets = local_network(url)
            assert local_network(url) == (vpc, subnets)  # found again, not made twice
            config, paths = local_platform_config(url, "acme/tenants")
        finally:  # moto's backends are this process's globals: leave none to later tests
            requests.post(f"{url}/moto-api/reset", timeout=30)
    assert config["platform:vpcId"] == (vpc, False)
    assert json.loads(config["platform:subnetIds"][0]) == subnets and len(subnets) == 2
    assert config["platform:githubRepository"] == ("acme/tenants", False)
    assert {p.rsplit(".", 1)[1] for p in paths} >= {"s3", "iam", "ec2", "kms", "rds"}
