"""The platform stack's inputs: reseller.yaml (base domain, database prefix, region, tags: one
source with the tenant stacks) and the stack's own config (the VPC, the GitHub repository, an
existing hosted zone to adopt), checked before anything is declared."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pulumi

from provisioner.infra.errors import StackError
from provisioner.model.layout import RESELLER_FILENAMES, SPEC_ROOT_ENV, spec_dir_of
from provisioner.model.models import ResellerSpec
from provisioner.model.repository import load_reseller

PROJECT: Final = "platform"  # the Pulumi project name; stack config keys are `platform:<key>`

# stack config keys, `pulumi config set --cwd platform --stack ENV KEY VALUE`
GITHUB_REPOSITORY: Final = "githubRepository"  # owner/repo of the tenant repository
VPC_ID: Final = "vpcId"
SUBNET_IDS: Final = "subnetIds"  # JSON list, two or more availability zones
CLIENT_SECURITY_GROUP_IDS: Final = "databaseClientSecurityGroupIds"  # may reach MySQL
CLIENT_CIDRS: Final = "databaseClientCidrs"
LOAD_BALANCER_DNS_NAME: Final = "loadBalancerDnsName"  # the app's load balancer (not made here)
LOAD_BALANCER_ZONE_ID: Final = "loadBalancerZoneId"
HOSTED_ZONE_ID: Final = "hostedZoneId"  # adopt this zone instead of creating one
OIDC_PROVIDER_ARN: Final = "oidcProviderArn"  # the account's GitHub OIDC provider, if it has one
STATE_BUCKET: Final = "stateBucket"
INSTANCE_CLASS: Final = "databaseInstanceClass"
STORAGE_GB: Final = "databaseStorageGb"
BACKUP_DAYS: Final = "databaseBackupRetentionDays"
SPEC_DIR: Final = "specDir"

SETTING_PATTERNS: Final[dict[str, str]] = {
    GITHUB_REPOSITORY: r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9_.-]{1,100}",
    VPC_ID: r"vpc-[0-9a-f]{8,17}",
    SUBNET_IDS: r"subnet-[0-9a-f]{8,17}",
    CLIENT_SECURITY_GROUP_IDS: r"sg-[0-9a-f]{8,17}",
    CLIENT_CIDRS: r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}",
    LOAD_BALANCER_DNS_NAME: r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?",
    LOAD_BALANCER_ZONE_ID: r"Z[A-Z0-9]{4,32}",
    HOSTED_ZONE_ID: r"Z[A-Z0-9]{4,32}",
    OIDC_PROVIDER_ARN: r"arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/"
                       r"token\.actions\.githubusercontent\.com",
    STATE_BUCKET: r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
    INSTANCE_CLASS: r"db\.[a-z0-9]+\.[a-z0-9]+",
}
ENVIRONMENT_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]{0,19}")


@dataclass(frozen=True)
class PlatformSettings:
    environment: str  # the stack name: one platform stack per reseller environment
    reseller: ResellerSpec
    github_repository: str
    vpc_id: str
    subnet_ids: list[str]
    load_balancer_dns_name: str
    load_balancer_zone_id: str
    client_security_group_ids: list[str] = field(default_factory=list)
    client_cidrs: list[str] = field(default_factory=list)
    hosted_zone_id: str | None = None
    oidc_provider_arn: str | None = None
    state_bucket: str = ""
    instance_class: str = "db.t4g.small"
    storage_gb: int = 20
    backup_retention_days: int = 7

    @property
    def prefix(self) -> str:
        """Names of the platform's resources: `<database_prefix>-<environment>`."""
        return f"{self.reseller.database_prefix}-{self.environment}"

    @property
    def tags(self) -> dict[str, str]:
        return {**self.reseller.tags, "environment": self.environment,
                "managed-by": "provisioner-platform"}


def project_root() -> Path:
    """The platform project's directory (platform/ of the tenant repository)."""
    engine_root = getattr(pulumi.runtime, "get_root_directory", lambda: None)()
    if engine_root and Path(engine_root).is_absolute():
        return Path(engine_root)
    return Path.cwd()


def spec_dir(config: pulumi.Config, root: Path) -> Path:
    """The tenant repository: stack config `specDir` (relative to platform/), else the
    orchestrator's PROVISIONER_SPEC_ROOT, else the parent of platform/ (or its examples/)."""
    named = config.get(SPEC_DIR) or os.environ.get(SPEC_ROOT_ENV)
    return spec_dir_of(root, named) if named else spec_dir_of(root.parent, None)


def load_reseller_spec(directory: Path) -> ResellerSpec:
    path = next((directory / n for n in RESELLER_FILENAMES if (directory / n).is_file()), None)
    if path is None:
        raise StackError(f"{directory}: no reseller.yaml; point the platform stack at the tenant "
                         f"repository with `pulumi config set {SPEC_DIR} DIR`")
    reseller, _, findings = load_reseller(path)
    errors = sorted(f for f in findings if f.severity == "error")
    if reseller is None or errors:
        raise StackError("\n".join(str(f) for f in errors) or f"{path}: invalid")
    return reseller


def _text(config: pulumi.Config, key: str, problems: list[str], required: bool) -> str | None:
    value = config.get(key)
    if value in (None, ""):
        if required:
            problems.append(f"{key}: not set (pulumi config set {key} ...)")
        return None
    if key in SETTING_PATTERNS and not re.fullmatch(SETTING_PATTERNS[key], value):
        problems.append(f"{key}: {value!r} is not a valid value")
    return value


def _list(config: pulumi.Config, key: str, problems: list[str], minimum: int = 0) -> list[str]:
    try:
        value: Any = config.get_object(key)
    except Exception:  # the SDK's ConfigTypeError: not JSON
        problems.append(f"{key}: expected a JSON list, e.g. '[\"...\"]' (pulumi config set "
                        f"--path or a JSON string)")
        return []
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{key}: expected a JSON list of strings")
        return []
    bad = [v for v in value if not re.fullmatch(SETTING_PATTERNS[key], v)]
    if bad:
        problems.append(f"{key}: not valid: {', '.join(map(repr, bad))}")
    if len(value) < minimum:
        problems.append(f"{key}: give at least {minimum} (pulumi config set {key} "
                        f"'[\"...\", \"...\"]')")
    return list(value)


def _int(config: pulumi.Config, key: str, default: int, low: int, high: int,
         problems: list[str]) -> int:
    try:
        value = config.get_int(key)
    except Exception:
        problems.append(f"{key}: expected a whole number")
        return default
    if value is None:
        return default
    if not low <= value <= high:
        problems.append(f"{key}: {value} is outside {low}..{high}")
    return value


def default_bucket(prefix: str) -> str:
    return f"{prefix}-pulumi-state"


def read_settings(config: pulumi.Config, stack: str, root: Path | None = None
                  ) -> PlatformSettings:
    """Every problem of the stack's config in one error, before anything is declared."""
    root = project_root() if root is None else root
    reseller = load_reseller_spec(spec_dir(config, root))
    problems: list[str] = []
    if not ENVIRONMENT_PATTERN.fullmatch(stack):
        problems.append(f"stack {stack!r}: name the stack after the environment (lower case, "
                        "e.g. production, staging; at most 20 characters)")
    repo = _text(config, GITHUB_REPOSITORY, problems, True)
    vpc = _text(config, VPC_ID, problems, True)
    subnets = _list(config, SUBNET_IDS, problems, minimum=2)
    lb_name = _text(config, LOAD_BALANCER_DNS_NAME, problems, True)
    lb_zone = _text(config, LOAD_BALANCER_ZONE_ID, problems, True)
    clients = _list(config, CLIENT_SECURITY_GROUP_IDS, problems)
    cidrs = _list(config, CLIENT_CIDRS, problems)
    zone = _text(config, HOSTED_ZONE_ID, problems, False)
    oidc = _text(config, OIDC_PROVIDER_ARN, problems, False)
    prefix = f"{reseller.database_prefix}-{stack}"
    bucket = _text(config, STATE_BUCKET, problems, False) or default_bucket(prefix)
    if not re.fullmatch(SETTING_PATTERNS[STATE_BUCKET], bucket):
        problems.append(f"{STATE_BUCKET}: {bucket!r} is not a valid S3 bucket name")
    instance_class = _text(config, INSTANCE_CLASS, problems, False) or "db.t4g.small"
    storage = _int(config, STORAGE_GB, 20, 20, 65536, problems)
    backups = _int(config, BACKUP_DAYS, 7, 1, 35, problems)
    if problems:
        raise StackError(f"platform stack {stack!r}: {len(problems)} setting"
                         f"{'s' if len(problems) > 1 else ''} to fix:\n"
                         + "\n".join(f"  {p}" for p in problems))
    assert repo and vpc and lb_name and lb_zone  # required: a problem otherwise
    return PlatformSettings(
        environment=stack, reseller=reseller, github_repository=repo, vpc_id=vpc,
        subnet_ids=subnets, load_balancer_dns_name=lb_name, load_balancer_zone_id=lb_zone,
        client_security_group_ids=clients, client_cidrs=cidrs, hosted_zone_id=zone,
        oidc_provider_arn=oidc, state_bucket=bucket, instance_class=instance_class,
        storage_gb=storage, backup_retention_days=backups)
