"""Rendering one tenant's documents outside Pulumi: masked for review, or revealed from the
environment for an operator who needs the real files."""

from __future__ import annotations

import os
from dataclasses import dataclass

from provisioner.errors import MissingSecretError
from provisioner.model.catalog import Catalog, DatabaseTier
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.model.rules import ADMIN_PASSWORD_MIN_LENGTH
from provisioner.model.semantics import plan_of
from provisioner.render.context import build_context
from provisioner.render.passwords import (
    bcrypt_length_problem,
    new_api_token,
    new_password,
    php_bcrypt,
)
from provisioner.render.renderer import Renderer
from provisioner.render.secrets import SecretValues
from provisioner.secrets import (
    ADMIN_PASSWORD,
    ALL_SECRETS,
    CERTIFICATE,
    CERTIFICATE_PASSWORD,
    SMTP_PASSWORD,
    SOL_PASSWORD,
    StackSecret,
    required_stack_secrets,
)

# Generated values that Pulumi keeps in state; `render --reveal` takes them from here or makes
# new ones (and says so).
DB_PASSWORD_ENV = "PROVISIONER_DB_PASSWORD"
API_TOKEN_ENV = "PROVISIONER_API_TOKEN"
SILO_HOST_PLACEHOLDER = "(endpoint of the tenant's RDS instance)"
PLATFORM_HOST_PLACEHOLDER = "(shared database host from the platform stack)"


@dataclass(frozen=True)
class Rendered:
    documents: dict[str, str]
    secrets: SecretValues
    generated: list[str]  # env vars that were absent, so values were generated


def database_endpoint(spec: TenantSpec, reseller: ResellerSpec,
                      catalog: Catalog) -> tuple[str, int]:
    """What the rendered config can say about the database before the stack has run."""
    if plan_of(spec, catalog).tier is DatabaseTier.SILO:
        return SILO_HOST_PLACEHOLDER, 3306
    shared = reseller.platform.shared_database
    return (shared.host, shared.port) if shared else (PLATFORM_HOST_PLACEHOLDER, 3306)


def masked_secrets(spec: TenantSpec) -> SecretValues:
    return SecretValues.masked(sol=spec.soap.needs_sol_password, smtp=spec.smtp is not None,
                               certificate=spec.certificate)


def revealed_secrets(spec: TenantSpec, reseller: ResellerSpec,
                     environ: dict[str, str] | None = None) -> tuple[SecretValues, list[str]]:
    environ = dict(os.environ if environ is None else environ)
    missing = [s for s in required_stack_secrets(spec) if not environ.get(s.env)]
    if missing:
        raise MissingSecretError("--reveal needs " + ", ".join(
            f"{s.env} ({s.what})" for s in missing))
    # a value that was not UTF-8 reaches Python as lone surrogates: it cannot be written out
    used = [*(s.env for s in ALL_SECRETS), DB_PASSWORD_ENV, API_TOKEN_ENV]
    undecodable = [env for env in used if not _is_text(environ.get(env) or "")]
    if undecodable:
        raise MissingSecretError(f"{', '.join(undecodable)}: not valid UTF-8 text (check the "
                                 "encoding of the value); nothing was rendered")
    given_admin = environ.get(ADMIN_PASSWORD.env)
    if given_admin and len(given_admin) < ADMIN_PASSWORD_MIN_LENGTH:
        raise MissingSecretError(
            f"{ADMIN_PASSWORD.env} has {len(given_admin)} characters; the app requires at least "
            f"{ADMIN_PASSWORD_MIN_LENGTH} for the admin password; nothing was rendered")
    generated = []

    def generated_or(env: str, make: str) -> str:
        if environ.get(env):
            return environ[env]
        generated.append(env)
        return make

    def get(secret: StackSecret, needed: bool) -> str | None:
        return environ[secret.env] if needed else None

    admin_password = (environ[ADMIN_PASSWORD.env] if spec.admin_password == "stack_secret"
                      else generated_or(ADMIN_PASSWORD.env, new_password()))
    too_long = bcrypt_length_problem(admin_password)
    if too_long:
        raise MissingSecretError(f"{ADMIN_PASSWORD.env} {too_long}: set a shorter one; "
                                 "nothing was rendered")
    values = SecretValues(
        db_password=generated_or(DB_PASSWORD_ENV, new_password()),
        admin_password=admin_password,
        admin_password_hash=php_bcrypt(admin_password, reseller.bcrypt_cost),
        api_token=generated_or(API_TOKEN_ENV, new_api_token()),
        sol_password=get(SOL_PASSWORD, spec.soap.needs_sol_password),
        smtp_password=get(SMTP_PASSWORD, spec.smtp is not None),
        certificate=get(CERTIFICATE, spec.certificate),
        certificate_password=get(CERTIFICATE_PASSWORD, spec.certificate),
    )
    return values, generated


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def render_tenant(renderer: Renderer, spec: TenantSpec, reseller: ResellerSpec,
                  catalog: Catalog, secrets: SecretValues,
                  documents: tuple[str, ...] | None = None) -> dict[str, str]:
    host, port = database_endpoint(spec, reseller, catalog)
    context = build_context(spec, reseller, catalog, secrets, db_host=host, db_port=port)
    if documents is None:
        return renderer.render_all(context)
    return {doc: renderer.render(doc, context) for doc in documents}
