"""The platform stack on the real Pulumi engine (.engine/bin/pulumi, built by scripts/setup.sh)
with the stand-in aws plugin on moto (tests/engine_plugins): created from nothing by
`provisioner platform up`, then a silo tenant applied against its outputs by stack reference
alone, then a second run of both that changes nothing, and a change that would replace the
state bucket refused before anything changes. Settings are read back through moto's APIs.
The tests run in order, each on the state the one before left."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner import iam_policy
from provisioner.orchestrate.local import client, local_network, moto_server
from provisioner.platform_outputs import ALL_OUTPUTS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / ".engine"
PASSPHRASE = "engine-platform-passphrase-51c2"
TENANT = "hotelsol"  # a silo tenant: every platform value it needs comes from the stack
ENV = "production"
REPO = "acme/tenants"
REFERENCE = f"organization/platform/{ENV}"
BASE_DOMAIN = "facturador.example.pe"


@dataclass
class PlatformWorld:
    base: Path
    repo: Path
    moto: str
    env: dict[str, str]
    vpc: str
    subnets: list[str]

    def provisioner(self, *args: str) -> tuple[int, dict[str, Any], str]:
        proc = subprocess.run([sys.executable, "-m", "provisioner", "--repo", str(self.repo),
                               *args, "--format", "json"], env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=900)
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            report = {}
        return proc.returncode, report, proc.stdout[-3000:] + proc.stderr[-4000:]

    def pulumi(self, *args: str, cwd: Path | None = None, input: str | None = None
               ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(ENGINE / "bin" / "pulumi"), *args, "--non-interactive"],
                              cwd=cwd or self.repo, env={**os.environ, **self.env},
                              input=input, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc


def _platform_settings(world_vpc: str, subnets: list[str], **extra: Any) -> str:
    config = {"platform:githubRepository": REPO, "platform:vpcId": world_vpc,
              "platform:subnetIds": subnets,
              "platform:loadBalancerDnsName": "facturador-alb-123456.us-east-1.elb.amazonaws.com",
              "platform:loadBalancerZoneId": "Z35SXDOTRQ7X7K",
              "platform:databaseClientCidrs": ["10.77.0.0/16"],
              "aws:region": "us-east-1", "aws:skipCredentialsValidation": True,
              "aws:skipRequestingAccountId": True, "aws:s3UsePathStyle": True,
              **{f"platform:{k}": v for k, v in extra.items()}}
    return yaml.safe_dump({"config": config}, sort_keys=False)


@pytest.fixture(scope="module")
def world(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformWorld]:
    from tests.engine_plugins import install

    base = tmp_path_factory.mktemp("platform")
    with moto_server() as moto:
        vpc, subnets = local_network(moto)
        repo = base / "repo"
        (repo / "tenants").mkdir(parents=True)
        shutil.copy2(ROOT / "examples" / "tenants" / f"{TENANT}.yaml", repo / "tenants")
        reseller = yaml.safe_load((ROOT / "examples" / "reseller.yaml").read_text("utf-8"))
        reseller.pop("app", None)  # no app databases here: the platform is what is tested
        reseller["platform"] = {"region": "us-east-1", "stack_reference": REFERENCE}
        (repo / "reseller.yaml").write_text(yaml.safe_dump(reseller, sort_keys=False,
                                                           allow_unicode=True), "utf-8")
        runtime = {"name": "python", "options": {"toolchain": "pip",
                                                 "virtualenv": str(ROOT / ".venv")}}
        (repo / "Pulumi.yaml").write_text(yaml.safe_dump({
            "name": "tenants", "runtime": runtime, "main": str(ROOT / "infra")}), "utf-8")
        (repo / "platform").mkdir()
        (repo / "platform" / "Pulumi.yaml").write_text(yaml.safe_dump({
            "name": "platform", "runtime": runtime, "main": str(ROOT / "platform")}), "utf-8")
        (repo / "platform" / f"Pulumi.{ENV}.yaml").write_text(
            _platform_settings(vpc, subnets), "utf-8")
        plugins = install(base / "plugins-bin")
        (base / "state").mkdir()
        env = {
            "PATH": f"{plugins}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "PULUMI_HOME": str(base / "pulumi-home"),
            "PULUMI_BACKEND_URL": f"file://{base / 'state'}",
            "PROVISIONER_SECRETS_PROVIDER": "passphrase",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PROVISIONER_ENGINE_DIR": str(ENGINE),
            "PULUMI_SKIP_UPDATE_CHECK": "1",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "PROVISIONER_DEBUG": os.environ.get("PROVISIONER_DEBUG", ""),
        }
        try:
            yield PlatformWorld(base, repo, moto, env, vpc, subnets)
        finally:  # moto's backends are this process's globals: leave none to later tests
            import requests

            requests.post(f"{moto}/moto-api/reset", timeout=30)


@pytest.fixture(scope="module")
def outputs() -> dict[str, Any]:
    return {}


def test_platform_is_created_from_nothing(world: PlatformWorld,
                                          outputs: dict[str, Any]) -> None:
    code, report, text = world.provisioner("platform", "up", ENV)
    assert code == 0, text
    assert "Failed to parse engine event" not in text  # progress took every event
    (preview, up) = report["results"]
    assert preview["operation"] == "preview" and up["operation"] == "up"
    assert up["changes"]["create"] >= 25 and up["changes"]["replace"] == 0, up
    assert set(report["outputs"]) == set(ALL_OUTPUTS)
    outputs.update(report["outputs"])

    s3 = client("s3", world.moto)
    bucket = f"tenancy-{ENV}-pulumi-state"
    assert outputs["backendUrl"] == f"s3://{bucket}?region=us-east-1"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                     "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)[
        "ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    kms = client("kms", world.moto)
    roles = {r.name: outputs[f"{r.name}RoleArn"] for r in iam_policy.ROLES}
    state_key = rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    for key in (state_key, outputs["kmsKeyId"]):
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
        key_policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
        principals = {s["Principal"]["AWS"] for s in key_policy["Statement"]}
        assert set(roles.values()) <= principals
        assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True

    iam = client("iam", world.moto)
    for role in iam_policy.ROLES:
        got = iam.get_role(RoleName=f"tenancy-{ENV}-{role.name}")["Role"]
        trust = got["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        account = got["Arn"].split(":")[4]
        assert trust == iam_policy.render(role.trust, {"ACCOUNT_ID": account,
                                                       "GITHUB_REPOSITORY": REPO})
        assert got["MaxSessionDuration"] == role.max_session_seconds
        inline = iam.get_role_policy(RoleName=got["RoleName"],
                                     PolicyName=f"tenancy-{ENV}-{role.name}")["PolicyDocument"]
        inline = json.loads(inline) if isinstance(inline, str) else inline
        assert [s["Sid"] for s in inline["Statement"]] == [
            s["Sid"] for s in iam_policy.template(role.permissions)["Statement"]]
        assert "${" not in json.dumps(inline)
    subject = json.loads(json.dumps(iam.get_role(RoleName=f"tenancy-{ENV}-apply")["Role"][
        "AssumeRolePolicyDocument"]))
    assert f"repo:{REPO}:environment:apply" in json.dumps(subject)

    rds = client("rds", world.moto)
    (server,) = rds.describe_db_instances(DBInstanceIdentifier=f"tenancy-{ENV}-mysql")[
        "DBInstances"]
    assert server["DeletionProtection"] is True and server["BackupRetentionPeriod"] == 7
    assert server["StorageEncrypted"] is True
    assert [g["DBParameterGroupName"] for g in server["DBParameterGroups"]] == [
        f"tenancy-{ENV}-mysql84"]
    params = rds.describe_db_parameters(DBParameterGroupName=f"tenancy-{ENV}-mysql84")[
        "Parameters"]
    assert {p["ParameterName"]: p.get("ParameterValue") for p in params}[
        "require_secure_transport"] == "ON"
    assert outputs["sharedDatabaseHost"] == server["Endpoint"]["Address"]
    secret = json.loads(client("secretsmanager", world.moto).get_secret_value(
        SecretId=outputs["sharedDatabaseAdminSecretArn"])["SecretString"])
    assert secret["username"] == "admin" and len(secret["password"]) == 32
    zone = client("route53", world.moto).get_hosted_zone(Id=outputs["hostedZoneId"])
    assert zone["HostedZone"]["Name"] == BASE_DOMAIN + "."


def test_a_tenant_applies_against_the_platform_by_stack_reference(
        world: PlatformWorld, outputs: dict[str, Any]) -> None:
    from provisioner.model.repository import load_repository
    from provisioner.secrets import required_stack_secrets
    from tests.engine_world import certificate_pem

    spec = next(t.spec for t in load_repository(world.repo).tenants)
    world.pulumi("stack", "init", TENANT, "--secrets-provider", "passphrase")
    for need in required_stack_secrets(spec):
        if need.key == "certificatePassword":
            continue
        if need.key == "certificate":
            password = f"cert-{secrets.token_hex(6)}"
            world.pulumi("config", "set", "--secret", "certificatePassword", "--stack",
                         TENANT, input=password)
            value = certificate_pem(spec.ruc, password)
        else:
            value = f"{need.key}-{secrets.token_hex(8)}"
        world.pulumi("config", "set", "--secret", need.key, "--stack", TENANT, input=value)
    code, report, text = world.provisioner("apply", "--all")
    assert code == 0, text
    (result,) = report["results"]
    assert result["ok"] and result["changes"]["create"] >= 5, result
    # every platform value came from the platform stack's outputs
    rds = client("rds", world.moto)
    (silo,) = [d for d in rds.describe_db_instances()["DBInstances"]
               if TENANT in d["DBInstanceIdentifier"]]
    assert silo["DBSubnetGroup"]["DBSubnetGroupName"] == outputs["dbSubnetGroup"]
    assert [g["VpcSecurityGroupId"] for g in silo["VpcSecurityGroups"]] == outputs[
        "securityGroupIds"]
    assert silo["KmsKeyId"] == outputs["kmsKeyId"]
    records = client("route53", world.moto).list_resource_record_sets(
        HostedZoneId=outputs["hostedZoneId"])["ResourceRecordSets"]
    alias = [r for r in records if r["Name"] == f"{TENANT}.{BASE_DOMAIN}."]
    assert alias and alias[0]["AliasTarget"]["DNSName"].startswith(
        outputs["loadBalancerDnsName"].rstrip("."))


def test_doctor_reads_every_output_the_tenants_need(world: PlatformWorld) -> None:
    _code, report, text = world.provisioner("doctor", "--backend-url",
                                           world.env["PULUMI_BACKEND_URL"])
    checks = {c["name"]: c for c in report.get("checks", [])}
    assert checks["platform-stack"]["status"] == "ok", text
    assert REFERENCE in checks["platform-stack"]["detail"]


def test_running_both_again_changes_nothing(world: PlatformWorld) -> None:
    code, report, text = world.provisioner("platform", "up", ENV)
    assert code == 0, text
    for result in report["results"]:
        assert sum(result["changes"].values()) == 0 and not result["steps"], result
    code, report, text = world.provisioner("apply", "--all")
    assert code == 0, text
    assert report["totals"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}, text


def test_a_change_that_would_replace_the_state_bucket_is_refused(
        world: PlatformWorld) -> None:
    settings = world.repo / "platform" / f"Pulumi.{ENV}.yaml"
    before = yaml.safe_load(settings.read_text("utf-8"))
    changed = {**before, "config": {**before["config"],
                                    "platform:stateBucket": "tenancy-other-state"}}
    settings.write_text(yaml.safe_dump(changed, sort_keys=False), "utf-8")
    try:
        code, _report, text = world.provisioner("platform", "up", ENV)
    finally:
        settings.write_text(yaml.safe_dump(before, sort_keys=False), "utf-8")
    assert code == 1, text
    assert "state-bucket: this change would replace it" in text
    assert "aws s3 sync" in text  # the way to do it by hand
    names = {b["Name"] for b in client("s3", world.moto).list_buckets()["Buckets"]}
    assert f"tenancy-{ENV}-pulumi-state" in names and "tenancy-other-state" not in names


def test_the_admin_password_is_never_in_plain_text_in_the_state(
        world: PlatformWorld) -> None:
    """The shared server's admin password (a RandomPassword, in the server's inputs and the
    secret's value) is a secret everywhere the engine writes: the backend holds it encrypted."""
    secret_arn = next(s["ARN"] for s in client("secretsmanager", world.moto).list_secrets()[
        "SecretList"] if s["Name"] == f"tenancy/platform/{ENV}/mysql-admin")
    password = json.loads(client("secretsmanager", world.moto).get_secret_value(
        SecretId=secret_arn)["SecretString"])["password"]
    files = [p for p in (world.base / "state").rglob("*") if p.is_file()]
    assert any(p.name == f"{ENV}.json" and "platform" in p.parts for p in files)
    assert len(password) == 32
    assert [p for p in files if password.encode() in p.read_bytes()] == []
    _code, report, text = world.provisioner("platform", "preview", ENV)
    assert password not in text and password not in json.dumps(report)


def test_local_mode_makes_a_platform_on_moto_for_the_demo(world: PlatformWorld) -> None:
    """`provisioner platform up ENV --local`: what scripts/demo.sh calls first. Its own moto
    (in-process) and VPC, the repository's local state (.pulumi-local/), no AWS account."""
    env = {k: v for k, v in world.env.items()
           if k not in ("PULUMI_BACKEND_URL", "AWS_ENDPOINT_URL", "PROVISIONER_SECRETS_PROVIDER")}
    proc = subprocess.run([sys.executable, "-m", "provisioner", "--repo", str(world.repo),
                           "platform", "up", "demo", "--local", "--format", "json"],
                          env={**{k: v for k, v in os.environ.items()
                                  if k != "AWS_ENDPOINT_URL"}, **env},
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["results"][-1]["changes"]["create"] >= 25
    assert report["outputs"]["backendUrl"] == "s3://tenancy-demo-pulumi-state?region=us-east-1"
    assert (world.repo / ".pulumi-local" / ".pulumi" / "stacks" / "platform" /
            "demo.json").is_file()
    assert not (world.repo / "platform" / "Pulumi.demo.yaml").exists()  # localhost settings
