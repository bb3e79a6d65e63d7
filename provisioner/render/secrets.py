"""The secret and generated values the rendered documents carry: real inside the Pulumi program
(where the documents are secret outputs), masked everywhere else."""

from __future__ import annotations

from dataclasses import dataclass, fields

from provisioner.secrets import MASK


@dataclass(frozen=True)
class SecretValues:
    db_password: str
    admin_password: str
    admin_password_hash: str  # bcrypt, in PHP's $2y$ form
    api_token: str  # 50 characters, the app's clients.token
    sol_password: str | None = None  # None: the tenant sends no SOL credentials
    smtp_password: str | None = None
    certificate: str | None = None  # PEM
    certificate_password: str | None = None

    @classmethod
    def masked(cls, *, sol: bool, smtp: bool, certificate: bool) -> SecretValues:
        return cls(MASK, MASK, MASK, MASK, MASK if sol else None, MASK if smtp else None,
                   MASK if certificate else None, MASK if certificate else None)

    def values(self) -> list[str]:
        """Every secret value present, for redaction and for tests that search output."""
        return [v for f in fields(self) if (v := getattr(self, f.name))]
