"""The values the templates see: everything derived from the spec, the catalog and the platform,
plus the secret side (real or masked). Plain dicts and lists, sorted where order is free, so the
same inputs always render the same bytes."""

from __future__ import annotations

from typing import Any, Final

from provisioner import naming
from provisioner.model.catalog import Catalog, DatabaseTier
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.model.semantics import plan_of, resolve_modules
from provisioner.model.store_defaults import (
    ADMIN_NAME,
    DOCUMENT_SERIES,
    ESTABLISHMENT,
    WAREHOUSE_DESCRIPTION,
)
from provisioner.render.secrets import SecretValues
from provisioner.sunat.profile import soap_profile

# What the app's "Guardar" creates besides the client's own data (one source with the rows the
# onboarding writes: provisioner/model/store_defaults.py).
MAIN_ESTABLISHMENT: Final = {
    **{k: ESTABLISHMENT[k] for k in ("description", "code", "country_id", "department_id",
                                     "province_id", "district_id")},
    "warehouse": WAREHOUSE_DESCRIPTION,
}


def build_context(spec: TenantSpec, reseller: ResellerSpec, catalog: Catalog,
                  secrets: SecretValues, *, db_host: str, db_port: int) -> dict[str, Any]:
    prefix = reseller.database_prefix
    plan = plan_of(spec, catalog)
    choice = resolve_modules(spec, catalog)
    alternate = spec.uses_alternate_server(reseller.sunat_alternate_server)
    profile = soap_profile(spec, alternate_server=alternate)
    soap_password = profile.public_password or secrets.sol_password
    smtp = spec.smtp
    return {
        "tenant": {
            "subdomain": spec.subdomain,
            "fqdn": naming.fqdn(spec.subdomain, reseller.base_domain),
            "url": naming.url(spec.subdomain, reseller.base_domain),
            "ruc": spec.ruc,
            "company_name": spec.company_name,
            "trade_name": spec.display_trade_name,
            "admin_email": spec.admin_email,
            "user_type": spec.user_type,
            "limit_emission": spec.limit_emission,
            "allow_production_switch": spec.allow_production_switch,
            "environment": spec.soap.environment.value,
            "labels": dict(sorted(spec.labels.items())),
        },
        "database": {
            "host": db_host,
            "port": db_port,
            "name": naming.database_name(prefix, spec.subdomain),
            "user": naming.database_user(prefix, spec.subdomain,
                                         silo=plan.tier is DatabaseTier.SILO),
            "password": secrets.db_password,
            "tier": plan.tier.value,
        },
        "soap": {
            "send": spec.soap.send.value,
            "environment": spec.soap.environment.value,
            "send_code": profile.send_code,
            "type_code": profile.type_code,
            "username": profile.username,
            "password": soap_password,
            "endpoints": {k.value: v for k, v in sorted(profile.endpoints.items())},
            "ose_url": spec.soap.ose_url,
            "alternate_server": alternate,  # the tenant's configurations.sunat_alternate_server
        },
        "mail": None if smtp is None else {
            "host": smtp.host,
            "port": smtp.port,
            "username": smtp.username,
            "password": secrets.smtp_password,
            "encryption": smtp.encryption,
            "from_address": smtp.from_address or smtp.username,
            "from_name": smtp.from_name or spec.display_trade_name,
        },
        "plan": {
            "name": plan.name,
            "limit_users": plan.limit_users,
            "limit_documents": plan.limit_documents,
            "app_json": plan.app_json(),
        },
        "modules": list(choice.modules),
        "module_ids": [m.app_id for v in choice.modules if (m := catalog.modules[v]).app_id],
        "levels": {m: list(lv) for m, lv in choice.levels.items()},
        "all_levels": [lv for lvs in choice.levels.values() for lv in lvs],
        "admin": {
            "name": ADMIN_NAME,
            "email": spec.admin_email,
            "password_hash": secrets.admin_password_hash,
            "type": spec.user_type,
        },
        "client": {"api_token": secrets.api_token},
        "certificate": None if not spec.certificate else {
            "pem": secrets.certificate,
            "password": secrets.certificate_password,
        },
        "establishment": MAIN_ESTABLISHMENT,
        "series": [{"document_type_id": d, "number": n} for d, n in DOCUMENT_SERIES],
    }
