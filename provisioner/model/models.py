"""The shape of the two file kinds: a tenant spec and the reseller file.

Structural rules live here; rules that need the catalog or other files live in
`provisioner.model.semantics` and `provisioner.model.crossfile`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from provisioner.doc_links import doc_url
from provisioner.model.catalog import ModuleDef, Plan
from provisioner.model.rules import (
    AWS_MAX_TAGS,
    FIXED_TAG_KEYS,
    RESERVED_SUBDOMAINS,
    SUBDOMAIN_PATTERN,
    tag_key_problem,
    validate_email_address,
)
from provisioner.model.store_defaults import APP_TIMEZONE
from provisioner.safe_text import printable_problem

SCHEMA_BASE = "https://provisioner.invalid/schema"
# `<tier>:<database name>`: where a tenant's data lives (provisioner.orchestrate.policy)
DATABASE_IDENTITY_PATTERN = r"^(pool|silo):[a-z][a-z0-9_]{0,79}$"


def _int_to_str(value: Any) -> Any:
    """YAML reads an unquoted RUC as a number; RUCs never start with 0, so this is lossless."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _refusing(problem: Callable[[str], str | None]) -> Callable[[str], str]:
    """A validator from a rule that says what is wrong with a value (or None): the rule stays
    one function that the form, `new` and the findings share."""
    def check(value: str) -> str:
        if why := problem(value):
            raise ValueError(why)
        return value
    return check


# No control or invisible characters (NUL, ESC, CR, U+2028, bidi overrides): they break
# tenant.env and logs, and a CR does not survive a round trip through an env file.
_printable = _refusing(printable_problem)


def _no_userinfo(value: str) -> str:
    """A URL never carries `user:password@`: it would be printed, logged and committed."""
    if "@" in urlsplit(value).netloc:
        raise ValueError("must not hold a user or password (user:password@host); credentials "
                         "are secrets, given apart from the URL")
    return value


_tag_key = _refusing(tag_key_problem)


# Patterns say [0-9], never \d: pydantic's regex engine takes \d as any Unicode digit
# (full-width, Arabic-Indic...). The pattern goes before the validator: after it, pydantic
# leaves it out of the JSON Schema.
Ruc = Annotated[str, Field(pattern=r"^[0-9]{11}$", description="RUC, 11 digits"),
                BeforeValidator(_int_to_str)]
Hostname = Annotated[str, Field(
    max_length=253, pattern=r"^([a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    description="A lower-case DNS name")]
HttpsUrl = Annotated[str, Field(pattern=r"^https://[^\s/$.?#][^\s]*$", max_length=2048),
                     AfterValidator(_printable), AfterValidator(_no_userinfo)]
# AWS tag rules: keys 1-128, values 0-256 characters, `aws:` reserved; never a secret's name
LabelKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/=+\-@]{1,128}$"),
                     AfterValidator(_tag_key)]
LabelValue = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/=+\-@ ]{0,256}$")]
Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_printable)]
SUNAT_SOL_USER = re.compile(r"[A-Za-z0-9]{1,30}")
# pydantic's EmailStr, with a fast path for plain addresses (see `validate_email_address`)
EmailAddress = Annotated[str, AfterValidator(validate_email_address),
                         WithJsonSchema({"type": "string", "format": "email"})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class SoapSend(StrEnum):
    SUNAT = "sunat"
    OSE = "ose"

    @property
    def app_code(self) -> str:
        return {"sunat": "01", "ose": "02"}[self.value]


class SoapEnvironment(StrEnum):
    DEMO = "demo"
    PRODUCTION = "production"
    INTERNAL = "internal"

    @property
    def app_code(self) -> str:
        return {"demo": "01", "production": "02", "internal": "03"}[self.value]


class Soap(Strict):
    """The form's "Entorno del sistema": where documents go and with which SOL user."""

    send: SoapSend = SoapSend.SUNAT
    environment: SoapEnvironment = SoapEnvironment.DEMO
    sol_user: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_printable),
                        BeforeValidator(_int_to_str)] | None = Field(
        None, description="Secondary SOL user, without the RUC (SUNAT: 1 to 30 letters and "
                          "digits; an OSE's username is free text, as the app's "
                          "soap_username). Required in production; for an OSE in demo "
                          "optional (absent: the admin's pre-filled user, as the app's form "
                          "sends it). The password is a stack secret.")
    ose_url: HttpsUrl | None = Field(None, description="The OSE's billService URL (https).")
    ose_username_format: Literal["ruc_user", "ruc"] = Field(
        "ruc_user", description="ruc_user: <RUC><SOL user>; ruc: the bare RUC (some OSEs).")

    @model_validator(mode="after")
    def _environment_needs(self) -> Soap:
        if self.send is SoapSend.OSE and not self.ose_url:
            raise ValueError("ose_url is required when send is 'ose'")
        if self.send is SoapSend.SUNAT and self.ose_url:
            raise ValueError("ose_url is only used when send is 'ose'")
        if (self.send is SoapSend.SUNAT and self.sol_user is not None
                and not SUNAT_SOL_USER.fullmatch(self.sol_user)):
            raise ValueError("sol_user must be 1 to 30 letters and digits for SUNAT (an OSE's "
                             "username may be any text)")
        if self.needs_sol_user and not self.sol_user:
            raise ValueError(
                f"sol_user is required for {self.send.value} {self.environment.value}"
                " (the secondary SOL user, without the RUC)")
        return self

    @property
    def enters_user(self) -> bool:
        """The form shows and sends the "Usuario Secundario Sunat" fields: in production, and
        for an OSE in demo or internal when a user is given (the "Ingresar Usuario" box that
        form.vue shows only for OSE + demo); otherwise it sends what it pre-filled from the
        admin's configuration."""
        if self.environment is SoapEnvironment.PRODUCTION:
            return True
        return self.send is SoapSend.OSE and (self.sol_user is not None
                                              or self.ose_username_format == "ruc")

    @property
    def needs_sol_user(self) -> bool:
        """Only production asks for the user: the app's form hides it for an OSE in demo."""
        if self.environment is not SoapEnvironment.PRODUCTION:
            return False
        if self.send is SoapSend.OSE:
            return self.ose_username_format == "ruc_user"
        return True

    @property
    def needs_sol_password(self) -> bool:
        """SUNAT demo uses the public MODDATOS credentials, an OSE in demo without a user the
        admin's pre-filled ones; a user that is sent needs its password."""
        if self.environment is SoapEnvironment.INTERNAL:
            return False
        return self.enters_user


class Smtp(Strict):
    """The tenant's own mailer; absent means the platform's default mailer."""

    host: Hostname
    port: int = Field(465, ge=1, le=65535)
    username: Annotated[str, AfterValidator(_printable)] = Field(min_length=1, max_length=255)
    encryption: Literal["ssl", "tls", "none"] = "ssl"
    from_address: EmailAddress | None = None
    from_name: Name | None = None

    @model_validator(mode="after")
    def _has_a_sender(self) -> Smtp:
        """The app sets only the SMTP host, port, user, password and encryption per client
        (pro9 `ClientController::applyMailConfiguration`); the sender is ours to give, and
        without `from_address` it is the username (render/context.py): then it must be an
        e-mail address, or every message leaves with an invalid From."""
        if self.from_address is None:
            try:
                validate_email_address(self.username)
            except ValueError:
                raise ValueError(
                    f"username {self.username[:80]!r} is not an e-mail address, so it cannot "
                    "be the sender: give smtp.from_address") from None
        return self


ModuleName = Annotated[str, Field(min_length=1, max_length=64)]


class Modules(Strict):
    """A preset ("giro de negocio") with add/remove, or an explicit `include` list."""

    preset: str | None = Field(None, description="basico, hotel, farmacia, restaurante, ...")
    include: list[ModuleName] | None = Field(None, description="Explicit module list.")
    add: list[ModuleName] = Field(default_factory=list)
    remove: list[ModuleName] = Field(default_factory=list)
    levels: dict[ModuleName, list[ModuleName]] = Field(
        default_factory=dict,
        description="Levels (sub-modules) per module; a module not listed gets all its levels.")

    @model_validator(mode="after")
    def _one_source(self) -> Modules:
        if (self.preset is None) == (self.include is None):
            raise ValueError("give exactly one of 'preset' or 'include'")
        if self.include is not None and (self.add or self.remove):
            raise ValueError("'add' and 'remove' go with 'preset'; list the modules in 'include'")
        return self


class Adopted(Strict):
    """An account the app had before this tool (written by `provisioner adopt`): the stack
    imports its database (and DNS record) instead of creating them, and keeps hyn's user."""

    website_id: int = Field(ge=1, description="The app's websites.id (hyn's password uses it)")
    database_user_host: str = Field(
        "%", pattern=r"^[A-Za-z0-9_.%:\-]{1,255}$",
        description="The host of the `<uuid>` database user hyn created")
    dns_record: StrictBool = Field(
        False, description="A Route53 record for the subdomain exists and is imported "
                           "(false: the app is reached through a wildcard record)")


class TenantSpec(Strict):
    """One client account, as the "Nuevo cliente" form collects it (passwords excepted)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, frozen=True,
        json_schema_extra={"$id": f"{SCHEMA_BASE}/tenant.json"})

    ruc: Ruc
    company_name: Name = Field(description="Razón social")
    trade_name: Name | None = Field(None, description="Nombre comercial; defaults to company_name")
    subdomain: str = Field(min_length=1, max_length=63,
                           json_schema_extra={"pattern": SUBDOMAIN_PATTERN.pattern})
    admin_email: EmailAddress
    user_type: Literal["admin", "integrator"] = "admin"
    admin_password: Literal["generate", "stack_secret"] = Field(
        "generate",
        description="generate: the stack creates one; stack_secret: "
                    "`pulumi config set --secret adminPassword`")
    plan: str = Field(min_length=1, description="A plan name from the catalog")
    limit_emission: StrictBool = Field(False, description="Limitar emisión de documentos")
    modules: Modules = Field(default_factory=lambda: Modules(preset="basico"))
    soap: Soap = Field(default_factory=Soap)
    smtp: Smtp | None = None
    certificate: StrictBool = Field(
        False, description="A signing certificate (PKCS#12 .pfx, base64, or PEM) and its "
                           "password come as stack secrets")
    allow_production_switch: StrictBool = Field(
        True, description="The client may switch itself from demo to production "
                          "(the app's config_system_env)")
    suspended: StrictBool = Field(
        False, description="The account is locked (the app's 'Bloquear cuenta': locked_tenant)")
    lock_users: StrictBool = Field(
        False, description="The client may not create users (the app's locked_users)")
    acknowledge_demo_history: StrictBool = Field(
        False, description="Confirms that a tenant moving from demo to production keeps its "
                           "demo data")
    acknowledge_new_database: str | None = Field(
        None, pattern=DATABASE_IDENTITY_PATTERN,
        description="Confirms a change that gives this tenant a new, empty database (plan tier "
                    "pool<->silo, database_prefix, subdomain): the new database as "
                    "`provisioner plan` names it, e.g. 'silo:tenancy_hotelsol'. The old one is "
                    f"kept, not copied ({doc_url('docs/data-safety.md')})")
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    sunat_alternate_server: StrictBool | None = Field(
        None, description="Send production documents to SUNAT's alternate server (the app's "
                          "per-tenant configurations.sunat_alternate_server); absent: the "
                          "reseller's sunat_alternate_server")
    adopted: Adopted | None = Field(
        None, description="Set by `provisioner adopt`: the account existed in the app "
                          "(its website id, database user host, DNS record); see "
                          f"{doc_url('docs/adopt.md')}")

    @field_validator("subdomain", mode="after")
    @classmethod
    def _subdomain(cls, value: str) -> str:
        if not SUBDOMAIN_PATTERN.fullmatch(value):
            raise ValueError("letters and digits only (no accents, ñ, dots, hyphens or spaces)")
        value = value.lower()
        if value in RESERVED_SUBDOMAINS:
            raise ValueError(f"{value!r} is reserved for the platform")
        return value

    @property
    def display_trade_name(self) -> str:
        return self.trade_name or self.company_name

    @property
    def is_production(self) -> bool:
        return self.soap.environment is SoapEnvironment.PRODUCTION

    def uses_alternate_server(self, reseller_default: bool) -> bool:
        """The tenant's own setting, else the reseller's."""
        return (reseller_default if self.sunat_alternate_server is None
                else self.sunat_alternate_server)


class LoadBalancer(Strict):
    dns_name: Hostname
    zone_id: str = Field(pattern=r"^Z[A-Z0-9]{4,32}$")


class SharedDatabase(Strict):
    host: Hostname
    port: int = Field(3306, ge=1, le=65535)
    admin_user: str = Field("admin", min_length=1, max_length=32)
    admin_secret_arn: str = Field(
        pattern=r"^arn:aws[a-z\-]*:secretsmanager:[a-z0-9\-]+:[0-9]{12}:secret:[!-~]+$",
        description="Secrets Manager secret holding the admin password (or JSON with 'password')")


class Platform(Strict):
    """What tenants need from the platform; absent values come from `stack_reference`."""

    stack_reference: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+){0,2}$",
        description="A platform stack (org/project/stack) whose outputs fill what is absent")
    region: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
    hosted_zone_id: str | None = Field(None, pattern=r"^Z[A-Z0-9]{4,32}$")
    load_balancer: LoadBalancer | None = None
    ipv6: StrictBool = False
    shared_database: SharedDatabase | None = None
    kms_key_id: str | None = Field(
        None, pattern=r"^(arn:aws[a-z\-]*:kms:[a-z0-9\-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9_/\-]+"
                      r"|alias/[A-Za-z0-9_/\-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
    db_subnet_group: str | None = Field(None, pattern=r"^[a-zA-Z0-9 ._\-]{1,255}$")
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list)
    silo_instance_class: str = Field("db.t4g.micro", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")


class AppDatabase(Strict):
    """The app's system database (its `DB_*` settings); the password is a platform secret."""

    host: str = Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9\-.]{0,251}[A-Za-z0-9])?$",
                      description="Host name or IP address")
    port: int = Field(3306, ge=1, le=65535)
    database: str = Field(pattern=r"^[A-Za-z0-9_$]{1,64}$", description="The app's DB_DATABASE")
    user: str = Field(min_length=1, max_length=80,
                      description="A user that may create databases and users (hyn's system "
                                  "connection); password: appDatabasePassword")


# The placeholders an app command may hold; `provisioner.app.app_commands.expand` fills them
APP_COMMAND_PLACEHOLDERS: frozenset[str] = frozenset(
    {"website_id", "uuid", "fqdn", "subdomain", "filename"})


def template_problem(arg: str) -> str | None:
    """Why `arg` is not an app-command template: every `{...}` must be a bare known name.
    A format spec (`{uuid:>999999999}` would build a gigabyte string), a conversion (`!r`) or
    an attribute/index (`{uuid.__class__}`, `{uuid[0]}`) is refused, not only an unknown name."""
    import string

    try:
        parts = list(string.Formatter().parse(arg))
    except ValueError as exc:
        return f"{exc} (write {{{{ and }}}} for literal braces)"
    known = ", ".join(sorted(APP_COMMAND_PLACEHOLDERS))
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in APP_COMMAND_PLACEHOLDERS:
            shown = name if name.isidentifier() else repr(name)
            return f"unknown placeholder {{{shown}}}; known: {known}"
        if spec or conversion is not None:
            return (f"placeholder {{{name}}} has a format spec or conversion; only a bare "
                    f"name is allowed ({{{name}}})")
    return None


_template = _refusing(template_problem)


ArgTemplate = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(_template)]


class AppCommands(Strict):
    """Argument lists run without a shell; `{website_id}`, `{uuid}`, `{fqdn}`, `{subdomain}`,
    `{filename}` are replaced in each argument. The certificate goes to put_certificate's stdin."""

    migrate: list[ArgTemplate] = Field(min_length=1, description=(
        "e.g. [ssh, app@host, php, /var/www/artisan, tenancy:migrate, --website_id={website_id}]"))
    seed: list[ArgTemplate] = Field(min_length=1, description=(
        "e.g. [..., tenancy:db:seed, --website_id={website_id}]"))
    put_certificate: list[ArgTemplate] | None = Field(None, description=(
        "writes stdin to storage/app/certificates/{filename}, e.g. "
        "[docker, exec, -i, app, sh, -c, 'cat > storage/app/certificates/\"$1\"', sh, {filename}]"))


class AppSection(Strict):
    """How tenants become accounts of the app: its databases, its commands, its settings."""

    system_database: AppDatabase
    commands: AppCommands
    force_https: StrictBool = Field(False, description="The app's FORCE_HTTPS (login image URL)")
    start_billing_cycle: Literal["none", "creation_date"] = Field(
        "none", description="none: pro5's store(); creation_date: newer versions set "
                            "clients.start_billing_cycle to the day of creation")
    timezone: str = Field(
        APP_TIMEZONE, min_length=1, max_length=64,
        description="The app's config/app.php `timezone`: every timestamp written into the "
                    "app's databases is wall-clock time in this zone, as the app writes them")
    delete_tenant_database: StrictBool = Field(
        False, description="Removing a non-production tenant drops its database "
                           "(the app's TENANCY_DATABASE_AUTO_DELETE)")
    delete_tenant_database_user: StrictBool = Field(
        False, description="... and its database user (TENANCY_DATABASE_AUTO_DELETE_USER)")


    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r}: not a time zone of the IANA database this machine has "
                             "(e.g. America/Lima; without /usr/share/zoneinfo, pip install "
                             "tzdata)") from None
        return value


class ResellerSpec(Strict):
    """The platform settings and the catalog: one file per repository."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, frozen=True,
        json_schema_extra={"$id": f"{SCHEMA_BASE}/reseller.json"})

    base_domain: Hostname = Field(description="The app's APP_URL_BASE")
    max_accounts: int | None = Field(
        999, description="The app's LIMITE_RESELLER: at most this many tenants; null, 0 or a "
                         "negative number means no cap (as in the app)")
    database_prefix: str = Field("tenancy", pattern=r"^[a-z][a-z0-9]{0,15}$",
                                 description="The app's PREFIX_DATABASE")
    platform: Platform = Field(default_factory=Platform)
    plans: list[Plan] = Field(default_factory=list,
                              description="Plans added to, or replacing, the default catalog")
    modules: list[ModuleDef] = Field(default_factory=list,
                                     description="Modules added to, or replacing, the defaults")
    presets: dict[str, list[str]] = Field(default_factory=dict)
    reserved_subdomains: list[str] = Field(default_factory=list)
    templates_dir: str | None = Field(
        None, description="Directory whose templates override tenant_templates/ file by file")
    bcrypt_cost: int = Field(
        10, ge=4, le=15,
        description="bcrypt cost of the admin password hashes the provisioner computes (an "
                    "adminPassword stack secret, render --reveal); a generated password's hash "
                    "is pulumi-random's bcrypt_hash, cost 10. At most 15 (about a second or "
                    "two per hash; each step doubles it, 31 would take days)")
    sunat_alternate_server: StrictBool = Field(
        False, description="Production tenants send to SUNAT's alternate server "
                           "(the app's SUNAT_ALTERNATE_SERVER)")
    ruc_lookup_url: HttpsUrl | None = Field(
        None, description="HTTP RUC lookup service (token: PROVISIONER_RUC_LOOKUP_TOKEN)")
    tags: dict[LabelKey, LabelValue] = Field(default_factory=dict)

    @field_validator("tags", mode="after")
    @classmethod
    def _tags_fit(cls, value: dict[str, str]) -> dict[str, str]:
        room = AWS_MAX_TAGS - len(FIXED_TAG_KEYS)
        clash = sorted(k for k in value if k in FIXED_TAG_KEYS)
        if clash:
            raise ValueError(f"{', '.join(clash)}: set by the stack itself on every resource; "
                             "choose other keys")
        if len(value) > room:
            raise ValueError(f"{len(value)} tags; AWS allows {AWS_MAX_TAGS} per resource and "
                             f"the stack sets {len(FIXED_TAG_KEYS)}, so at most {room}")
        return value
    app: AppSection | None = Field(
        None, description="The app's system database and commands: tenants become accounts "
                          "of the app (secrets appKey, appDatabasePassword)")
