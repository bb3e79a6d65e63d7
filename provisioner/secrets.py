"""The secrets a tenant needs, where each comes from, and how it is masked.

The Pulumi program reads them from stack config (`pulumi config set --secret KEY`), `render
--reveal` and `check-sol` from environment variables; both names are defined only here.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Final

from provisioner.model.models import ResellerSpec, TenantSpec

MASK: Final = "********"
# Where a reseller names the tenant stacks' secrets provider locally (CI: the repository variable
# PULUMI_SECRETS_PROVIDER, exported under this name by the workflows).
SECRETS_PROVIDER_ENV: Final = "PROVISIONER_SECRETS_PROVIDER"
# Without a local Pulumi.<stack>.yaml naming the provider, the CLI makes the backend's default
# secrets manager instead of the stack's, unless this is true (pulumi/pulumi
# pkg/cmd/pulumi/stack/secrets.go `SecretsManagerLoader.GetSecretsManager`: FallbackToState).
FALLBACK_ENV: Final = "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"


@dataclass(frozen=True)
class StackSecret:
    key: str  # Pulumi config key (project namespace), set with `pulumi config set --secret`
    env: str  # environment variable for commands that run outside Pulumi
    what: str
    from_file: bool = False  # set from a file's content (`... --secret KEY < file`)

    def command(self, stack: str) -> str:
        """The command that sets it, every word shell-quoted."""
        from provisioner.safe_text import command_line

        setter = command_line("pulumi", "config", "set", "--secret", "--stack", stack, self.key)
        if self.from_file:
            return f"{command_line('base64', '-w0', f'{self.key}.pfx')} | {setter}"
        return setter


def stack_init_command(stack: str, provider: str | None) -> str:
    """`pulumi stack init` naming the stacks' secrets provider, shell-quoted.

    Without `--secrets-provider` the CLI gives a new stack the backend's default secrets manager
    (a passphrase and an `encryptionsalt` on a self-managed backend: pulumi/pulumi
    pkg/cmd/pulumi/stack/secrets.go `createSecretsManagerForNewStack`), which the orchestrator
    then refuses under a KMS provider. With no provider known here, the command reads
    $PROVISIONER_SECRETS_PROVIDER and the shell stops if it is unset, rather than default.
    """
    value = (shlex.quote(provider) if provider and provider.strip() else
             f'"${{{SECRETS_PROVIDER_ENV}:?name the secrets provider of the tenant stacks}}"')
    return f"pulumi stack init --secrets-provider {value} {shlex.quote(stack)}"


def stack_file_note(stack: str) -> str:
    """Why Pulumi.<stack>.yaml is committed: the `config set --secret` commands need it."""
    return (f"commit Pulumi.{stack}.yaml (its secrets provider and key): `pulumi config set "
            f"--secret` on another clone needs it, or {FALLBACK_ENV}=true")


SOL_PASSWORD = StackSecret("solPassword", "PROVISIONER_SOL_PASSWORD", "the SOL user's password")
SMTP_PASSWORD = StackSecret("smtpPassword", "PROVISIONER_SMTP_PASSWORD", "the SMTP password")
ADMIN_PASSWORD = StackSecret("adminPassword", "PROVISIONER_ADMIN_PASSWORD",
                             "the admin user's password")
CERTIFICATE = StackSecret("certificate", "PROVISIONER_CERTIFICATE",
                          "the signing certificate: the .pfx in base64 (or a PEM)",
                          from_file=True)
CERTIFICATE_PASSWORD = StackSecret("certificatePassword", "PROVISIONER_CERTIFICATE_PASSWORD",
                                   "the certificate's password")
# An adopted silo instance keeps its master password (the stack never changes it, and RDS never
# returns it: provisioner/infra/database.py ADOPTED_INSTANCE_KEPT); the stack connects with this.
SILO_MASTER_PASSWORD = StackSecret("databasePassword", "PROVISIONER_DATABASE_PASSWORD",
                                   "the adopted RDS instance's master password, as it is")

# Platform secrets (the platform's stack config, or the environment for `provisioner onboard`):
APP_KEY = StackSecret("appKey", "PROVISIONER_APP_KEY",
                      "the app's APP_KEY, verbatim (base64: prefix included)")
APP_DATABASE_PASSWORD = StackSecret("appDatabasePassword", "PROVISIONER_APP_DB_PASSWORD",
                                    "the password of reseller.yaml's app.system_database.user")

ALL_SECRETS: Final = (SOL_PASSWORD, SMTP_PASSWORD, ADMIN_PASSWORD, CERTIFICATE,
                      CERTIFICATE_PASSWORD, SILO_MASTER_PASSWORD, APP_KEY, APP_DATABASE_PASSWORD)


def required_stack_secrets(spec: TenantSpec, silo: bool = False) -> list[StackSecret]:
    """The stack secrets this tenant cannot be provisioned without (`silo`: its plan's database
    tier is silo)."""
    needed = []
    if spec.soap.needs_sol_password:
        needed.append(SOL_PASSWORD)
    if spec.smtp is not None:
        needed.append(SMTP_PASSWORD)
    if spec.admin_password == "stack_secret":
        needed.append(ADMIN_PASSWORD)
    if spec.certificate:
        needed += [CERTIFICATE, CERTIFICATE_PASSWORD]
    if silo and spec.adopted is not None:
        needed.append(SILO_MASTER_PASSWORD)
    return needed


APP_SECRETS: Final = (APP_KEY, APP_DATABASE_PASSWORD)


def secrets_to_set(spec: TenantSpec, reseller: ResellerSpec | None) -> list[StackSecret]:
    """Every secret the tenant's stack reads: its own, and with reseller.yaml's `app:` the app's
    APP_KEY and system database password (provisioner/infra/onboarding.py requires them)."""
    app = list(APP_SECRETS) if reseller is not None and reseller.app is not None else []
    return [*required_stack_secrets(spec), *app]
