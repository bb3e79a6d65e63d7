"""The tenant as an account of the app: the onboarding steps as resources of the tenant's stack.

Order (explicit `depends_on`, besides the outputs that flow between them):
  app-website   websites + hostnames rows -> website_id
  (pool) the existing pulumi-mysql user `<uuid>` gets hyn's password md5(appKey.'.'.website_id)
  (silo) app-database: the `<uuid>` user and database on the tenant's RDS instance
  app-migrate   the app's tenancy:migrate / tenancy:db:seed (and the certificate file)
  app-account   the clients row, the tenant rows, and day-2 sync (update() / lock buttons)

Dynamic resources (provisioner/app/dynamic.py) rather than pulumi-command: the steps are Python
that must read the databases before writing (idempotence, refusing foreign accounts), which a
shell command resource could not do without a second copy of that logic.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from provisioner import naming
from provisioner.app.account import DesiredAccount, desired_account
from provisioner.app.dynamic import StepsProvider
from provisioner.app.tenant_database import hyn_password
from provisioner.model.catalog import Catalog
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.secrets import APP_DATABASE_PASSWORD, APP_KEY, APP_SECRETS

from .errors import StackError

STEP_TYPE = "pulumi-python:dynamic/app:Step"


class AppStep(Resource, module="app", name="Step"):
    """Some onboarding steps, run by StepsProvider; `website_id` is learnt by the first."""

    website_id: pulumi.Output[int]
    changes: pulumi.Output[list[str]]

    def __init__(self, name: str, props: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(StepsProvider(), name, {**props, "name": name, "website_id": None,
                                                 "changes": None}, opts)


def _account_json(d: DesiredAccount) -> str:
    data = dataclasses.asdict(d)
    data["smtp"]["password"] = str(d.smtp.password) if d.smtp.password else None
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


@dataclasses.dataclass
class AppAccount:
    website: AppStep
    tenant_password: pulumi.Output[str]  # hyn's password for the `<uuid>` user
    last: AppStep
    connection_entry: dict[str, Any] | None


def app_secrets(config: pulumi.Config, stack: str) -> tuple[pulumi.Output[str],
                                                            pulumi.Output[str]]:
    missing = [s for s in APP_SECRETS if config.get_secret(s.key) is None]
    if missing:
        raise StackError(f"stack {stack!r} needs the app's platform secrets; set them with:\n"
                         + "\n".join(f"  {s.what}: {s.command(stack)}" for s in missing))
    return config.require_secret(APP_KEY.key), config.require_secret(APP_DATABASE_PASSWORD.key)


def onboard(*, spec: TenantSpec, reseller: ResellerSpec, catalog: Catalog, silo: bool,
            app_key: pulumi.Output[str], system_password: pulumi.Output[str],
            token: pulumi.Output[str], password_hash: pulumi.Output[str],
            parent: pulumi.Resource) -> tuple[AppStep, pulumi.Output[str]]:
    """The website step and hyn's password for the tenant user (made by the database code)."""
    app = reseller.app
    assert app is not None
    desired = desired_account(spec, reseller, catalog, silo=silo)
    website = AppStep("app-website", _props("website", ["website"], desired, reseller, spec,
                                            pulumi.Output.json_dumps(
                                                {"app_key": app_key,
                                                 "system_password": system_password})),
                      opts=_options(parent, spec.is_production))
    # an adopted account's id is known before `up` (its spec's adopted.website_id, the id the
    # website step finds in our journal): hyn's password for it is the one the app already uses
    website_id = spec.adopted.website_id if spec.adopted is not None else website.website_id
    password = pulumi.Output.secret(pulumi.Output.all(app_key, website_id).apply(
        lambda v: hyn_password(v[0], v[1]) if v[1] is not None else ""))
    return website, password


def finish(*, spec: TenantSpec, reseller: ResellerSpec, catalog: Catalog, silo: bool,
           website: AppStep, app_key: pulumi.Output[str], system_password: pulumi.Output[str],
           token: pulumi.Output[str], password_hash: pulumi.Output[str],
           stack_secrets: dict[str, pulumi.Output[str]], after: list[pulumi.Resource],
           tenant_server: dict[str, Any] | None, tenant_admin_password: pulumi.Input[str] | None,
           parent: pulumi.Resource) -> AppStep:
    """migrate/seed (+ certificate) after the database exists, then the account rows."""
    app = reseller.app
    assert app is not None
    sol = stack_secrets.get("solPassword")
    smtp = stack_secrets.get("smtpPassword")
    certificate = stack_secrets.get("certificate")
    certificate_password = stack_secrets.get("certificatePassword")

    def account(values: list[Any]) -> str:
        sol_v, smtp_v = values
        name = f"certificate_{spec.ruc}.pem" if spec.certificate else None
        return _account_json(desired_account(spec, reseller, catalog, sol_password=sol_v,
                                             smtp_password=smtp_v, certificate_name=name,
                                             silo=silo))

    account_json = pulumi.Output.secret(pulumi.Output.all(sol, smtp).apply(account))
    # the certificate is converted and checked (validity, RUC, key) by the provider at `up`
    secrets = pulumi.Output.json_dumps({
        "app_key": app_key, "system_password": system_password, "token": token,
        "password_hash": password_hash, "tenant_password": tenant_admin_password,
        "certificate": certificate, "certificate_password": certificate_password})
    steps = ["migrate", "seed", *(["certificate"] if spec.certificate else [])]
    adopted = spec.adopted is not None
    # silo, and an adopted pooled account (whose hyn user pulumi-mysql cannot import): the
    # `<uuid>` user and grant are hyn's, kept by this step; it writes nothing while they log in
    if silo or adopted:
        steps.insert(0, "database")
    migrate = AppStep("app-migrate", {
        **_props("migrate", steps, None, reseller, spec, secrets),
        "account": account_json, "tenant_server": tenant_server,
        **({"user_host": spec.adopted.database_user_host}
           if spec.adopted is not None and not silo else {})},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[website, *after]))
    return AppStep("app-account", {
        **_props("account", ["client", "tenant", "sync"], None, reseller, spec, secrets),
        "account": account_json, "tenant_server": tenant_server,
        # the catalog's plan, which the account's rows do not hold (they name the plan): an
        # edit of its limits in reseller.yaml must re-run the sync, which copies the app's
        # `plans` row into the tenant's configuration as update() does (docs/app.md)
        "plan": catalog.plans[spec.plan].app_json()},
        opts=_options(parent, spec.is_production, depends_on=[migrate]))


def _options(parent: pulumi.Resource, production: bool,
             depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
    """The website and the account hold the client's account: production keeps them (protect,
    and retain_on_delete so a stack removal never runs destroy() on them)."""
    return pulumi.ResourceOptions(parent=parent, protect=production, retain_on_delete=production,
                                  depends_on=depends_on)


def _props(kind: str, steps: list[str], desired: DesiredAccount | None,
           reseller: ResellerSpec, spec: TenantSpec, secrets: pulumi.Input[str]) -> dict[str, Any]:
    app = reseller.app
    assert app is not None
    db = app.system_database
    return {
        "uuid": naming.database_name(reseller.database_prefix, spec.subdomain),
        "steps": steps, "stack": spec.subdomain, "production": spec.is_production,
        "account": _account_json(desired) if desired is not None else None,
        "system": {"host": db.host, "port": db.port, "user": db.user, "database": db.database},
        "commands": app.commands.model_dump(),
        "start_billing_cycle": app.start_billing_cycle == "creation_date",
        "drop_database": app.delete_tenant_database,
        "drop_user": app.delete_tenant_database_user,
        "secrets": pulumi.Output.secret(secrets),
    }


def connection_entry(subdomain: str, prefix: str, host: pulumi.Input[str],
                     port: pulumi.Input[int]) -> dict[str, Any]:
    """The `config/database.php` connection hyn uses for a silo tenant (its website's
    managed_by_database_connection); hyn sets the tenant's username, database and password."""
    uuid = naming.database_name(prefix, subdomain)
    return {naming.database_connection(subdomain): {
        "driver": "mysql", "host": host, "port": port, "database": uuid, "username": uuid,
        "charset": "utf8mb4", "collation": "utf8mb4_unicode_ci", "prefix": "",
        "strict": False}}
