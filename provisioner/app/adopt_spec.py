"""Taking over an account the app already has: its rows -> a tenant spec, and what would differ.

The reverse of `provisioner.app.account.desired_account`: from what "Guardar" (and later the
edit form and lock buttons) left in the system database (`websites`, `hostnames`, `clients`,
`plans`) and in the tenant database (`companies`, `configurations`, `users` row 1, user 1's
`module_user` / `module_level_user`), as `account_read` reads them, write the spec that renders
to those rows, then compare its rendering with what the app holds (`adopt_compare`). Whatever
the spec language cannot express (a module id the catalog lacks, a trade name, a demo tenant's
SOAP user) becomes a `Difference`: reported, never written back silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provisioner.app.account_read import Account, as_text
from provisioner.app.adopt_compare import Difference, compare
from provisioner.model.catalog import Catalog, DatabaseTier
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.secrets import (
    CERTIFICATE,
    CERTIFICATE_PASSWORD,
    SILO_MASTER_PASSWORD,
    SMTP_PASSWORD,
    SOL_PASSWORD,
)

SEND = {"01": "sunat", "02": "ose"}
ENVIRONMENT = {"01": "demo", "02": "production", "03": "internal"}
PRESET_EDITS_MAX = 4  # more add/remove than this and an explicit `include` list reads better


@dataclass
class Adoption:
    """The outcome for one account: its spec (None when none can be written), the secrets found
    in the app (never written to a file), and the differences a first apply would make."""

    subdomain: str
    uuid: str
    website_id: int
    spec: dict[str, Any] | None
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    missing_secrets: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    error: str | None = None
    database_user_host: str = "%"

    @property
    def clean(self) -> bool:
        return self.error is None and not self.differences



def adopt_account(account: Account, reseller: ResellerSpec, catalog: Catalog) -> Adoption:
    """The spec for one account and the differences between its rendering and the app."""
    website_id = int(account.website["id"])
    result = Adoption(account.subdomain, account.uuid, website_id, None)
    fail = _unadoptable(account, reseller)
    if fail:
        result.error = fail
        return result
    assert account.client and account.company and account.configuration and account.user
    plan = _plan_name(account.plan, catalog)
    if plan is None:
        result.error = (f"plan {account.plan and account.plan.get('name')!r} (plan_id "
                        f"{account.client['plan_id']}) is not in the catalog; add it to "
                        "reseller.yaml's plans (name and label) and run adopt again")
        return result
    co, cf, cl, user = account.company, account.configuration, account.client, account.user
    spec: dict[str, Any] = {
        "ruc": str(co["number"]), "company_name": co["name"], "subdomain": account.subdomain,
        "admin_email": user["email"], "plan": plan,
    }
    if user["type"] == "integrator":
        spec["user_type"] = "integrator"
    # an integrator's too: the sync writes the spec's modules for every user type, as the
    # edit dialog's update() does (store()'s 1, 3, 5 without levels come back as such)
    spec["modules"] = _modules(account, catalog, result)
    soap = _soap(co, result)
    if soap:
        spec["soap"] = soap
    smtp = _smtp(cl)
    if smtp:
        spec["smtp"] = smtp
    if co.get("certificate") and co["certificate"] != account.fallback_certificate:
        spec["certificate"] = True
    for key, value in (("limit_emission", cl["locked_emission"]),
                       ("suspended", cl.get("locked_tenant")),
                       ("lock_users", cl.get("locked_users"))):
        if value:
            spec[key] = True
    if not cf.get("config_system_env"):
        spec["allow_production_switch"] = False
    if bool(cf.get("sunat_alternate_server")) != reseller.sunat_alternate_server:
        spec["sunat_alternate_server"] = bool(cf.get("sunat_alternate_server"))
    host = account.user_hosts[0] if account.user_hosts else "%"
    spec["adopted"] = {"website_id": website_id, **({"database_user_host": host}
                                                    if host != "%" else {})}
    # secrets: what the app holds goes to the stack's secrets, never to the file
    env = soap.get("environment", "demo")
    if co.get("soap_password") and env != "internal" and (
            soap.get("send") == "ose" or env == "production"):
        result.secrets[SOL_PASSWORD.key] = as_text(co["soap_password"])
    if smtp and cl.get("smtp_password"):
        result.secrets[SMTP_PASSWORD.key] = as_text(cl["smtp_password"])
    if spec.get("certificate"):
        result.missing_secrets += [CERTIFICATE.key, CERTIFICATE_PASSWORD.key]
    try:
        tenant = TenantSpec.model_validate(spec)
    except Exception as exc:  # pydantic: a value the spec language refuses
        result.error = f"the app's values do not make a valid spec: {_first_error(exc)}"
        return result
    if catalog.plans[tenant.plan].tier is DatabaseTier.SILO:
        # the stack keeps the instance's master password and connects with it
        result.missing_secrets.append(SILO_MASTER_PASSWORD.key)
    result.spec = spec
    result.database_user_host = host
    result.differences += compare(account, tenant, reseller, catalog, result.secrets)
    return result


def _unadoptable(account: Account, reseller: ResellerSpec) -> str | None:
    if account.fqdn is None:
        return "the website has no hostname"
    base = "." + reseller.base_domain
    if account.fqdn != account.subdomain + base:
        return (f"hostname {account.fqdn} is not {account.subdomain}{base} "
                "(a custom domain the spec cannot express)")
    if account.client is None:
        return "the app has no clients row for this hostname (an unfinished 'Guardar')"
    if account.company is None or account.configuration is None or account.user is None:
        return (f"the tenant database {account.uuid} lacks its company, configuration or "
                "admin user (not migrated or seeded?)")
    return None


def _plan_name(row: dict[str, Any] | None, catalog: Catalog) -> str | None:
    if row is None:
        return None
    for plan in catalog.plans.values():
        if (plan.label or plan.name) == row["name"]:
            return plan.name
    return None


def _level_reading(account: Account, catalog: Catalog, chosen: set[str]
                   ) -> dict[int, tuple[str, str]]:
    """What user 1's level ids mean: (module, level) per id. store() writes the system's ids
    (the catalog's); the edit form writes the tenant's ids of the posted values (update():
    its module_levels, shifted from 76 on), and the edit dialog reads them so (record()). A
    reading holds when every id is known and of a module the account has; the tenant's must
    also be exactly what update() writes for it. When both hold (ids from 76 on can be read
    either way, and the sync leaves both alone), the one that leaves fewer modules without
    all their levels: a preset's modules come with all of theirs, in whichever form was
    written. Else the system's, store()'s form (what does not hold is then reported)."""
    from provisioner.app.day2_sync import tenant_level_ids

    system: dict[int, tuple[str, str]] = {}
    by_value: dict[str, tuple[str, str]] = {}
    for m in catalog.modules.values():
        for lv, ids in m.level_ids.items():
            by_value.setdefault(lv, (m.value, lv))
            for i in ids:
                system[i] = (m.value, lv)
    tenant = {i: by_value[v] for i, v in account.tenant_levels.items() if v in by_value}
    ids = account.level_ids

    def holds(reading: dict[int, tuple[str, str]]) -> bool:
        return all(i in reading and reading[i][0] in chosen for i in ids)

    def partial(reading: dict[int, tuple[str, str]]) -> int:
        have: dict[str, set[str]] = {}
        for i in ids:
            have.setdefault(reading[i][0], set()).add(reading[i][1])
        return sum(1 for m in chosen if catalog.modules[m].levels
                   and have.get(m, set()) != set(catalog.modules[m].levels))

    if not holds(tenant) or tenant_level_ids(
            account.tenant_levels, {tenant[i][1] for i in ids}) != sorted(ids):
        return system
    if holds(system) and partial(system) <= partial(tenant):
        return system
    return tenant


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return type(exc).__name__


def _soap(co: dict[str, Any], result: Adoption) -> dict[str, Any]:
    send = SEND.get(str(co.get("soap_send_id") or "01"), "sunat")
    env = ENVIRONMENT.get(str(co.get("soap_type_id") or "01"), "demo")
    out: dict[str, Any] = {}
    if send != "sunat":
        out["send"] = send
    if env != "demo":
        out["environment"] = env
    ruc = str(co["number"])
    username = as_text(co["soap_username"]) if co.get("soap_username") else None
    if send == "ose" and co.get("soap_url"):
        out["ose_url"] = co["soap_url"]
    if username and env != "internal" and (send == "ose" or env == "production"):
        if send == "ose" and username == ruc:
            out["ose_username_format"] = "ruc"
        elif username.startswith(ruc) and len(username) > len(ruc):
            out["sol_user"] = username[len(ruc):]
        else:
            out["sol_user"] = username  # not <RUC><user>: reported by compare()
    return out


def _smtp(cl: dict[str, Any]) -> dict[str, Any] | None:
    if not cl.get("smtp_host"):
        return None
    enc = (cl.get("smtp_encryption") or "").strip().lower()
    out: dict[str, Any] = {"host": str(cl["smtp_host"]).strip().lower(),
                           "port": int(cl.get("smtp_port") or 465),
                           "username": str(cl.get("smtp_user") or "").strip() or "-",
                           "encryption": enc if enc in ("ssl", "tls") else "none"}
    return out


def _modules(account: Account, catalog: Catalog, result: Adoption) -> dict[str, Any]:
    """A preset plus add/remove when that is short and exact, else an explicit list; levels
    only for modules that do not have all of theirs."""
    by_id = {m.app_id: m for m in catalog.modules.values() if m.app_id is not None}
    chosen = []
    for mid in account.module_ids:
        if mid in by_id:
            chosen.append(by_id[mid].value)
        else:
            result.differences.append(Difference(
                f"modules[{mid}]", mid, None, "a module id the catalog lacks; add it to "
                "reseller.yaml's modules to keep it"))
    level_of = _level_reading(account, catalog, set(chosen))
    levels: dict[str, list[str]] = {}
    for lid in account.level_ids:
        if lid not in level_of:
            result.differences.append(Difference(
                f"module_levels[{lid}]", lid, None, "a level id the catalog lacks"))
            continue
        module, lv = level_of[lid]
        if module not in chosen:
            result.differences.append(Difference(
                f"module_levels[{lid}]", f"{module}.{lv}", None,
                "a level of a module the account does not have"))
            continue
        if lv not in levels.setdefault(module, []):
            levels[module].append(lv)
    spec_levels = {}
    for module in [m for m in catalog.modules if m in chosen]:
        all_levels = catalog.modules[module].levels
        have = [lv for lv in all_levels if lv in levels.get(module, [])]
        if all_levels and have != list(all_levels):
            spec_levels[module] = have
    chosen_set = set(chosen)
    best: tuple[int, str, list[str], list[str]] | None = None
    for name, members in sorted(catalog.presets.items()):
        add = [m for m in catalog.modules if m in chosen_set and m not in members]
        remove = [m for m in catalog.modules if m in members and m not in chosen_set]
        cost = len(add) + len(remove)
        if best is None or cost < best[0]:
            best = (cost, name, add, remove)
    out: dict[str, Any]
    if best is not None and best[0] <= PRESET_EDITS_MAX:
        out = {"preset": best[1]}
        if best[2]:
            out["add"] = best[2]
        if best[3]:
            out["remove"] = best[3]
    else:
        out = {"include": [m for m in catalog.modules if m in chosen_set]}
    if spec_levels:
        out["levels"] = spec_levels
    return out

