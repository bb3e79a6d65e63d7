"""The platform program under Pulumi's mock runtime: what it declares for one environment (the
settings that keep state and secrets safe, the CI roles' documents from policies/, the outputs
the tenant stacks read), and its refusals before anything is declared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provisioner import iam_policy
from provisioner.explain.mock_runtime import ACCOUNT, REGION, StackRun, run_stack
from provisioner.infra.platform_refs import SOURCES
from provisioner.platform_outputs import ALL_OUTPUTS, CI_OUTPUTS, TENANT_OUTPUTS
from provisioner.platform_stack.program import main
from provisioner.platform_stack.protected import PROTECTED
from provisioner.platform_stack.settings import PROJECT

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REPO = "acme/tenants"
CONFIG = {"githubRepository": REPO, "vpcId": "vpc-0123456789abcdef0",
          "subnetIds": '["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]',
          "loadBalancerDnsName": "alb-1.us-east-1.elb.amazonaws.com",
          "loadBalancerZoneId": "Z35SXDOTRQ7X7K",
          "databaseClientSecurityGroupIds": '["sg-0123456789abcdef0"]',
          "specDir": str(EXAMPLES)}


def declare(stack: str = "production", **changes: str | None) -> StackRun:
    config = {k: v for k, v in {**CONFIG, **changes}.items() if v is not None}
    return run_stack(stack, main, config=config, project=PROJECT)


@pytest.fixture(scope="module")
def run() -> StackRun:
    result = declare()
    assert result.error is None, result.error
    return result


def _policy(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


def test_outputs_are_exactly_the_names_tenants_and_ci_read(run: StackRun) -> None:
    assert tuple(run.outputs) == ALL_OUTPUTS
    # the tenant program reads the same list (one source: provisioner/platform_outputs.py)
    assert {s.output for s in SOURCES.values()} == set(TENANT_OUTPUTS.values())
    assert set(ALL_OUTPUTS) == set(TENANT_OUTPUTS.values()) | set(CI_OUTPUTS.values())
    zone = run.one("aws:route53/zone:Zone")
    key = run.one("aws:kms/key:Key", "tenant-secrets-key")
    server = run.one("aws:rds/instance:Instance")
    secret = run.one("aws:secretsmanager/secret:Secret")
    assert run.outputs["hostedZoneId"] == zone.outputs["zoneId"]
    assert run.outputs["kmsKeyId"] == key.outputs["arn"]
    assert run.outputs["sharedDatabaseHost"] == server.outputs["address"]
    assert run.outputs["sharedDatabasePort"] == 3306
    assert run.outputs["sharedDatabaseAdminSecretArn"] == secret.outputs["arn"]
    assert run.outputs["dbSubnetGroup"] == "tenancy-production-db"
    assert len(run.outputs["securityGroupIds"]) == 1
    assert run.outputs["loadBalancerDnsName"] == CONFIG["loadBalancerDnsName"]
    assert run.outputs["backendUrl"] == "s3://tenancy-production-pulumi-state?region=us-east-1"
    assert run.outputs["secretsProvider"] == (
        "awskms://alias/tenancy-production-pulumi-state?region=us-east-1")
    for role in iam_policy.ROLES:
        assert run.outputs[f"{role.name}RoleArn"] == (
            f"arn:aws:iam::{ACCOUNT}:role/tenancy-production-{role.name}")


def test_every_child_is_parented_to_the_component(run: StackRun) -> None:
    (component,) = run.of_type("facturador:platform:Platform")
    assert component.name == "tenancy-production"
    assert run.managed and all(r.parent_urn == component.urn for r in run.managed)


def test_what_tenants_and_ci_depend_on_is_protected_and_retained(run: StackRun) -> None:
    kept = {r.name for r in run.managed if r.protect and r.retain_on_delete}
    assert kept == set(PROTECTED)
    assert {run.one(t).name for t in ("aws:route53/zone:Zone", "aws:s3/bucket:Bucket",
                                      "aws:rds/instance:Instance")} <= kept
    assert {k.name for k in run.of_type("aws:kms/key:Key")} <= kept
    assert not [r.name for r in run.managed if r.protect != r.retain_on_delete]


def test_state_bucket_is_private_versioned_kms_encrypted_and_tls_only(run: StackRun) -> None:
    bucket = run.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "tenancy-production-pulumi-state"
    assert bucket.inputs["forceDestroy"] is False
    block = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert {k: block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                  "restrictPublicBuckets")} == dict.fromkeys(
        ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"),
        True)
    versioning = run.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = run.one("aws:s3/bucketServerSideEncryptionConfiguration:"
                      "BucketServerSideEncryptionConfiguration").inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"] == run.one("aws:kms/key:Key", "state-key").outputs["arn"]
    policy = _policy(run.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {bucket.outputs["arn"], bucket.outputs["arn"] + "/*"}
    owner = run.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert owner["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_shared_mysql_keeps_its_data_and_accepts_only_tls(run: StackRun) -> None:
    server = run.one("aws:rds/instance:Instance")
    i = server.inputs
    assert i["deletionProtection"] is True and i["skipFinalSnapshot"] is False
    assert i["backupRetentionPeriod"] == 7 and i["finalSnapshotIdentifier"]
    assert i["storageEncrypted"] is True and i["publiclyAccessible"] is False
    assert i["kmsKeyId"] == run.one("aws:kms/key:Key", "tenant-secrets-key").outputs["arn"]
    assert "password" in server.secret_inputs and "password" in server.additional_secret_outputs
    params = run.one("aws:rds/parameterGroup:ParameterGroup")
    assert i["parameterGroupName"] == params.inputs["name"]
    assert params.inputs["family"] == "mysql8.4"
    assert {"name": "require_secure_transport", "value": "ON"} in [
        {k: p[k] for k in ("name", "value")} for p in params.inputs["parameters"]]
    subnets = run.one("aws:rds/subnetGroup:SubnetGroup")
    assert i["dbSubnetGroupName"] == subnets.inputs["name"]
    assert subnets.inputs["subnetIds"] == json.loads(CONFIG["subnetIds"])
    group = run.one("aws:ec2/securityGroup:SecurityGroup")
    assert group.inputs["vpcId"] == CONFIG["vpcId"]
    (ingress,) = group.inputs["ingress"]
    assert (ingress["fromPort"], ingress["toPort"], ingress["protocol"]) == (3306, 3306, "tcp")
    assert ingress["securityGroups"] == ["sg-0123456789abcdef0"]
    assert group.inputs["egress"] == []
    # the admin secret: KMS-encrypted with the tenant key, its value a secret, JSON the tenant
    # program reads (provisioner/infra/database.py admin_password_from)
    secret = run.one("aws:secretsmanager/secret:Secret")
    assert secret.inputs["kmsKeyId"] == i["kmsKeyId"]
    version = run.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert "secretString" in version.secret_inputs
    value = json.loads(version.inputs["secretString"])
    assert value["username"] == i["username"] and value["password"] == i["password"]
    assert value["host"] == server.outputs["address"]


def test_roles_trust_and_permissions_are_policies_rendered(run: StackRun) -> None:
    (provider,) = run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    values = {"ACCOUNT_ID": ACCOUNT, "REGION": REGION, "GITHUB_REPOSITORY": REPO,
              "BASE_DOMAIN": "facturador.example.pe",  # examples/reseller.yaml
              "STATE_BUCKET": "tenancy-production-pulumi-state",
              "STATE_KMS_KEY_ID": run.one("aws:kms/key:Key", "state-key").outputs["keyId"],
              "TENANT_KMS_KEY_ID":
                  run.one("aws:kms/key:Key", "tenant-secrets-key").outputs["keyId"],
              "HOSTED_ZONE_ID": run.outputs["hostedZoneId"], "DATABASE_PREFIX": "tenancy",
              "DB_SUBNET_GROUP": "tenancy-production-db",
              "SHARED_DATABASE_ADMIN_SECRET_ARN": run.outputs["sharedDatabaseAdminSecretArn"]}
    for role in iam_policy.ROLES:
        declared = run.one("aws:iam/role:Role", f"{role.name}-role")
        trust = _policy(declared.inputs["assumeRolePolicy"])
        assert trust == iam_policy.render(role.trust, values)
        assert declared.inputs["maxSessionDuration"] == role.max_session_seconds
        attached = run.one("aws:iam/rolePolicy:RolePolicy", f"{role.name}-role-policy")
        assert _policy(attached.inputs["policy"]) == iam_policy.render(role.permissions, values)
    subjects = {role.name: _policy(run.one("aws:iam/role:Role", f"{role.name}-role").inputs[
        "assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"] for role in iam_policy.ROLES}
    assert subjects["apply"] == f"repo:{REPO}:environment:apply"
    assert subjects["drift"] == f"repo:{REPO}:environment:drift"
    assert set(subjects["plan"]) == {f"repo:{REPO}:environment:plan",
                                     f"repo:{REPO}:environment:plan-review"}
    assert "ref:refs/heads/main" not in json.dumps(subjects)  # environments, never a branch


def test_key_policies_name_the_roles_with_their_own_grants(run: StackRun) -> None:
    arns = {role.name: run.outputs[f"{role.name}RoleArn"] for role in iam_policy.ROLES}
    state = _policy(run.one("aws:kms/key:Key", "state-key").inputs["policy"])
    tenant = _policy(run.one("aws:kms/key:Key", "tenant-secrets-key").inputs["policy"])
    for policy in (state, tenant):
        root = policy["Statement"][0]
        assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
        assert {s["Principal"]["AWS"] for s in policy["Statement"][1:]} == set(arns.values())

    def actions(policy: dict[str, Any], role: str) -> set[str]:
        return {a for s in policy["Statement"] if s["Principal"].get("AWS") == arns[role]
                for a in s["Action"]}

    assert actions(state, "apply") == {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}
    # plan and drift write nothing: no data key, only reads of the state
    assert actions(state, "plan") == actions(state, "drift") == {"kms:Decrypt"}
    assert "kms:Encrypt" not in actions(tenant, "plan")
    assert "kms:CreateGrant" in actions(tenant, "apply")
    # secret values are decrypted by drift only (the plan role reads none), through Secrets Manager
    assert not [s for s in tenant["Statement"]
                if s["Principal"].get("AWS") == arns["plan"] and "Condition" in s]
    via = [s["Condition"] for s in tenant["Statement"]
           if s["Principal"].get("AWS") == arns["drift"] and "Condition" in s]
    assert via == [{"StringEquals": {"kms:ViaService": [f"secretsmanager.{REGION}.amazonaws.com"]}}]
    for key in run.of_type("aws:kms/key:Key"):
        assert key.inputs["enableKeyRotation"] is True


def test_an_existing_zone_is_adopted_by_import() -> None:
    adopted = declare(hostedZoneId="Z0123456789EXAMPLE")
    assert adopted.error is None, adopted.error
    zone = adopted.one("aws:route53/zone:Zone")
    assert zone.import_id == "Z0123456789EXAMPLE"
    assert zone.protect and zone.retain_on_delete
    assert adopted.outputs["hostedZoneId"] == "Z0123456789EXAMPLE"
    assert declare().one("aws:route53/zone:Zone").import_id == ""


def test_an_existing_oidc_provider_is_used_not_created() -> None:
    used = declare(oidcProviderArn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/"
                                   "token.actions.githubusercontent.com")
    assert used.error is None, used.error
    assert used.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    assert len(used.of_type("aws:iam/role:Role")) == 3


def test_each_environment_is_its_own_stack_with_its_own_names() -> None:
    staging = declare("staging")
    assert staging.error is None, staging.error
    assert staging.one("aws:s3/bucket:Bucket").inputs["bucket"] == "tenancy-staging-pulumi-state"
    assert staging.one("aws:rds/instance:Instance").inputs["identifier"] == "tenancy-staging-mysql"
    assert staging.outputs["dbSubnetGroup"] == "tenancy-staging-db"


@pytest.mark.parametrize(("changes", "message"), [
    ({"githubRepository": None}, "githubRepository: not set"),
    ({"vpcId": "vpc-nothex"}, "vpcId: 'vpc-nothex' is not a valid value"),
    ({"subnetIds": '["subnet-0123456789abcdef0"]'}, "subnetIds: give at least 2"),
    ({"subnetIds": "not json"}, "subnetIds: expected a JSON list"),
    ({"databaseBackupRetentionDays": "0"}, "databaseBackupRetentionDays: 0 is outside 1..35"),
    ({"stateBucket": "Bad_Bucket"}, "stateBucket: 'Bad_Bucket' is not a valid value"),
])
def test_bad_settings_fail_before_anything_is_declared(changes: dict[str, str | None],
                                                       message: str) -> None:
    result = declare(**changes)
    assert result.error is not None and message in str(result.error)
    assert result.managed == []


def test_every_bad_setting_is_named_in_one_error() -> None:
    result = declare(githubRepository=None, vpcId=None, loadBalancerZoneId="nope")
    text = str(result.error)
    assert "3 settings to fix" in text
    assert all(k in text for k in ("githubRepository", "vpcId", "loadBalancerZoneId"))


def test_a_stack_not_named_like_an_environment_is_refused() -> None:
    result = declare("Production_1")
    assert "name the stack after the environment" in str(result.error)
    assert result.managed == []
