"""What "Guardar" writes for a tenant spec, row by row (`ClientController::store`, pro5).

Pure data, no database: `desired_account()` turns a spec into the rows store() inserts, with
the values it derives (the plan's JSON, the login image URL, the module and level ids). The
writer (`provisioner.app.onboarding`) and the dry-run print these rows; tests compare the database
with them. Where this departs from a literal reading of store(), the comment says why.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from provisioner import naming
from provisioner.model.catalog import Catalog
from provisioner.model.models import ResellerSpec, SoapEnvironment, SoapSend, TenantSpec
from provisioner.model.semantics import resolve_modules
from provisioner.model.store_defaults import ADMIN_NAME, APP_TIMEZONE

INTEGRATOR_MODULES = (1, 3, 5)  # store(): an integrator gets Ventas, Avanzados, Configuración
VISUAL = {"bg": "white", "header": "light", "navbar": "fixed", "sidebars": "light",
          "sidebar_theme": "white"}
TOP_MENUS = (1, 15, 76)  # top_menu_a_id, _b_id, _c_id
SKIN_ID = 2
ADMIN_USER_ID = 1  # store() keeps insert()'s `true` as the user id: 1


class Secret(str):
    """A value that is shown as ******** wherever a statement is printed."""

    __slots__ = ()


def php_json(value: Any) -> str:
    """`json_encode` as PHP writes it: compact, `/` escaped, non-ASCII as \\uXXXX, floats as
    `php_number` writes them."""
    if value is None or isinstance(value, (bool, int, str)):
        return json.dumps(value, ensure_ascii=True).replace("/", "\\/")
    if isinstance(value, float):
        return php_number(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{php_json(str(k))}:{php_json(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(php_json(v) for v in value) + "]"
    raise TypeError(f"json_encode of {type(value).__name__}")


def php_number(value: float) -> str:
    """A float as PHP's json_encode writes it: serialize_precision -1 (the shortest digits that
    read back as the same double, which Python's repr also gives), no JSON_PRESERVE_ZERO_FRACTION
    (`99.0` is `99`), and php_gcvt's layout with 17 digits (main/snprintf.c): an exponent when
    the decimal point is more than 17 digits right or more than 3 zeros left (`1.0e+25`,
    `1.0e-5`), else plain digits (`1.0e16` is `10000000000000000`)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{value}: json_encode cannot write it")
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0") or "0"
    # decpt: where the decimal point falls after the first significant digit string
    decpt = len(whole) + int(exponent or 0) if whole != "0" else (
        int(exponent or 0) - (len(fraction) - len(fraction.lstrip("0"))))
    digits = digits.rstrip("0") or "0"
    if digits == "0":
        return f"{sign}0"
    if (decpt < -3) if decpt < 0 else (decpt > 17):
        exp = decpt - 1
        rest = digits[1:] or "0"
        return f"{sign}{digits[0]}.{rest}e{'-' if exp < 0 else '+'}{abs(exp)}"
    if decpt <= 0:
        return f"{sign}0.{'0' * -decpt}{digits}"
    if len(digits) <= decpt:
        return f"{sign}{digits}{'0' * (decpt - len(digits))}"
    return f"{sign}{digits[:decpt]}.{digits[decpt:]}"


def php_strtolower(text: str) -> str:
    """PHP's strtolower: ASCII letters only (PHP 8.2; before it, the "C" locale's), byte by
    byte, so `Ñ` or `É` stay as typed where Python's str.lower() would change them."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def login_json(fqdn: str, force_https: bool) -> str:
    scheme = "https://" if force_https else "http://"
    return php_json({
        "type": "image", "image": f"{scheme}{fqdn}/images/fondo-5.svg", "position_form": "right",
        "show_logo_in_form": False, "position_logo": "top-left", "show_socials": False,
        "facebook": None, "twitter": None, "instagram": None, "linkedin": None})


def plan_json(row: dict[str, Any]) -> str:
    """`json_encode($plan)` of the system `plans` row as Eloquent serialises it.

    Column order; `plan_documents` through the model's accessor, `(object) json_decode(...)`,
    so a list becomes an object keyed "0", "1", ...; `pricing` a float; dates as Y-m-d H:i:s.
    """
    docs = row.get("plan_documents")
    if isinstance(docs, (str, bytes)):
        docs = json.loads(docs)
    if isinstance(docs, list):
        docs = {str(i): v for i, v in enumerate(docs)}
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "plan_documents":
            out[key] = docs
        elif key == "pricing":
            out[key] = float(value)
        elif hasattr(value, "strftime"):
            out[key] = value.strftime("%Y-%m-%d %H:%M:%S")
        else:
            out[key] = value
    return php_json(out)


@dataclass(frozen=True)
class Smtp:
    """SMTP as `update()` writes it (store() writes none): trimmed, encryption lower-cased."""

    host: str | None
    port: int
    user: str | None
    encryption: str | None
    password: Secret | None = None

    @classmethod
    def none(cls) -> Smtp:  # the columns' defaults: what store() leaves
        return cls(None, 0, None, None)


@dataclass(frozen=True)
class DesiredAccount:
    """Everything store() would write for the spec, plus the lock buttons' values."""

    subdomain: str
    uuid: str  # websites.uuid, the tenant database and its user
    fqdn: str
    production: bool
    managed_by_database_connection: str | None
    plan_name: str  # looked up in the system `plans` table by this name
    client: dict[str, Any]
    company: dict[str, Any]
    configuration: dict[str, Any]
    smtp: Smtp
    user: dict[str, Any]
    module_ids: tuple[int, ...]
    level_ids: tuple[int, ...]
    level_values: tuple[str, ...] = field(default=())  # for update()'s value mapping
    module_values: tuple[str, ...] = field(default=())
    timezone: str = APP_TIMEZONE  # app.timezone: the zone of every timestamp written
    # what the edit dialog posts on day 2 when it differs from what store() writes: an
    # integrator's chosen modules (store() forces 1, 3, 5; update() writes what is posted)
    edit_module_ids: tuple[int, ...] | None = None
    edit_level_ids: tuple[int, ...] | None = None
    # the edit dialog shows the SOAP user fields (production, or an OSE in demo with its user:
    # "Ingresar Usuario"); hidden, it posts back what the company row holds
    soap_user_shown: bool = True

    @property
    def day2_module_ids(self) -> tuple[int, ...]:
        """User 1's modules as `update()` writes them (system ids)."""
        return self.module_ids if self.edit_module_ids is None else self.edit_module_ids

    @property
    def day2_level_ids(self) -> tuple[int, ...]:
        return self.level_ids if self.edit_level_ids is None else self.edit_level_ids


def desired_account(spec: TenantSpec, reseller: ResellerSpec, catalog: Catalog, *,
                    sol_password: str | None = None, smtp_password: str | None = None,
                    certificate_name: str | None = None,
                    system_soap: tuple[str | None, str | None] = (None, None),
                    silo: bool = False) -> DesiredAccount:
    """The rows for `spec`. `certificate_name`: the tenant's certificate file, else store()'s
    fallback (the admin's `configurations.certificate`, given by the caller who read it);
    `system_soap`: the admin's SOAP user and password, which the form pre-fills and sends for
    tenants whose SOAP fields stay hidden (demo and internal)."""
    from provisioner.sunat.profile import soap_profile

    app = reseller.app
    uuid = naming.database_name(reseller.database_prefix, spec.subdomain)
    fqdn = naming.fqdn(spec.subdomain, reseller.base_domain)
    plan = catalog.plans[spec.plan]
    soap = spec.soap
    if soap.needs_sol_password or (soap.enters_user and sol_password):
        username: str | None = soap_profile(spec).username
        password: str | None = Secret(sol_password) if sol_password is not None else None
    else:  # the form sends what it pre-filled from the admin's configuration
        username, password = system_soap[0], (Secret(system_soap[1])
                                              if system_soap[1] is not None else None)
    choice = resolve_modules(spec, catalog)
    mods = [catalog.modules[m] for m in choice.modules]
    module_ids = tuple(m.app_id for m in mods if m.app_id is not None)
    level_ids = tuple(i for m in mods for i in m.ids_of(choice.levels.get(m.value, ())))
    module_values = tuple(m.value for m in mods)
    level_values = tuple(lv for m in mods for lv in choice.levels.get(m.value, ()))
    edit_modules: tuple[int, ...] | None = None
    edit_levels: tuple[int, ...] | None = None
    if spec.user_type == "integrator":  # store() forces 1, 3, 5; the edit dialog posts the
        edit_modules, edit_levels = module_ids, level_ids  # chosen ones (docs/app.md)
        module_ids, level_ids = INTEGRATOR_MODULES, ()
    smtp = Smtp.none()
    if spec.smtp is not None:
        enc = "" if spec.smtp.encryption == "none" else spec.smtp.encryption.strip().lower()
        smtp = Smtp(spec.smtp.host.strip(), int(spec.smtp.port), spec.smtp.username.strip(), enc,
                    Secret(smtp_password.strip()) if smtp_password else None)
    force_https = bool(app and app.force_https)
    return DesiredAccount(
        subdomain=spec.subdomain, uuid=uuid, fqdn=fqdn, production=spec.is_production,
        managed_by_database_connection=naming.database_connection(spec.subdomain) if silo
        else None,
        plan_name=plan.label or plan.name,
        client={"email": php_strtolower(spec.admin_email), "name": spec.company_name,
                "number": spec.ruc, "locked_emission": int(spec.limit_emission),
                "locked_tenant": int(spec.suspended), "locked_users": int(spec.lock_users)},
        company={
            "identity_document_type_id": "6", "number": spec.ruc, "name": spec.company_name,
            # store() writes the razón social as trade name too (the form has no such field)
            "trade_name": spec.company_name,
            "soap_type_id": soap.environment.app_code, "soap_send_id": soap.send.app_code,
            "soap_username": username, "soap_password": password,
            "soap_url": soap.ose_url if soap.send is SoapSend.OSE else None,
            "certificate": certificate_name},
        configuration={
            "send_auto": 1, "locked_emission": int(spec.limit_emission),
            "locked_tenant": int(spec.suspended), "locked_users": int(spec.lock_users),
            "quantity_documents": 0,
            "config_system_env": int(spec.allow_production_switch),
            # store() leaves the migration's default (0); the spec's own setting, else the
            # reseller's, is what the app reads to pick SUNAT's alternate production server
            "sunat_alternate_server": int(
                spec.uses_alternate_server(reseller.sunat_alternate_server)),
            "login": login_json(fqdn, force_https), "visual": php_json(VISUAL),
            "skin_id": SKIN_ID, "top_menu_a_id": TOP_MENUS[0], "top_menu_b_id": TOP_MENUS[1],
            "top_menu_c_id": TOP_MENUS[2]},
        smtp=smtp,
        user={"name": ADMIN_NAME, "email": spec.admin_email, "type": spec.user_type,
              "locked": 1, "permission_edit_cpe": 1},
        module_ids=module_ids, level_ids=level_ids, module_values=module_values,
        level_values=level_values, timezone=app.timezone if app else APP_TIMEZONE,
        edit_module_ids=edit_modules, edit_level_ids=edit_levels,
        soap_user_shown=soap.environment is SoapEnvironment.PRODUCTION or (
            soap.environment is SoapEnvironment.DEMO and soap.enters_user))


def is_internal(spec: TenantSpec) -> bool:
    return spec.soap.environment is SoapEnvironment.INTERNAL
