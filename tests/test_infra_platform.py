"""Where platform values come from: stack config, reseller.yaml, or the platform stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.explain.mock_runtime import (
    DEFAULT_PLATFORM_OUTPUTS,
    StackRun,
    TenantMocks,
    run_stack,
)
from provisioner.infra.config import PLATFORM_OUTPUTS
from provisioner.infra.database import admin_password_from
from provisioner.infra.errors import StackError
from provisioner.infra.platform_refs import SOURCES
from provisioner.infra.program import main

SECRETS = {"solPassword": "sol-1", "certificate": "pem-1", "certificatePassword": "cert-1",
           "smtpPassword": "smtp-1", "adminPassword": "admin-1",
           "appKey": "base64:a2V5LTE=", "appDatabasePassword": "appdb-1"}
STACK_REF = "pulumi:pulumi:StackReference"


def edit_platform(repo: Path, **platform: Any) -> None:
    path = repo / "reseller.yaml"
    data = yaml.safe_load(path.read_text())
    data["platform"] = platform
    path.write_text(yaml.safe_dump(data))


def run(repo: Path, stack: str = "pruebademo", outputs: dict[str, Any] | None = None,
        **config: str) -> StackRun:
    secrets = dict(SECRETS)
    if "sharedDatabaseAdminPassword" in config:
        secrets["sharedDatabaseAdminPassword"] = config.pop("sharedDatabaseAdminPassword")
    return run_stack(stack, main, config={"specDir": str(repo), **config}, secrets=secrets,
                     mocks=TenantMocks(platform_outputs=outputs))


def test_every_platform_value_has_a_stack_output_name() -> None:
    assert {s.output for s in SOURCES.values()} == set(PLATFORM_OUTPUTS)
    assert set(DEFAULT_PLATFORM_OUTPUTS) == set(PLATFORM_OUTPUTS)


def test_values_absent_from_reseller_yaml_come_from_the_platform_stack(repo: Path) -> None:
    edit_platform(repo, stack_reference="acme/platform/prod", ipv6=False)
    result = run(repo)
    assert result.error is None, result.error
    ref = result.one(STACK_REF)
    assert ref.read and ref.inputs["name"] == "acme/platform/prod"
    assert ref.parent_name == "pruebademo"
    record = result.one("aws:route53/record:Record", "dns-a")
    assert record.inputs["zoneId"] == "ZPLATFORMZONE1"
    assert record.inputs["aliases"][0]["name"] == DEFAULT_PLATFORM_OUTPUTS["loadBalancerDnsName"]
    assert not result.of_type("aws:route53/record:Record")[1:]  # no AAAA without ipv6
    assert result.outputs["databaseEndpoint"] == (
        f"{DEFAULT_PLATFORM_OUTPUTS['sharedDatabaseHost']}:3306")
    [read] = [i for i in result.invokes if i.token.endswith("getSecretVersion")]
    assert read.args["secretId"] == DEFAULT_PLATFORM_OUTPUTS["sharedDatabaseAdminSecretArn"]


def test_silo_network_comes_from_the_platform_stack(repo: Path) -> None:
    edit_platform(repo, stack_reference="platform")
    result = run(repo, "hotelsol")
    assert result.error is None, result.error
    db = result.one("aws:rds/instance:Instance").inputs
    assert db["dbSubnetGroupName"] == "platform-db"
    assert db["vpcSecurityGroupIds"] == ["sg-0123456789abcdef0"]
    assert db["kmsKeyId"] == DEFAULT_PLATFORM_OUTPUTS["kmsKeyId"]


def test_a_value_in_neither_place_fails_naming_both(repo: Path) -> None:
    edit_platform(repo, hosted_zone_id="Z0123456789EXAMPLE")
    result = run(repo)
    assert isinstance(result.error, StackError)
    message = str(result.error)
    assert "platform.load_balancer.dns_name" in message and "platform.kms_key_id" in message
    assert "platform.hosted_zone_id" not in message
    assert "stack_reference" in message and not result.managed


def test_a_platform_stack_without_the_output_fails_clearly(repo: Path) -> None:
    edit_platform(repo, stack_reference="platform")
    outputs = {k: v for k, v in DEFAULT_PLATFORM_OUTPUTS.items() if k != "hostedZoneId"}
    result = run(repo, outputs=outputs)
    assert isinstance(result.error, StackError)
    assert "no output 'hostedZoneId'" in str(result.error)
    assert "platform.hosted_zone_id" in str(result.error)


def test_stack_config_overrides_the_platform_for_local_mode(repo: Path) -> None:
    result = run(repo, hostedZoneId="ZLOCAL123", kmsKeyId="alias/provisioner-local",
                 sharedDatabaseEndpoint="127.0.0.1:3307", sharedDatabaseAdminUser="root",
                 sharedDatabaseAdminPassword="local-admin-pw")
    assert result.error is None, result.error
    assert result.one("aws:route53/record:Record", "dns-a").inputs["zoneId"] == "ZLOCAL123"
    provider = result.one("pulumi:providers:mysql")
    assert provider.inputs["endpoint"] == "127.0.0.1:3307"
    assert provider.inputs["username"] == "root"
    assert provider.inputs["password"] == "local-admin-pw" and "password" in provider.secret_inputs
    assert not [i for i in result.invokes if i.token.endswith("getSecretVersion")]
    assert {s.inputs["kmsKeyId"] for s in result.of_type("aws:secretsmanager/secret:Secret")} == {
        "alias/provisioner-local"}


def test_a_malformed_endpoint_is_rejected(repo: Path) -> None:
    result = run(repo, sharedDatabaseEndpoint="localhost")
    assert isinstance(result.error, StackError)
    assert "expected HOST:PORT" in str(result.error)


def test_rds_gets_a_key_arn_even_when_the_platform_names_an_alias(repo: Path) -> None:
    result = run(repo, "hotelsol", kmsKeyId="alias/platform")
    assert result.error is None, result.error
    assert result.one("aws:rds/instance:Instance").inputs["kmsKeyId"].startswith(
        "arn:aws:kms:us-east-1:123456789012:key/")
    assert [i.args["keyId"] for i in result.invokes if i.token == "aws:kms/getKey:getKey"] == [
        "alias/platform"]


@pytest.mark.parametrize(("secret", "password"), [
    ("plain-pw", "plain-pw"),
    (json.dumps({"username": "admin", "password": "json-pw"}), "json-pw"),
])
def test_the_shared_admin_secret_may_be_plain_or_json(secret: str, password: str) -> None:
    assert admin_password_from(secret) == password


@pytest.mark.parametrize("secret", ["", json.dumps({"username": "admin"})])
def test_an_unusable_shared_admin_secret_fails(secret: str) -> None:
    with pytest.raises(StackError, match="admin secret"):
        admin_password_from(secret)


def test_a_failed_run_does_not_leak_into_the_next(repo: Path, tmp_path: Path) -> None:
    """Runs share a process (tests, explain, the bench): an error raised inside an apply of
    one run must not surface in the next."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(repo, broken)
    edit_platform(broken, stack_reference="platform")
    outputs = {k: v for k, v in DEFAULT_PLATFORM_OUTPUTS.items() if k != "hostedZoneId"}
    assert run(broken, outputs=outputs).error is not None
    assert run(repo).error is None


def test_iam_plan_role_preview_reads_no_secret_value(repo: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """pr.yml previews with PROVISIONER_PREVIEW_SECRET_VALUES=none (the plan role has no
    secretsmanager:GetSecretValue): no getSecretVersion invoke, the provider's password
    unknown and secret; `up` and drift's refresh still read it."""
    from provisioner.infra.database import PREVIEW_SECRET_VALUES_ENV

    edit_platform(repo, stack_reference="acme/platform/prod")
    monkeypatch.setenv(PREVIEW_SECRET_VALUES_ENV, "none")
    secrets = dict(SECRETS)
    preview = run_stack("pruebademo", main, config={"specDir": str(repo)}, secrets=secrets,
                        mocks=TenantMocks(), preview=True)
    assert preview.error is None, preview.error
    assert not [i for i in preview.invokes if i.token.endswith("getSecretVersion")]
    provider = preview.one("pulumi:providers:mysql")
    from pulumi.output import Unknown

    assert isinstance(provider.inputs["password"], Unknown)
    assert provider.inputs["endpoint"]  # the rest of the provider is known
    applied = run_stack("pruebademo", main, config={"specDir": str(repo)}, secrets=secrets,
                        mocks=TenantMocks(), preview=False)  # an `up` under the apply role
    assert [i for i in applied.invokes if i.token.endswith("getSecretVersion")]
