"""What a tenant needs from the platform: stack config, else reseller.yaml, else the platform
stack.

Each value is taken from stack config when set there (same name as the platform stack's output;
local mode uses this), then from `reseller.platform`, otherwise from an output of
`platform.stack_reference`; a value found nowhere fails before anything is declared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pulumi

from provisioner.model.catalog import DatabaseTier
from provisioner.model.models import Platform
from provisioner.platform_outputs import TENANT_OUTPUTS

from .config import PlatformOverride
from .errors import StackError


@dataclass(frozen=True)
class Source:
    field: str  # where it goes in reseller.yaml
    read: Callable[[Platform], Any]
    key: str = ""

    @property
    def output(self) -> str:
        """The platform stack's output name (provisioner/platform_outputs.py)."""
        return TENANT_OUTPUTS[self.key]


def _sources(**fields: tuple[str, Callable[[Platform], Any]]) -> dict[str, Source]:
    return {key: Source(field, read, key) for key, (field, read) in fields.items()}


SOURCES: Final[dict[str, Source]] = _sources(
    hosted_zone_id=("platform.hosted_zone_id", lambda p: p.hosted_zone_id),
    load_balancer_dns_name=("platform.load_balancer.dns_name",
                            lambda p: p.load_balancer and p.load_balancer.dns_name),
    load_balancer_zone_id=("platform.load_balancer.zone_id",
                           lambda p: p.load_balancer and p.load_balancer.zone_id),
    shared_database_host=("platform.shared_database.host",
                          lambda p: p.shared_database and p.shared_database.host),
    shared_database_port=("platform.shared_database.port",
                          lambda p: p.shared_database and p.shared_database.port),
    shared_database_admin_secret_arn=(
        "platform.shared_database.admin_secret_arn",
        lambda p: p.shared_database and p.shared_database.admin_secret_arn),
    kms_key_id=("platform.kms_key_id", lambda p: p.kms_key_id),
    db_subnet_group=("platform.db_subnet_group", lambda p: p.db_subnet_group),
    security_group_ids=("platform.security_group_ids",
                        lambda p: list(p.security_group_ids) or None),
)
assert set(SOURCES) == set(TENANT_OUTPUTS), "every platform output a tenant reads has a source"

_ALWAYS = ("hosted_zone_id", "load_balancer_dns_name", "load_balancer_zone_id", "kms_key_id")
_BY_TIER = {
    DatabaseTier.POOL: ("shared_database_host", "shared_database_port",
                        "shared_database_admin_secret_arn"),
    DatabaseTier.SILO: ("db_subnet_group", "security_group_ids"),
}


@dataclass(frozen=True)
class PlatformValues:
    """Resolved platform values; a key absent from `values` is not needed by this tier."""

    values: dict[str, pulumi.Input[Any]]
    region: str | None
    ipv6: bool
    shared_database_admin_user: str
    shared_database_admin_password: pulumi.Output[str] | None  # local-mode override

    def __getitem__(self, key: str) -> pulumi.Input[Any]:
        return self.values[key]


def needed_keys(tier: DatabaseTier, override: PlatformOverride) -> list[str]:
    keys = [*_ALWAYS, *_BY_TIER[tier]]
    if tier is DatabaseTier.POOL and override.admin_password is not None:
        keys.remove("shared_database_admin_secret_arn")
    return keys


def missing_values(platform: Platform, keys: list[str], override: PlatformOverride) -> list[str]:
    """Keys that neither stack config, reseller.yaml nor (for lack of one) a platform stack
    can provide."""
    if platform.stack_reference:
        return []
    return [k for k in keys if SOURCES[k].output not in override.values
            and SOURCES[k].read(platform) in (None, "")]


def _required(value: Any, key: str, stack_ref: str) -> Any:
    if value is None or value == "" or value == []:
        source = SOURCES[key]
        raise StackError(f"platform stack {stack_ref!r} has no output {source.output!r}, and "
                         f"reseller.yaml sets no {source.field}; set one of them")
    return value


def resolve_platform(platform: Platform, tier: DatabaseTier, override: PlatformOverride,
                     parent: pulumi.Resource) -> PlatformValues:
    """The values this tier needs; declares a StackReference (child of `parent`) only when
    some value is left to the platform stack."""
    keys = needed_keys(tier, override)
    missing = missing_values(platform, keys, override)
    if missing:
        fields = "\n".join(f"  {SOURCES[k].field} (or stack config {SOURCES[k].output})"
                           for k in missing)
        raise StackError(
            "reseller.yaml: platform values missing and no platform.stack_reference to read them "
            f"from:\n{fields}")
    values: dict[str, pulumi.Input[Any]] = {}
    ref: pulumi.StackReference | None = None
    for key in keys:
        if SOURCES[key].output in override.values:
            values[key] = override.values[SOURCES[key].output]
            continue
        local = SOURCES[key].read(platform)
        if local not in (None, ""):
            values[key] = local
            continue
        assert platform.stack_reference is not None  # missing_values() checked
        if ref is None:
            ref = pulumi.StackReference("platform", stack_name=platform.stack_reference,
                                        opts=pulumi.ResourceOptions(parent=parent))
        values[key] = ref.get_output(SOURCES[key].output).apply(
            lambda v, k=key, name=platform.stack_reference: _required(v, k, name))
    admin_user = override.admin_user or (
        platform.shared_database.admin_user if platform.shared_database else "admin")
    return PlatformValues(values, platform.region, platform.ipv6, admin_user,
                          override.admin_password)

