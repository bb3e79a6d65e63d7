"""Stack configuration: where the specs are, the tenant's secrets and the local-mode overrides.

Every key lives in the project namespace (`tenants:<key>`), set with `pulumi config set`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pulumi

from provisioner.model.layout import (
    RESELLER_FILENAMES,
    SPEC_ROOT_ENV,
    project_dir_from_cwd,
    spec_dir_in,
    spec_dir_of,
)
from provisioner.model.models import TenantSpec
from provisioner.platform_outputs import TENANT_OUTPUTS
from provisioner.secrets import StackSecret, required_stack_secrets

from .errors import StackError

SPEC_DIR: Final = "specDir"  # plain: the spec repository (reseller.yaml + tenants/)
SHARED_DATABASE_ENDPOINT: Final = "sharedDatabaseEndpoint"  # plain: host:port (local mode)
SHARED_DATABASE_ADMIN_USER: Final = "sharedDatabaseAdminUser"  # plain (local mode)
SHARED_DATABASE_ADMIN_PASSWORD: Final = "sharedDatabaseAdminPassword"  # secret (local mode)
# Platform values, named like the platform stack's outputs; set in stack config they override.
PLATFORM_OUTPUTS: Final = tuple(TENANT_OUTPUTS.values())


def project_root() -> Path:
    """The directory of Pulumi.yaml, never this file's place (from a wheel, the program is in
    site-packages). The engine names it (`pulumi.get_root_directory()`; outside an engine run
    the SDK's default is the placeholder "root_directory"); else it is found upwards from the
    working directory: with `main: infra/` the engine sets the program's working directory to
    infra/ itself (pulumi/pulumi pkg/engine getPwdMain: a directory `main` becomes the pwd,
    which pulumi-language-python-exec os.chdir()s to before runpy)."""
    engine_root = getattr(pulumi.runtime, "get_root_directory", lambda: None)()
    if engine_root and Path(engine_root).is_absolute():
        return Path(engine_root)
    return project_dir_from_cwd()


def default_spec_dir(root: Path | None = None) -> Path:
    """The project root when it holds the reseller file, else its examples/ (this repository)."""
    return spec_dir_in(project_root() if root is None else root)


@dataclass(frozen=True)
class PlatformOverride:
    """Platform values set in stack config (local mode, or a platform not in reseller.yaml):
    keyed like the platform stack's outputs, they win over reseller.yaml and that stack."""

    values: dict[str, Any] = field(default_factory=dict)  # by platform output name
    admin_user: str | None = None
    admin_password: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class StackConfig:
    spec_dir: Path
    platform: PlatformOverride


def _parse_endpoint(value: str) -> tuple[str, int]:
    from provisioner.numbers import parse_address

    try:
        return parse_address(value)
    except ValueError as exc:
        raise StackError(f"config {SHARED_DATABASE_ENDPOINT}: {exc} "
                         f"(pulumi config set {SHARED_DATABASE_ENDPOINT} 127.0.0.1:3306)"
                         ) from None


def read_platform_override(config: pulumi.Config) -> PlatformOverride:
    values: dict[str, Any] = {}
    for name in PLATFORM_OUTPUTS:
        value: Any = (config.get_object(name) if name == "securityGroupIds"
                      else config.get_int(name) if name == "sharedDatabasePort"
                      else config.get(name))
        if value not in (None, "", []):
            values[name] = value
    endpoint = config.get(SHARED_DATABASE_ENDPOINT)
    if endpoint:
        values["sharedDatabaseHost"], values["sharedDatabasePort"] = _parse_endpoint(endpoint)
    return PlatformOverride(values, config.get(SHARED_DATABASE_ADMIN_USER),
                            config.get_secret(SHARED_DATABASE_ADMIN_PASSWORD))


def read_stack_config(config: pulumi.Config, root: Path | None = None) -> StackConfig:
    root = project_root() if root is None else root
    # stack config wins; the orchestrator passes the repository it validated in the environment
    raw_dir = config.get(SPEC_DIR) or os.environ.get(SPEC_ROOT_ENV)
    spec_dir = spec_dir_of(root, raw_dir)
    if not any((spec_dir / name).is_file() for name in RESELLER_FILENAMES):
        raise StackError(f"{spec_dir}: no reseller.yaml here; point the stack at the spec "
                         f"repository with `pulumi config set {SPEC_DIR} DIR`")
    return StackConfig(spec_dir, read_platform_override(config))


def _stored_in_plaintext(config: pulumi.Config, key: str) -> bool:
    full = config.full_key(key)
    known = set(pulumi.runtime.get_config_secret_keys_env())
    return not (pulumi.runtime.is_config_secret(full) or full in known)


def read_stack_secrets(config: pulumi.Config, spec: TenantSpec,
                       stack: str, silo: bool = False) -> dict[str, pulumi.Output[str]]:
    """The secrets this tenant needs, by StackSecret key, as secret outputs.

    Every missing one is named with the exact command that sets it, in one error."""
    needed: list[StackSecret] = required_stack_secrets(spec, silo)
    found: dict[str, pulumi.Output[str]] = {}
    missing: list[StackSecret] = []
    for secret in needed:
        value = config.get_secret(secret.key)
        if value is None:
            missing.append(secret)
            continue
        if _stored_in_plaintext(config, secret.key):
            pulumi.log.warn(f"{secret.key} is stored in plain text in Pulumi.{stack}.yaml; "
                            f"set it again with `{secret.command(stack)}`")
        found[secret.key] = value
    if missing:
        lines = [f"  {s.what}: {s.command(stack)}" for s in missing]
        raise StackError(f"stack {stack!r} is missing {len(missing)} required secret"
                         f"{'s' if len(missing) > 1 else ''}; set "
                         f"{'them' if len(missing) > 1 else 'it'} with:\n" + "\n".join(lines))
    return found
