"""Secrets Manager: one secret per concern, its value a secret output from the start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from provisioner import naming

Options = Callable[..., pulumi.ResourceOptions]


def resource_name(concern: str) -> str:
    """`config/tenant.env` -> `secret-config-tenant-env`: a readable logical name."""
    return "secret-" + concern.replace("/", "-").replace(".", "-")


@dataclass(frozen=True)
class SecretStore:
    prefix: str
    subdomain: str
    kms_key_id: pulumi.Input[str]
    region: str | None
    tags: dict[str, str]
    production: bool
    options: Options

    def put(self, concern: str, value: pulumi.Input[str],
            description: str) -> aws.secretsmanager.Secret:
        """A Secret (protected in production) and its current SecretVersion (never protected:
        a new value may need a new version)."""
        secret = aws.secretsmanager.Secret(
            resource_name(concern),
            name=naming.secret_name(self.prefix, self.subdomain, concern),
            description=description,
            kms_key_id=self.kms_key_id,
            # demo tenants are recreated often; a name scheduled for deletion would block that
            recovery_window_in_days=30 if self.production else 0,
            region=self.region,
            tags=self.tags,
            opts=self.options(protected=True))
        aws.secretsmanager.SecretVersion(
            f"{resource_name(concern)}-version",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(value),
            region=self.region,
            opts=self.options(secret_outputs=["secretString"]))
        return secret
