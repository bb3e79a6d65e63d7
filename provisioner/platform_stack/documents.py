"""The platform's policy documents, pure: the roles' trust and permissions from policies/
(provisioner/iam_policy.py renders them), the KMS key policies derived from those same
permission documents, and the state bucket's TLS-only policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from provisioner import iam_policy

STATE_KEY_RESOURCE: Final = "arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${STATE_KMS_KEY_ID}"
TENANT_KEY_RESOURCE: Final = "arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${TENANT_KMS_KEY_ID}"


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Deny every request to the bucket and its objects made without TLS."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def key_policy(key_resource: str, account_id: str, region: str,
               role_arns: Mapping[str, str]) -> dict[str, Any]:
    """A key policy: the account administers the key (without it the key could lock out
    everyone: docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html), and each
    role may use it exactly as its permission document in policies/ says."""
    statements: list[dict[str, Any]] = [{
        "Sid": "AccountAdministersTheKey", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*",
        "Resource": "*"}]
    values = {"REGION": region, "ACCOUNT_ID": account_id}
    for role in iam_policy.ROLES:
        if role.name not in role_arns:
            continue
        grants = iam_policy.key_statements(iam_policy.template(role.permissions), key_resource)
        for i, grant in enumerate(grants, 1):
            filled = iam_policy.fill(grant, {k: v for k, v in values.items()
                                             if k in iam_policy.placeholders(grant)})
            statements.append({"Sid": f"{role.name.capitalize()}Role{i}", "Effect": "Allow",
                               "Principal": {"AWS": role_arns[role.name]}, **filled,
                               "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def permission_values(*, account_id: str, region: str, state_bucket: str, state_key_id: str,
                      tenant_key_id: str, hosted_zone_id: str, database_prefix: str,
                      db_subnet_group: str, admin_secret_arn: str, github_repository: str,
                      base_domain: str) -> dict[str, str]:
    """Every placeholder of policies/, for one platform."""
    return {"ACCOUNT_ID": account_id, "REGION": region, "STATE_BUCKET": state_bucket,
            "STATE_KMS_KEY_ID": state_key_id, "TENANT_KMS_KEY_ID": tenant_key_id,
            "HOSTED_ZONE_ID": hosted_zone_id, "DATABASE_PREFIX": database_prefix,
            "DB_SUBNET_GROUP": db_subnet_group,
            "SHARED_DATABASE_ADMIN_SECRET_ARN": admin_secret_arn,
            "GITHUB_REPOSITORY": github_repository, "BASE_DOMAIN": base_domain}
