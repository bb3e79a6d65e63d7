"""Taking over accounts the app already has: its rows -> a tenant spec, and what would differ.

The reverse of `provisioner.app.account.desired_account`: read what "Guardar" (and later the edit
form and lock buttons) left in the system database (`websites`, `hostnames`, `clients`, `plans`)
and in the tenant database (`companies`, `configurations`, `users` row 1, user 1's
`module_user` / `module_level_user`), write the spec that renders to those rows, then render it
with `desired_account` and compare field by field with what the app holds. Whatever the spec
language cannot express (a module id the catalog lacks, a trade name, a demo tenant's SOAP user)
becomes a `Difference`: reported, never written back silently.

Reads go through one admin connection (the app's system user, which hyn uses to create tenant
databases), with each tenant's tables qualified by its database name: one connection for a
thousand accounts instead of a thousand logins with hyn's passwords.

`mark_adopted` writes our journal row (`provisioner_accounts`) with every onboarding step done,
so the stack's onboarding steps find the account existing and write only what the spec changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.app.account import (
    ADMIN_USER_ID,
    DesiredAccount,
    desired_account,
    plan_json,
)
from provisioner.app.store import (
    JOURNAL,
    TENANT_CHARSET,
    TENANT_COLLATION,
    AppError,
    Server,
    ensure_journal,
)
from provisioner.model.catalog import Catalog, DatabaseTier
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.secrets import (
    CERTIFICATE,
    CERTIFICATE_PASSWORD,
    SILO_MASTER_PASSWORD,
    SMTP_PASSWORD,
    SOL_PASSWORD,
)

# the steps an account made by the app's form has done, in our journal's words
ADOPTED_STEPS = ("website", "database", "migrate", "seed", "client", "tenant")
SEND = {"01": "sunat", "02": "ose"}
ENVIRONMENT = {"01": "demo", "02": "production", "03": "internal"}
PRESET_EDITS_MAX = 4  # more add/remove than this and an explicit `include` list reads better


@dataclass
class Difference:
    """Something the app holds that the adopted spec would change on the first apply."""

    field: str
    app: Any
    spec: Any
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "app": self.app, "spec": self.spec, "why": self.why}

    def __str__(self) -> str:
        text = f"{self.field}: the app has {self.app!r}, the spec would write {self.spec!r}"
        return f"{text} ({self.why})" if self.why else text


@dataclass
class Account:
    """One account's rows as read from the app (the raw material of a spec)."""

    uuid: str
    subdomain: str
    website: dict[str, Any]
    fqdn: str | None
    client: dict[str, Any] | None
    plan: dict[str, Any] | None
    company: dict[str, Any] | None = None
    configuration: dict[str, Any] | None = None
    user: dict[str, Any] | None = None
    module_ids: list[int] = field(default_factory=list)
    level_ids: list[int] = field(default_factory=list)
    user_hosts: list[str] = field(default_factory=list)  # mysql.user hosts of `<uuid>`
    fallback_certificate: str | None = None  # the admin's configurations.certificate
    schema: tuple[str, str] | None = None  # the tenant database's charset and collation


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


# --- reading ---------------------------------------------------------------------------------


def list_accounts(system: Server, prefix: str, subdomains: Sequence[str] | None = None,
                  ) -> list[Account]:
    """The app's websites under the reseller's database prefix (all, or those named), with their
    hostname, client and plan rows: four SELECTs whatever the number of accounts."""
    conn = system.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM websites WHERE uuid LIKE %s ORDER BY id",
                        (_like_prefix(prefix),))
            websites = list(cur.fetchall())
            cur.execute("SELECT * FROM hostnames ORDER BY id")
            hostnames = list(cur.fetchall())
            cur.execute("SELECT * FROM clients ORDER BY id")
            clients = list(cur.fetchall())
            cur.execute("SELECT * FROM plans ORDER BY id")
            plans = {p["id"]: p for p in cur.fetchall()}
            # store() gives a tenant without its own certificate the admin's one
            cur.execute("SELECT certificate FROM configurations ORDER BY id LIMIT 1")
            fallback = (cur.fetchone() or {}).get("certificate")
        conn.commit()
    finally:
        conn.close()
    host_of: dict[int, dict[str, Any]] = {}
    for h in hostnames:
        host_of.setdefault(h["website_id"], h)
    client_of: dict[int, dict[str, Any]] = {}
    for c in clients:
        client_of.setdefault(c["hostname_id"], c)
    wanted = {s.lower() for s in subdomains} if subdomains else None
    out = []
    for w in websites:
        sub = w["uuid"][len(prefix) + 1:]
        if wanted is not None and sub not in wanted:
            continue
        host = host_of.get(w["id"])
        client = client_of.get(host["id"]) if host else None
        out.append(Account(w["uuid"], sub, w, host["fqdn"] if host else None, client,
                           plans.get(client["plan_id"]) if client else None,
                           fallback_certificate=fallback))
    if wanted is not None:
        found = {a.subdomain for a in out}
        missing = sorted(wanted - found)
        if missing:
            raise AppError(f"no website {prefix}_{missing[0]} in the app's system database "
                           f"({', '.join(missing)})")
    return out


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "\\_%"


def read_tenants(admin: Server, accounts: Iterable[Account]) -> Iterator[Account]:
    """Fill each account's tenant rows, through one admin connection (tables qualified).

    The server-wide facts (user hosts, database character sets) are read once for all: a
    lookup per tenant in `mysql.user` or `information_schema.SCHEMATA` scans them, which grows
    with the number of tenants. One commit per tenant: a single transaction across thousands
    of tenant databases keeps every table it touched open and locked, and costs 3x (measured,
    bench/adopt_bench.py)."""
    conn = admin.connect("")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT User AS u, Host AS h FROM mysql.user")
            hosts: dict[str, list[str]] = {}
            for r in cur.fetchall():
                hosts.setdefault(_text(r["u"]), []).append(_text(r["h"]))
            cur.execute("SELECT SCHEMA_NAME AS s, DEFAULT_CHARACTER_SET_NAME AS c,"
                        " DEFAULT_COLLATION_NAME AS l FROM information_schema.SCHEMATA")
            schemas = {r["s"]: (r["c"], r["l"]) for r in cur.fetchall()}
            conn.commit()
            for account in accounts:
                account.user_hosts = sorted(hosts.get(account.uuid, []))
                account.schema = schemas.get(account.uuid)
                db = "`" + account.uuid.replace("`", "``") + "`"
                try:
                    cur.execute(f"SELECT * FROM {db}.companies WHERE id = 1")
                    account.company = cur.fetchone()
                    cur.execute(f"SELECT * FROM {db}.configurations WHERE id = 1")
                    account.configuration = cur.fetchone()
                    cur.execute(f"SELECT * FROM {db}.users WHERE id = %s", (ADMIN_USER_ID,))
                    account.user = cur.fetchone()
                    cur.execute(f"SELECT module_id FROM {db}.module_user WHERE user_id = %s",
                                (ADMIN_USER_ID,))
                    account.module_ids = sorted(r["module_id"] for r in cur.fetchall())
                    cur.execute(f"SELECT module_level_id FROM {db}.module_level_user"
                                " WHERE user_id = %s", (ADMIN_USER_ID,))
                    account.level_ids = sorted(r["module_level_id"] for r in cur.fetchall())
                except Exception as exc:  # a missing database or table: reported per account
                    import pymysql

                    if not isinstance(exc, pymysql.MySQLError):
                        raise
                    account.company = None
                conn.commit()
                yield account
    finally:
        conn.close()


# --- rows -> spec ------------------------------------------------------------------------------


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
    else:
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
        result.secrets[SOL_PASSWORD.key] = _text(co["soap_password"])
    if smtp and cl.get("smtp_password"):
        result.secrets[SMTP_PASSWORD.key] = _text(cl["smtp_password"])
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


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


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
    username = _text(co["soap_username"]) if co.get("soap_username") else None
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
    level_of: dict[int, tuple[str, str]] = {}
    for m in catalog.modules.values():
        for lv, ids in m.level_ids.items():
            for i in ids:
                level_of[i] = (m.value, lv)
    chosen = []
    for mid in account.module_ids:
        if mid in by_id:
            chosen.append(by_id[mid].value)
        else:
            result.differences.append(Difference(
                f"modules[{mid}]", mid, None, "a module id the catalog lacks; add it to "
                "reseller.yaml's modules to keep it"))
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


# --- spec -> rows, compared -------------------------------------------------------------------


def compare(account: Account, spec: TenantSpec, reseller: ResellerSpec, catalog: Catalog,
            secrets: dict[str, str]) -> list[Difference]:
    """What the stack's onboarding (sync) would change in the app for this spec: the columns
    `update()` and the lock buttons write, and user 1's modules and levels."""
    plan_def = catalog.plans[spec.plan]
    silo = plan_def.tier is DatabaseTier.SILO
    name = _text(account.company["certificate"]) if account.company and \
        account.company.get("certificate") else None
    d = desired_account(spec, reseller, catalog, sol_password=secrets.get(SOL_PASSWORD.key),
                        smtp_password=secrets.get(SMTP_PASSWORD.key),
                        certificate_name=f"certificate_{spec.ruc}.pem" if spec.certificate
                        else None, silo=silo)
    out: list[Difference] = []
    assert account.client and account.company and account.configuration and account.plan
    out += _diff("clients", account.client, _client_want(d, account.plan))
    out += _diff("configurations", account.configuration, _config_want(d, account.plan))
    company_want = {k: d.company[k] for k in ("soap_type_id", "soap_send_id", "soap_username",
                                              "soap_password", "soap_url", "certificate")}
    diffs = _diff("companies", account.company, company_want)
    for diff in diffs:
        if diff.field == "companies.certificate":
            diff.why = (f"the app's file {name} stays; the first apply places the stack secret "
                        f"certificate as certificate_{spec.ruc}.pem")
        if diff.field == "companies.soap_password":
            diff.app, diff.spec = "********", ("********" if diff.spec else None)
    out += diffs
    trade = account.company.get("trade_name")
    if trade not in (None, "", account.company["name"]):
        out.append(Difference("companies.trade_name", trade, account.company["name"],
                              "store() writes the razón social as trade name; kept as the "
                              "app has it (the edit form does not write it)"))
    if sorted(account.module_ids) != sorted(d.module_ids):
        out.append(Difference("module_user", sorted(account.module_ids), sorted(d.module_ids),
                              "modules of the admin user (1)"))
    if sorted(account.level_ids) != sorted(d.level_ids):
        out.append(Difference("module_level_user", sorted(account.level_ids),
                              sorted(d.level_ids), "levels of the admin user (1)"))
    if account.website.get("managed_by_database_connection") != \
            d.managed_by_database_connection:
        out.append(Difference("websites.managed_by_database_connection",
                              account.website.get("managed_by_database_connection"),
                              d.managed_by_database_connection,
                              "the plan's database tier (pool/silo)"))
    if not silo and account.schema is not None and \
            account.schema != (TENANT_CHARSET, TENANT_COLLATION):
        out.append(Difference(
            "database", "/".join(account.schema), f"{TENANT_CHARSET}/{TENANT_COLLATION}",
            "the stack imports the tenant database with the character set and collation it "
            "declares, and an import whose inputs differ fails; ALTER DATABASE "
            f"`{account.uuid}` CHARACTER SET {TENANT_CHARSET} COLLATE {TENANT_COLLATION} "
            "(tables keep theirs), then adopt again"))
    if len(account.user_hosts) > 1:
        out.append(Difference("database user", account.user_hosts, account.user_hosts[:1],
                              "several hosts for the tenant user; the stack imports the first"))
    return out


def _client_want(d: DesiredAccount, plan: dict[str, Any]) -> dict[str, Any]:
    want = {"plan_id": plan["id"], **{k: d.client[k] for k in
                                       ("locked_emission", "locked_tenant", "locked_users")},
            "smtp_host": d.smtp.host, "smtp_port": d.smtp.port, "smtp_user": d.smtp.user,
            "smtp_encryption": d.smtp.encryption}
    return want


def _config_want(d: DesiredAccount, plan: dict[str, Any]) -> dict[str, Any]:
    return {"plan": plan_json(plan), "config_system_env": d.configuration["config_system_env"],
            "sunat_alternate_server": d.configuration["sunat_alternate_server"],
            "limit_documents": plan["limit_documents"],
            **{k: d.configuration[k] for k in ("locked_emission", "locked_tenant",
                                               "locked_users")},
            "smtp_host": d.smtp.host, "smtp_port": d.smtp.port, "smtp_user": d.smtp.user,
            "smtp_encryption": d.smtp.encryption}


def _diff(table: str, row: dict[str, Any], want: dict[str, Any]) -> list[Difference]:
    out = []
    for key, wanted in want.items():
        have = row.get(key)
        have = have.decode() if isinstance(have, bytes) else have
        wanted = str(wanted) if wanted is not None and type(wanted) is not int and \
            isinstance(wanted, str) else wanted
        if have != wanted:
            out.append(Difference(f"{table}.{key}", have, wanted))
    return out


# --- our journal -----------------------------------------------------------------------------


def mark_adopted(system: Server, adoptions: Sequence[Adoption]) -> None:
    """Journal rows saying every onboarding step is done for these accounts (one transaction);
    a row already there is left as it is (re-running adopt is safe)."""
    rows = [(a.uuid, a.website_id, a.subdomain, ",".join(ADOPTED_STEPS))
            for a in adoptions if a.spec is not None]
    if not rows:
        return
    conn = system.connect()
    try:
        with conn.cursor() as cur:
            ensure_journal(cur)
            cur.executemany(f"INSERT IGNORE INTO {JOURNAL} (uuid, website_id, stack, steps,"
                            " created_at, updated_at) VALUES (%s, %s, %s, %s, NOW(), NOW())",
                            rows)
        conn.commit()
    finally:
        conn.close()


# Import ids for the first `pulumi up` of an adopted tenant, checked against the providers the
# stack pins (provisioner/infra/tenant.py, provisioner/infra/database.py pass them as
# `ResourceOptions(import_=...)`):
# - pulumi-mysql bridges terraform-providers/terraform-provider-mysql v1.9.0 (pulumi/pulumi-mysql
#   .gitmodules and its `upstream` submodule, commit d264286 "v1.9.0"). There, mysql_database has
#   `Importer: schema.ImportStatePassthrough`, so its id is the database name; mysql_user and
#   mysql_grant have NO importer (resource_user.go / resource_grant.go at that commit), and the
#   bridge then refreshes a state holding only the id (pulumi-terraform-bridge pkg/tfbridge/
#   provider.go Read: the importer runs only `if !isRefresh && res.TF.Importer() != nil`):
#   ReadUser looks up `User=''` and ReadGrant fails with "user with host or a role is required",
#   so `import_` on them can only fail. The `user@host` and `user@host@database@*` formats of
#   petoju/terraform-provider-mysql (issues #194, #237) belong to a fork pulumi-mysql does not use.
#   An adopted pooled tenant therefore declares no mysql.User / mysql.Grant: hyn's user and grant
#   are kept by the onboarding `database` step (CREATE USER IF NOT EXISTS / GRANT, as hyn does),
#   which writes nothing while hyn's password logs in.
# - aws.rds.Instance (pulumi-aws v7 docs, "Import"): the DB instance identifier.
# - aws.route53.Record (pulumi-aws v7 docs, "Import"): `ZONEID_NAME_TYPE` joined by underscores.


def first_apply_imports(spec: TenantSpec, catalog: Catalog, ipv6: bool) -> list[str]:
    """What the stack of an adopted tenant imports at its first apply
    (provisioner/infra/tenant.py and provisioner/infra/database.py decide it the same way), for
    `plan`'s PR comment."""
    silo = catalog.plans[spec.plan].tier is DatabaseTier.SILO
    out = ["RDS instance" if silo else "database"]
    if spec.adopted is not None and spec.adopted.dns_record:
        out.append("DNS records (A, AAAA)" if ipv6 else "DNS record (A)")
    return out


def database_import_id(uuid: str) -> str:
    """pulumi-mysql Database: imported by its name."""
    return uuid


def dns_import_id(zone_id: str, fqdn: str, kind: str) -> str:
    """aws.route53.Record's import id: zone, name and type joined by underscores."""
    return f"{zone_id}_{fqdn}_{kind}"
