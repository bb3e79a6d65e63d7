"""The `Tenant` component: DNS, database, secrets and the published app configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import bcrypt
import pulumi
import pulumi_aws as aws
import pulumi_random as random

from provisioner import naming
from provisioner.app.adopt_first_apply import dns_import_id
from provisioner.errors import ProvisionerError
from provisioner.model.catalog import Catalog, DatabaseTier, Plan
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.model.rules import FIXED_TAG_KEYS
from provisioner.model.semantics import plan_of
from provisioner.render.context import build_context
from provisioner.render.passwords import API_TOKEN_LENGTH, admin_password_problem, to_php_bcrypt
from provisioner.render.renderer import DOCUMENTS, Renderer, renderer_for
from provisioner.render.secrets import SecretValues
from provisioner.secrets import (
    ADMIN_PASSWORD,
    CERTIFICATE,
    CERTIFICATE_PASSWORD,
    SMTP_PASSWORD,
    SOL_PASSWORD,
)
from provisioner.sunat.profile import soap_profile

from .config import PlatformOverride
from .database import SAFE_SPECIAL, Database, pool_database, silo_database
from .errors import StackError
from .platform_refs import PlatformValues, resolve_platform
from .secret_store import SecretStore

TYPE: Final = "facturador:tenants:Tenant"
MANAGED_BY: Final = "provisioner"
BCRYPT_SALT_ALPHABET_EXTRA: Final = "./"  # with letters and digits: bcrypt's base64 alphabet


@dataclass(frozen=True)
class TenantArgs:
    spec: TenantSpec
    reseller: ResellerSpec
    catalog: Catalog
    spec_root: Path  # the spec repository, for the reseller's templates_dir
    stack_secrets: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    platform: PlatformOverride = field(default_factory=PlatformOverride)


def tenant_tags(spec: TenantSpec, reseller: ResellerSpec, plan: Plan) -> dict[str, str]:
    """Reseller tags, then the spec's labels, then ours (which win): never a secret."""
    ours = zip(FIXED_TAG_KEYS,  # the keys the spec rules reserve and count, in their order
               (spec.subdomain, spec.ruc, spec.soap.environment.value, plan.name, MANAGED_BY),
               strict=True)
    return {**reseller.tags, **spec.labels, **dict(ours)}


_RENDERERS: dict[Path | None, Renderer] = {}


def _renderer(reseller: ResellerSpec, root: Path) -> Renderer:
    """One compiled renderer per templates directory: a process that runs many stacks
    (explain, tests) compiles the templates once."""
    key = (root / reseller.templates_dir).resolve() if reseller.templates_dir else None
    if key not in _RENDERERS:
        _RENDERERS[key] = renderer_for(reseller, root)
    return _RENDERERS[key]


def bcrypt_with_salt(password: str, salt: str, cost: int) -> str:
    """A reproducible bcrypt hash: the salt is generated once and kept in state, so the
    same password hashes to the same bytes on every run."""
    # 21 free characters plus '.', whose low bits bcrypt ignores: a valid 22-character salt
    full = f"$2b${cost:02d}${salt[:21]}.".encode("ascii")
    return to_php_bcrypt(bcrypt.hashpw(password.encode("utf-8"), full).decode("ascii"))


def check_admin_password_length(config: pulumi.Config, stack: str) -> None:
    """bcrypt reads at most 72 bytes: a longer adminPassword would fail (or, with older
    bcrypt, be cut) inside an `Output.apply` half-way through an update. Checked when the
    program starts, from the config value itself, so preview and up stop before any step."""
    value = config.get(ADMIN_PASSWORD.key)
    problem = admin_password_problem(value) if value is not None else None
    if problem:
        raise StackError(f"stack {stack!r}: the adminPassword stack secret {problem}. Set "
                         f"another with `{ADMIN_PASSWORD.command(stack)}`")


class Tenant(pulumi.ComponentResource):
    """One client account of the app; every child resource is parented here."""

    url: str
    fqdn: str
    database_name: str
    database_user: str
    database_endpoint: pulumi.Output[str]
    admin_password: pulumi.Output[str]
    api_token: pulumi.Output[str]
    secret_arns: dict[str, pulumi.Output[str]]
    config_documents: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TenantArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        spec, reseller = args.spec, args.reseller
        if spec.admin_password == "stack_secret":  # before anything is declared
            check_admin_password_length(pulumi.Config(), spec.subdomain)
        if spec.adopted is not None and reseller.app is None:
            raise StackError(f"tenant {spec.subdomain!r} is adopted (adopted: in its spec) but "
                             "reseller.yaml has no app: section; an adopted account is kept "
                             "through the app's databases (docs/adopt.md)")
        super().__init__(TYPE, name, None, opts)
        plan = plan_of(spec, args.catalog)
        production = spec.is_production
        prefix = reseller.database_prefix
        tags = tenant_tags(spec, reseller, plan)

        def options(*, protected: bool = False, database: bool = False,
                    secret_outputs: list[str] | None = None,
                    provider: pulumi.ProviderResource | None = None) -> pulumi.ResourceOptions:
            """Children's options: production data is protected and survives a stack delete;
            the tenant's `database` is, in every environment (docs/data-safety.md)."""
            guard = (protected and production) or database
            return pulumi.ResourceOptions(
                parent=self, protect=guard, retain_on_delete=guard,
                additional_secret_outputs=secret_outputs, provider=provider)

        platform = resolve_platform(reseller.platform, plan.tier, args.platform, self)
        self.fqdn = naming.fqdn(spec.subdomain, reseller.base_domain)
        self.url = naming.url(spec.subdomain, reseller.base_domain)
        self._dns(platform, spec)

        # generated once, kept in state; nothing random happens inside an apply. Every generated
        # secret is a RandomPassword, never a RandomString: terraform-provider-random makes a
        # random_string's id its result (internal/provider/resource_string.go `plan.ID =
        # types.StringValue(string(result))`), and a resource id is stored in the state in
        # plain text whatever the secret outputs say; a random_password's id is "none".
        db_password = random.RandomPassword(
            "database-password", length=32, special=True, override_special=SAFE_SPECIAL,
            min_lower=2, min_upper=2, min_numeric=2,
            opts=options(protected=True, secret_outputs=["result", "bcryptHash"]))
        token = random.RandomPassword(
            "api-token", length=API_TOKEN_LENGTH, special=False,
            opts=options(protected=True, secret_outputs=["result", "bcryptHash"]))
        self.api_token = pulumi.Output.secret(token.result)
        self.admin_password, admin_hash = self._admin_password(args, options)

        self.database_name = naming.database_name(prefix, spec.subdomain)
        self.database_user = naming.database_user(prefix, spec.subdomain,
                                                  silo=plan.tier is DatabaseTier.SILO)
        silo = plan.tier is DatabaseTier.SILO
        app_parts = self._app_website(args, silo, token.result, admin_hash) \
            if reseller.app is not None else None
        # with the app: the pooled tenant user is hyn's, with hyn's password
        tenant_password = app_parts[1] if app_parts and not silo else db_password.result
        database = self._database(args, plan, platform, tenant_password, tags, options)
        self.app_connection = self._app_account(args, silo, app_parts, database,
                                                db_password.result, token.result, admin_hash)
        self.database_endpoint = pulumi.Output.concat(
            database.host, ":", database.port.apply(str))

        store = SecretStore(prefix, spec.subdomain, platform["kms_key_id"], platform.region,
                            tags, production, options)
        self.secret_arns = self._secrets(args, store, database, tenant_password)
        self.config_documents = self._published_config(
            args, database, SecretInputs(tenant_password, self.admin_password, admin_hash,
                                         self.api_token, args.stack_secrets))
        for document, text in self.config_documents.items():
            concern = f"config/{document}"
            self.secret_arns[concern] = store.put(
                concern, text, f"{document} of {self.fqdn}, rendered from tenant_templates/").arn

        self.register_outputs({
            "url": self.url,
            "fqdn": self.fqdn,
            "databaseName": self.database_name,
            "databaseEndpoint": self.database_endpoint,
            "secretArns": self.secret_arns,
            "adminPassword": self.admin_password,
        })

    def _app_website(self, args: TenantArgs, silo: bool, token: pulumi.Output[str],
                     admin_hash: pulumi.Output[str]) -> tuple[Any, ...]:
        from .onboarding import app_secrets, onboard

        app_key, system_password = app_secrets(pulumi.Config(), args.spec.subdomain)
        website, password = onboard(
            spec=args.spec, reseller=args.reseller, catalog=args.catalog, silo=silo,
            app_key=app_key, system_password=system_password, token=token,
            password_hash=admin_hash, parent=self)
        return website, password, app_key, system_password

    def _app_account(self, args: TenantArgs, silo: bool, app_parts: tuple[Any, ...] | None,
                     database: Database, master_password: pulumi.Output[str],
                     token: pulumi.Output[str], admin_hash: pulumi.Output[str]) -> Any:
        """The onboarding steps after the database (provisioner/infra/onboarding.py); the silo
        tenant's connection entry for the app's config/database.php, else None."""
        if app_parts is None:
            return None
        from .onboarding import connection_entry, finish

        website, _password, app_key, system_password = app_parts
        server = {"host": database.host, "port": database.port,
                  "user": database.username} if silo else None
        finish(spec=args.spec, reseller=args.reseller, catalog=args.catalog, silo=silo,
               website=website, app_key=app_key, system_password=system_password, token=token,
               password_hash=admin_hash, stack_secrets=args.stack_secrets,
               after=list(database.resources), tenant_server=server,
               tenant_admin_password=master_password if silo else None, parent=self)
        if not silo:
            return None
        return connection_entry(args.spec.subdomain, args.reseller.database_prefix,
                                database.host, database.port)

    def _dns(self, platform: PlatformValues, spec: TenantSpec) -> None:
        alias = aws.route53.RecordAliasArgs(
            name=platform["load_balancer_dns_name"], zone_id=platform["load_balancer_zone_id"],
            evaluate_target_health=True)
        kinds = ["A", "AAAA"] if platform.ipv6 else ["A"]
        zone = platform["hosted_zone_id"]
        adopt_dns = spec.adopted is not None and spec.adopted.dns_record
        if adopt_dns and not isinstance(zone, str):
            # an import id is a plain string sent with the registration (the SDK's
            # RegisterResourceRequest.importId), so it cannot wait for a StackReference output
            raise StackError(f"tenant {spec.subdomain!r}: adopted.dns_record imports the "
                             "existing Route53 record, whose import id needs the hosted zone id "
                             "before the program runs: set reseller.yaml platform.hosted_zone_id "
                             "(or stack config hostedZoneId)")
        for kind in kinds:
            aws.route53.Record(
                f"dns-{kind.lower()}", zone_id=zone, name=self.fqdn,
                type=kind, aliases=[alias], opts=pulumi.ResourceOptions(
                    parent=self,
                    import_=dns_import_id(str(zone), self.fqdn, kind) if adopt_dns else None))

    def _admin_password(self, args: TenantArgs, options: Any) -> tuple[pulumi.Output[str],
                                                                        pulumi.Output[str]]:
        """The admin's password and its PHP bcrypt hash, both secret."""
        if args.spec.admin_password == "stack_secret":
            password = args.stack_secrets[ADMIN_PASSWORD.key]
            salt = random.RandomPassword(  # not a RandomString: see the api-token above
                "admin-password-salt", length=21, special=True,
                override_special=BCRYPT_SALT_ALPHABET_EXTRA,
                opts=options(protected=True, secret_outputs=["result", "bcryptHash"]))
            cost = args.reseller.bcrypt_cost
            hashed = pulumi.Output.all(password, salt.result).apply(
                lambda v: bcrypt_with_salt(v[0], v[1], cost))
            return pulumi.Output.secret(password), pulumi.Output.secret(hashed)
        generated = random.RandomPassword(
            "admin-password", length=20, special=True, override_special=SAFE_SPECIAL,
            min_lower=2, min_upper=2, min_numeric=2,
            opts=options(protected=True, secret_outputs=["result", "bcryptHash"]))
        return (pulumi.Output.secret(generated.result),
                pulumi.Output.secret(generated.bcrypt_hash.apply(to_php_bcrypt)))

    def _database(self, args: TenantArgs, plan: Plan, platform: PlatformValues,
                  password: pulumi.Output[str], tags: dict[str, str], options: Any) -> Database:
        if plan.tier is DatabaseTier.SILO:
            return silo_database(
                name=self.database_name, username=self.database_user, password=password,
                prefix=args.reseller.database_prefix, subdomain=args.spec.subdomain,
                production=args.spec.is_production,
                instance_class=args.reseller.platform.silo_instance_class, platform=platform,
                tags=tags, parent=self, options=options, adopted=args.spec.adopted is not None)
        return pool_database(name=self.database_name, username=self.database_user,
                             password=password, platform=platform, parent=self, options=options,
                             adopted=args.spec.adopted is not None)

    def _secrets(self, args: TenantArgs, store: SecretStore, database: Database,
                 db_password: pulumi.Output[str]) -> dict[str, pulumi.Output[str]]:
        spec, found = args.spec, args.stack_secrets
        arns: dict[str, pulumi.Output[str]] = {}
        arns["database"] = store.put("database", pulumi.Output.json_dumps({
            "engine": "mysql", "host": database.host, "port": database.port,
            "database": database.name, "username": database.username,
            "password": db_password}), f"MySQL credentials of {self.fqdn}").arn
        arns["admin"] = store.put("admin", pulumi.Output.json_dumps({
            "email": spec.admin_email, "password": self.admin_password,
            "api_token": self.api_token}), f"admin user and API token of {self.fqdn}").arn
        if spec.soap.needs_sol_password:
            arns["sol"] = store.put("sol", pulumi.Output.json_dumps({
                "username": soap_profile(spec).username,
                "password": found[SOL_PASSWORD.key]}),
                f"{spec.soap.send.value.upper()} credentials of {spec.ruc}").arn
        if spec.smtp is not None:
            arns["smtp"] = store.put("smtp", pulumi.Output.json_dumps({
                "host": spec.smtp.host, "port": spec.smtp.port, "username": spec.smtp.username,
                "password": found[SMTP_PASSWORD.key]}), f"SMTP account of {self.fqdn}").arn
        if spec.certificate:
            arns["certificate"] = store.put("certificate", pulumi.Output.json_dumps({
                "certificate": found[CERTIFICATE.key],
                "password": found[CERTIFICATE_PASSWORD.key]}),
                f"signing certificate of {spec.ruc}").arn
        return arns

    def _published_config(self, args: TenantArgs, database: Database,
                          inputs: SecretInputs) -> dict[str, pulumi.Output[str]]:
        """tenant.env and bootstrap.json from the real values; a template or spec change
        touches only these secrets' versions."""
        try:
            renderer = _renderer(args.reseller, args.spec_root)
        except ProvisionerError as exc:
            raise StackError(str(exc)) from None
        spec, reseller, catalog = args.spec, args.reseller, args.catalog
        found = inputs.stack_secrets

        def render(v: dict[str, Any]) -> dict[str, str]:
            values = SecretValues(
                db_password=v["db_password"], admin_password=v["admin_password"],
                admin_password_hash=v["admin_hash"], api_token=v["api_token"],
                sol_password=v.get("sol"), smtp_password=v.get("smtp"),
                certificate=v.get("certificate"), certificate_password=v.get("cert_password"))
            try:
                context = build_context(spec, reseller, catalog, values,
                                        db_host=v["db_host"], db_port=int(v["db_port"]))
                return renderer.render_all(context)
            except ProvisionerError as exc:
                raise StackError(str(exc)) from None

        wanted: dict[str, pulumi.Input[Any]] = {
            "db_host": database.host, "db_port": database.port,
            "db_password": inputs.db_password, "admin_password": inputs.admin_password,
            "admin_hash": inputs.admin_hash, "api_token": inputs.api_token}
        optional = {"sol": SOL_PASSWORD, "smtp": SMTP_PASSWORD, "certificate": CERTIFICATE,
                    "cert_password": CERTIFICATE_PASSWORD}
        for name, secret in optional.items():
            if secret.key in found:
                wanted[name] = found[secret.key]
        rendered = pulumi.Output.secret(pulumi.Output.all(**wanted).apply(render))
        return {doc: pulumi.Output.secret(rendered.apply(lambda d, doc=doc: d[doc]))
                for doc in DOCUMENTS}


@dataclass(frozen=True)
class SecretInputs:
    db_password: pulumi.Output[str]
    admin_password: pulumi.Output[str]
    admin_hash: pulumi.Output[str]
    api_token: pulumi.Output[str]
    stack_secrets: dict[str, pulumi.Output[str]]
