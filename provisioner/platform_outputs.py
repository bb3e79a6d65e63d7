"""The platform stack's output names: what the platform program exports and what the tenant
program and `doctor` read from it. One list, imported by both programs (no second copy)."""

from __future__ import annotations

from typing import Final

# What a tenant stack reads (provisioner/infra/platform_refs.py), by the key the tenant
# program uses -> the platform stack's output name (also the tenant stack config key that
# overrides it, provisioner/infra/config.py).
TENANT_OUTPUTS: Final[dict[str, str]] = {
    "hosted_zone_id": "hostedZoneId",
    "load_balancer_dns_name": "loadBalancerDnsName",
    "load_balancer_zone_id": "loadBalancerZoneId",
    "shared_database_host": "sharedDatabaseHost",
    "shared_database_port": "sharedDatabasePort",
    "shared_database_admin_secret_arn": "sharedDatabaseAdminSecretArn",
    "kms_key_id": "kmsKeyId",
    "db_subnet_group": "dbSubnetGroup",
    "security_group_ids": "securityGroupIds",
}

# What the tenant repository's CI is configured with (docs/ci.md "What to configure"): the
# state backend, the secrets provider and the roles the workflows assume.
CI_OUTPUTS: Final[dict[str, str]] = {
    "backend_url": "backendUrl",  # PULUMI_BACKEND_URL
    "secrets_provider": "secretsProvider",  # PULUMI_SECRETS_PROVIDER
    "plan_role_arn": "planRoleArn",  # AWS_PLAN_ROLE_ARN
    "apply_role_arn": "applyRoleArn",  # AWS_APPLY_ROLE_ARN
    "drift_role_arn": "driftRoleArn",  # AWS_DRIFT_ROLE_ARN
}

# Every output of the platform stack, in export order.
ALL_OUTPUTS: Final[tuple[str, ...]] = (*TENANT_OUTPUTS.values(), *CI_OUTPUTS.values())
