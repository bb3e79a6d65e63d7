"""The form's fields as the app's "Nuevo cliente" dialog shows them (order, Spanish labels,
defaults), and what the admin typed turned into `provisioner new`'s answers.

The choices come from the model (enums, the catalog); only their Spanish labels are here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from provisioner.model.catalog import Catalog, Plan
from provisioner.model.rules import is_ascii_digits
from provisioner.newtenant import TenantAnswers, soap_of
from provisioner.secrets import CERTIFICATE, CERTIFICATE_PASSWORD, SMTP_PASSWORD, SOL_PASSWORD

# The dialog's labels (pro5/pro9 resources/js/views/system/clients/form.vue), by form field.
LABELS: Final[dict[str, str]] = {
    "ruc": "RUC",
    "company_name": "Nombre de la Empresa",
    "trade_name": "Nombre comercial (opcional)",
    "subdomain": "Nombre de Subdominio",
    "email": "Correo de Acceso",
    "admin_password": "Contraseña",
    "plan": "Plan",
    "user_type": "Perfil",
    "limit_emission": "Limitar emisión de documentos",
    "preset": "Giro de negocio (opcional)",
    "modules": "Habilitar módulos",
    "send": "SOAP Envio",
    "environment": "SOAP Tipo",
    "sol_user": "SOAP Usuario",
    "sol_password": "SOAP Password",
    "ose_url": "SOAP Url",
    "ose_username_format": "Formato del usuario OSE",
    "certificate_password": "Contraseña certificado",
    "certificate": "Certificado pfx",
    "smtp": "Usar un servidor de correo propio",
    "smtp_host": "Dirección del host de correo",
    "smtp_port": "Puerto del host de correo",
    "smtp_username": "Nombre de usuario de correo",
    "smtp_password": "Contraseña del usuario de correo",
    "smtp_encryption": "Encriptación de correo",
    "smtp_from_address": "Correo del remitente (opcional)",
    "smtp_from_name": "Nombre del remitente (opcional)",
    "allow_production_switch": "¿ Permitir a la empresa cambiar la configuración de producción ?",
    "author_name": "Su nombre (autor del cambio)",
    "author_email": "Su correo (autor del cambio)",
}

# Spanish labels of the model's values (the dialog's options where it has them).
VALUE_LABELS: Final[dict[str, dict[str, str]]] = {
    "admin_password": {"generate": "Generar una contraseña (el stack la crea)",
                       "stack_secret": "Definirla luego como secreto del stack"},
    "user_type": {"admin": "Administrador", "integrator": "Listar Documentos"},
    "send": {"sunat": "Sunat", "ose": "Ose"},
    "environment": {"demo": "Demo", "production": "Producción"},
    "ose_username_format": {"ruc_user": "RUC + usuario", "ruc": "Solo el RUC"},
    "smtp_encryption": {"ssl": "ssl", "tls": "tls", "none": "ninguna"},
}

# The dialog's names of the default presets ("giro de negocio"); a reseller's own preset shows
# its name.
PRESET_LABELS: Final[dict[str, str]] = {"basico": "Básico", "farmacia": "Farmacia",
                                        "hotel": "Hotel", "restaurante": "Restaurante"}

# The dialog's defaults (initForm) where the spec has the field; "" is "none chosen".
DEFAULTS: Final[dict[str, Any]] = {
    "admin_password": "generate", "user_type": "admin", "limit_emission": False,
    "preset": "", "send": "sunat", "environment": "demo", "ose_username_format": "ruc_user",
    "smtp": False, "smtp_host": "smtp.gmail.com", "smtp_port": "465", "smtp_encryption": "ssl",
    # the app's dialog ticks it; here unticked, as `new` defaults: the client switching itself
    # to production is an answer to give on purpose
    "allow_production_switch": False,
}

# Typed in the form like the app's dialog asks for them, never sent, written or shown: the
# page sends only whether each was given, and the result lists the command that sets it.
SECRET_FIELDS: Final = {"sol_password": SOL_PASSWORD, "smtp_password": SMTP_PASSWORD,
                        "certificate": CERTIFICATE, "certificate_password": CERTIFICATE_PASSWORD}

SMTP_FIELDS: Final = ("smtp_host", "smtp_port", "smtp_username", "smtp_password",
                      "smtp_encryption", "smtp_from_address", "smtp_from_name")
OSE_FIELDS: Final = ("ose_url", "ose_username_format")

# A finding's spec field (dotted, list indexes dropped) → the form field it is shown next to;
# the longest known prefix wins ("modules.levels.pos" → modules).
SPEC_TO_FORM: Final[dict[str, str]] = {
    "ruc": "ruc", "company_name": "company_name", "trade_name": "trade_name",
    "subdomain": "subdomain", "admin_email": "email", "user_type": "user_type",
    "admin_password": "admin_password", "plan": "plan", "limit_emission": "limit_emission",
    "modules": "modules", "soap": "send", "soap.send": "send",
    "soap.environment": "environment", "soap.sol_user": "sol_user",
    "soap.ose_url": "ose_url", "soap.ose_username_format": "ose_username_format",
    "smtp": "smtp", **{f"smtp.{k.removeprefix('smtp_')}": k for k in SMTP_FIELDS},
    "certificate": "certificate", "allow_production_switch": "allow_production_switch",
}


def form_field_of(spec_field: str) -> str | None:
    """The form field a finding on `spec_field` belongs to, or None (shown above the form)."""
    parts = re.sub(r"\[\d+\]", "", spec_field).split(".")
    for n in range(len(parts), 0, -1):
        found = SPEC_TO_FORM.get(".".join(parts[:n]))
        if found:
            return found
    return None


@dataclass(frozen=True)
class ModuleNode:
    """A module of the catalog with its levels, as the dialog's tree shows it."""

    value: str
    label: str
    levels: tuple[str, ...]


def module_tree(catalog: Catalog) -> list[ModuleNode]:
    return [ModuleNode(m.value, m.label, tuple(m.levels)) for m in catalog.modules.values()]


def plan_summary(plan: Plan) -> str:
    """The plan's limits, in the dialog's language: 0 is unlimited."""
    def limit(n: int, what: str) -> str:
        return f"{n:,} {what}" if n else f"{what} ilimitados"

    price = f"{plan.pricing:g}/mes"
    return " · ".join([price, limit(plan.limit_users, "usuarios"),
                       limit(plan.limit_documents, "comprobantes"),
                       limit(plan.establishments_limit, "establecimientos")])


@dataclass
class FormAnswers:
    """What the admin gave: `new`'s answers, plus what only the form has."""

    answers: TenantAnswers
    smtp: bool = False
    secrets_given: set[str] = field(default_factory=set)  # names in SECRET_FIELDS
    author_name: str = ""
    author_email: str = ""


def _text(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _flag(payload: Mapping[str, Any], name: str) -> bool:
    value = payload.get(name, DEFAULTS.get(name, False))
    return value is True


def _names(payload: Mapping[str, Any], name: str) -> list[str]:
    value = payload.get(name)
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def answers_from(payload: Mapping[str, Any], catalog: Catalog) -> FormAnswers:
    """The form's payload (JSON) as `new`'s answers; fields the form hides for the choices
    made (visible_fields) are left out, as the dialog leaves them out."""
    a = TenantAnswers(
        ruc=_text(payload, "ruc"), company_name=_text(payload, "company_name"),
        trade_name=_text(payload, "trade_name"), subdomain=_text(payload, "subdomain"),
        email=_text(payload, "email"), user_type=_text(payload, "user_type"),
        admin_password=_text(payload, "admin_password"), plan=_text(payload, "plan"),
        limit_emission=_flag(payload, "limit_emission"),
        send=_text(payload, "send"), environment=_text(payload, "environment"),
        allow_production_switch=_flag(payload, "allow_production_switch"))
    _set_modules(a, _text(payload, "preset"), _names(payload, "modules"),
                 _names(payload, "levels"), catalog)
    form = FormAnswers(a, smtp=_flag(payload, "smtp"),
                       secrets_given={k for k in SECRET_FIELDS if payload.get(k) is True},
                       author_name=_text(payload, "author_name") or "",
                       author_email=_text(payload, "author_email") or "")
    if a.send == "ose":
        a.ose_url = _text(payload, "ose_url")
        a.ose_username_format = _text(payload, "ose_username_format")
    shown = visible_fields(form)
    if shown["sol_user"]:
        a.sol_user = _text(payload, "sol_user")
    if form.smtp:
        port = _text(payload, "smtp_port")
        a.smtp_host = _text(payload, "smtp_host") or ""
        # digits as a number; anything else as typed, for the model to refuse in its words
        a.smtp_port = int(port) if port and is_ascii_digits(port) else port  # type: ignore[assignment]
        a.smtp_username = _text(payload, "smtp_username") or ""
        a.smtp_encryption = _text(payload, "smtp_encryption")
        a.smtp_from_address = _text(payload, "smtp_from_address")
        a.smtp_from_name = _text(payload, "smtp_from_name")
    a.certificate = "certificate" in form.secrets_given
    form.secrets_given &= {k for k, v in shown.items() if v}
    return form


def _set_modules(a: TenantAnswers, preset: str | None, checked: list[str], levels: list[str],
                 catalog: Catalog) -> None:
    """The tree's ticks as the spec writes them: the preset with what was added and removed,
    or, with no preset, the list itself; levels only for a module not given all of its own."""
    order = {m: i for i, m in enumerate(catalog.modules)}
    chosen = sorted(dict.fromkeys(checked), key=lambda m: order.get(m, len(order)))
    if preset:
        base = catalog.presets.get(preset)
        a.preset = preset
        if base is not None:  # an unknown preset is left for the model to name
            a.add_modules = [m for m in chosen if m not in base]
            a.remove_modules = [m for m in base if m not in chosen]
    else:
        a.modules = chosen
    ticked: dict[str, list[str]] = {}
    for item in levels:
        module, sep, level = item.partition(":")
        if sep:
            ticked.setdefault(module, []).append(level)
    for module in chosen:
        offered = catalog.modules[module].levels if module in catalog.modules else []
        if offered:
            wanted = [lv for lv in offered if lv in ticked.get(module, [])]
            if wanted != list(offered):
                a.levels[module] = wanted
    for module, wanted in ticked.items():  # levels of a module left unticked: the model says
        if module not in chosen:
            a.levels[module] = wanted


def visible_fields(form: FormAnswers) -> dict[str, bool]:
    """Which conditional fields the form shows for the choices made, by the model's rules
    (`Soap.needs_sol_user`, `needs_sol_password`) and the dialog's sections."""
    a = form.answers
    soap = soap_of(a)
    shown = {name: True for name in LABELS}
    shown["sol_user"] = bool(soap and soap.needs_sol_user)
    shown["sol_password"] = bool(soap and soap.needs_sol_password)
    for name in OSE_FIELDS:
        shown[name] = a.send == "ose"
    for name in SMTP_FIELDS:
        shown[name] = form.smtp
    return shown
