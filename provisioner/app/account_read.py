"""Reading accounts back from the app's databases (SELECTs only), for checks and adoption.

One account through its own tenant login (`read_account`, the dynamic provider's refresh), or
many through one admin connection (`list_accounts`, `read_tenants`, what `adopt` reads): the
app's system user, which hyn uses to create tenant databases, with each tenant's tables
qualified by its database name: one connection for a thousand accounts instead of a thousand
logins with hyn's passwords.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.app.account import ADMIN_USER_ID
from provisioner.app.connection import AppError, Server
from provisioner.app.tenant_database import hyn_password


def read_account(system: Server, uuid: str, app_key: str,
                 tenant_server: Server | None = None,
                 tenant: bool = True) -> dict[str, Any] | None:
    """The account's rows as the app holds them (None: no website), for checks and adoption;
    without `tenant`, only the system database's (websites, hostnames, clients)."""
    conn = system.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM websites WHERE uuid = %s", (uuid,))
            website = cur.fetchone()
            if website is None:
                return None
            cur.execute("SELECT * FROM hostnames WHERE website_id = %s", (website["id"],))
            hostnames = cur.fetchall()
            cur.execute("SELECT c.* FROM clients c JOIN hostnames h ON h.id = c.hostname_id"
                        " WHERE h.website_id = %s", (website["id"],))
            clients = cur.fetchall()
        conn.commit()
    finally:
        conn.close()
    out: dict[str, Any] = {"website": website, "hostnames": list(hostnames),
                           "clients": list(clients)}
    if not tenant:
        return out
    server = tenant_server or system
    tenant = server.connect(uuid, user=uuid, password=hyn_password(app_key, website["id"]))
    try:
        with tenant.cursor() as cur:
            for table in ("companies", "configurations", "establishments", "warehouses",
                          "series", "users", "module_user", "module_level_user"):
                cur.execute(f"SELECT * FROM `{table}` ORDER BY id")
                out[table] = list(cur.fetchall())
        tenant.commit()
    finally:
        tenant.close()
    return out


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
    # the tenant's own module_levels (id -> value): the edit form writes these ids, store() the
    # system's, which differ from 76 on (docs/app.md)
    tenant_levels: dict[int, str] = field(default_factory=dict)
    user_hosts: list[str] = field(default_factory=list)  # mysql.user hosts of `<uuid>`
    fallback_certificate: str | None = None  # the admin's configurations.certificate
    schema: tuple[str, str] | None = None  # the tenant database's charset and collation


# the system tables list_accounts reads (their columns: schema_check.SYSTEM_NEEDS)
ADOPT_READS = ("websites", "hostnames", "clients", "plans", "configurations")


class NoSuchAccount(AppError):
    """An account named on the command line that the app does not have: a usage error."""

    exit_code = 2


def list_accounts(system: Server, prefix: str, subdomains: Sequence[str] | None = None,
                  ) -> list[Account]:
    """The app's websites under the reseller's database prefix (all, or those named), with their
    hostname, client and plan rows: four SELECTs whatever the number of accounts."""
    from provisioner.app.schema_check import SYSTEM_NEEDS, require_schema

    conn = system.connect()
    try:
        require_schema(conn, {t: SYSTEM_NEEDS[t] for t in ADOPT_READS},
                       f"{system.database} (the app's system database)")
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
            raise NoSuchAccount(f"no website {prefix}_{missing[0]} in the app's system database "
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
                hosts.setdefault(as_text(r["u"]), []).append(as_text(r["h"]))
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
                    cur.execute(f"SELECT id, value FROM {db}.module_levels")
                    account.tenant_levels = {int(r["id"]): as_text(r["value"])
                                             for r in cur.fetchall()}
                except Exception as exc:  # a missing database or table: reported per account
                    import pymysql

                    if not isinstance(exc, pymysql.MySQLError):
                        raise
                    account.company = None
                conn.commit()
                yield account
    finally:
        conn.close()


def as_text(value: Any) -> str:
    """A column value as text (pymysql gives bytes for binary columns)."""
    return value.decode() if isinstance(value, bytes) else str(value)
