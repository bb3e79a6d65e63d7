"""Where `check-sol` finds a tenant's SOL password, in order, without ever printing it.

1. the environment variable PROVISIONER_SOL_PASSWORD (provisioner.secrets.SOL_PASSWORD);
2. the tenant stack's secret config `solPassword`, through the `pulumi` CLI when it is on
   PATH (kept small: one subprocess call, any failure just moves on);
3. the tenant's Secrets Manager secret `<database_prefix>/tenants/<subdomain>/sol`, JSON
   {"username": ..., "password": ...}, through boto3 (region and endpoint from the usual
   AWS settings; the reseller's platform region when set).
SUNAT demo tenants use SUNAT's public MODDATOS password and need none of these.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import MissingSecretError
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.naming import secret_name, stack_name
from provisioner.secrets import SOL_PASSWORD
from provisioner.sunat.classify import EXIT_NO_PASSWORD
from provisioner.sunat.profile import SoapProfile

SECRET_CONCERN = "sol"
PULUMI_TIMEOUT_S = 60


class NoSolPasswordError(MissingSecretError):
    """No source had the password; the message lists each source and what it said."""

    exit_code = EXIT_NO_PASSWORD


class SolSecretFormatError(MissingSecretError):
    """The Secrets Manager secret exists but holds no usable password."""

    exit_code = EXIT_NO_PASSWORD


@dataclass(frozen=True)
class SolPassword:
    value: str = field(repr=False)
    source: str  # where it came from, safe to print
    warnings: tuple[str, ...] = ()


def resolve_sol_password(spec: TenantSpec, reseller: ResellerSpec | None, profile: SoapProfile,
                         environ: Mapping[str, str] | None = None) -> SolPassword:
    """The password to send for this tenant, from the first source that has one."""
    if profile.public_password is not None:
        return SolPassword(profile.public_password, "SUNAT's public demo password (MODDATOS)")
    env = os.environ if environ is None else environ
    tried: list[str] = []

    value = env.get(SOL_PASSWORD.env)
    if value:
        if not _is_text(value):
            raise NoSolPasswordError(
                f"{SOL_PASSWORD.env} is not valid UTF-8 text (check the terminal's or the "
                "CI secret's encoding); the password is sent as UTF-8")
        return SolPassword(value, f"environment variable {SOL_PASSWORD.env}")
    tried.append(f"{SOL_PASSWORD.env} is {'empty' if value == '' else 'not set'}")

    stack = stack_name(spec.subdomain)
    value, note = from_pulumi(stack, env)
    if value:
        return SolPassword(value, f"pulumi config {SOL_PASSWORD.key} of stack {stack}")
    tried.append(note)

    if reseller is None:
        tried.append("Secrets Manager: not tried, there is no reseller file to name the secret")
    else:
        name = secret_name(reseller.database_prefix, spec.subdomain, SECRET_CONCERN)
        found, note = from_secrets_manager(name, reseller.platform.region)
        if found is not None:
            password, warnings = _password_from_secret(name, found, spec, profile)
            return SolPassword(password, f"Secrets Manager secret {name}", warnings)
        tried.append(note)

    prefix = reseller.database_prefix if reseller else "<database_prefix>"
    raise NoSolPasswordError(
        f"no SOL password for tenant {spec.subdomain!r}; provide it in one of these ways: "
        f"export {SOL_PASSWORD.env}=...; or `{SOL_PASSWORD.command(stack)}`; or a Secrets "
        f"Manager secret {secret_name(prefix, spec.subdomain, SECRET_CONCERN)}"
        ' holding {"username": ..., "password": ...}. Looked at: ' + "; ".join(tried))


def _is_text(value: str) -> bool:
    """False for an environment value that was not UTF-8 (Python keeps the bad bytes as
    lone surrogates, which cannot be sent)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def from_pulumi(stack: str, env: Mapping[str, str]) -> tuple[str | None, str]:
    """`pulumi config get solPassword --stack STACK`, only when `pulumi` is installed.

    Pulumi decrypts stack secrets itself (passphrase or cloud backend); we only read stdout.
    """
    binary = shutil.which("pulumi", path=env.get("PATH"))
    if binary is None:
        return None, "pulumi is not on PATH, stack config not read"
    try:
        done = subprocess.run(
            [binary, "config", "get", SOL_PASSWORD.key, "--stack", stack],
            capture_output=True, text=True, timeout=PULUMI_TIMEOUT_S, env=dict(env),
            check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"pulumi config get failed: {type(exc).__name__}"
    value = done.stdout.rstrip("\r\n")
    if done.returncode == 0 and value:
        return value, ""
    # pulumi's stderr names the missing key or stack; it never contains the secret
    reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1][:200]
    return None, f"pulumi config get {SOL_PASSWORD.key} --stack {stack}: {reason}"


def from_secrets_manager(name: str, region: str | None) -> tuple[str | None, str]:
    """The secret's string, or None and why not (no credentials, not found, denied...)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})
    try:
        client = boto3.client("secretsmanager", region_name=region or None, config=config)
        answer: dict[str, Any] = client.get_secret_value(SecretId=name)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        if code == "ResourceNotFoundException":
            return None, f"Secrets Manager: no secret {name}"
        return None, f"Secrets Manager: {code} reading {name}"
    except BotoCoreError as exc:
        return None, f"Secrets Manager: {type(exc).__name__}: {str(exc)[:200]}"
    text = answer.get("SecretString")
    if text is None:
        return None, f"Secrets Manager: secret {name} has no string value"
    return text, ""


def _password_from_secret(name: str, text: str, spec: TenantSpec,
                          profile: SoapProfile) -> tuple[str, tuple[str, ...]]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    password = data.get("password") if isinstance(data, dict) else None
    if not isinstance(password, str) or not password:
        raise SolSecretFormatError(
            f"Secrets Manager secret {name} must be JSON "
            '{"username": ..., "password": ...} with a non-empty password')
    username = data.get("username") if isinstance(data, dict) else None
    known = {profile.username, spec.soap.sol_user, spec.ruc} - {None}
    if isinstance(username, str) and username and username not in known:
        return password, (f"secret {name} is for user {username!r}, but the tenant's spec "
                          f"sends {profile.username!r}; the spec wins",)
    return password, ()
