"""The secrets a tenant needs, where each comes from, and how it is masked.

The Pulumi program reads them from stack config (`pulumi config set --secret KEY`), `render
--reveal` and `check-sol` from environment variables; both names are defined only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from provisioner.model.models import ResellerSpec, TenantSpec

MASK: Final = "********"


@dataclass(frozen=True)
class StackSecret:
    key: str  # Pulumi config key (project namespace), set with `pulumi config set --secret`
    env: str  # environment variable for commands that run outside Pulumi
    what: str
    from_file: bool = False  # set from a file's content (`... --secret KEY < file`)

    def command(self, stack: str) -> str:
        if self.from_file:
            return (f"base64 -w0 {self.key}.pfx | "
                    f"pulumi config set --secret --stack {stack} {self.key}")
        return f"pulumi config set --secret --stack {stack} {self.key}"


SOL_PASSWORD = StackSecret("solPassword", "PROVISIONER_SOL_PASSWORD", "the SOL user's password")
SMTP_PASSWORD = StackSecret("smtpPassword", "PROVISIONER_SMTP_PASSWORD", "the SMTP password")
ADMIN_PASSWORD = StackSecret("adminPassword", "PROVISIONER_ADMIN_PASSWORD",
                             "the admin user's password")
CERTIFICATE = StackSecret("certificate", "PROVISIONER_CERTIFICATE",
                          "the signing certificate: the .pfx in base64 (or a PEM)",
                          from_file=True)
CERTIFICATE_PASSWORD = StackSecret("certificatePassword", "PROVISIONER_CERTIFICATE_PASSWORD",
                                   "the certificate's password")

# Platform secrets (the platform's stack config, or the environment for `provisioner onboard`):
APP_KEY = StackSecret("appKey", "PROVISIONER_APP_KEY",
                      "the app's APP_KEY, verbatim (base64: prefix included)")
APP_DATABASE_PASSWORD = StackSecret("appDatabasePassword", "PROVISIONER_APP_DB_PASSWORD",
                                    "the password of reseller.yaml's app.system_database.user")

ALL_SECRETS: Final = (SOL_PASSWORD, SMTP_PASSWORD, ADMIN_PASSWORD, CERTIFICATE,
                      CERTIFICATE_PASSWORD, APP_KEY, APP_DATABASE_PASSWORD)


def required_stack_secrets(spec: TenantSpec) -> list[StackSecret]:
    """The stack secrets this tenant cannot be provisioned without."""
    needed = []
    if spec.soap.needs_sol_password:
        needed.append(SOL_PASSWORD)
    if spec.smtp is not None:
        needed.append(SMTP_PASSWORD)
    if spec.admin_password == "stack_secret":
        needed.append(ADMIN_PASSWORD)
    if spec.certificate:
        needed += [CERTIFICATE, CERTIFICATE_PASSWORD]
    return needed


APP_SECRETS: Final = (APP_KEY, APP_DATABASE_PASSWORD)


def secrets_to_set(spec: TenantSpec, reseller: ResellerSpec | None) -> list[StackSecret]:
    """Every secret the tenant's stack reads: its own, and with reseller.yaml's `app:` the app's
    APP_KEY and system database password (provisioner/infra/onboarding.py requires them)."""
    app = list(APP_SECRETS) if reseller is not None and reseller.app is not None else []
    return [*required_stack_secrets(spec), *app]
