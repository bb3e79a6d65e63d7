"""The app's tables and columns onboard and adopt read or write, checked once before any write.

A database with some of the app's tables and not others (a half-migrated install, the wrong
`DB_DATABASE`) would otherwise fail at whichever statement first names a missing table, after
earlier ones were written. `require_schema` names everything missing in one line.

The tenant side is derived from the statements the code runs (`tenant_rows.tenant_inserts`'s
column lists, `day2_sync`'s); the system side is the columns the statements of `onboarding`,
`account_read`, `day2_sync` and `cli/onboard.py` name, listed once here (the journal table is
ours and made by `journal.ensure_journal`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from provisioner.app.connection import AppError, error_reason

Needs = Mapping[str, frozenset[str]]

# system database: websites + hostnames + clients (store()), plans (looked up by name), the
# admin's configuration (SOAP user and certificate the form pre-fills), modules and levels
# (ids by value, day 2)
SYSTEM_NEEDS: Final[Needs] = {
    "websites": frozenset({"id", "uuid", "managed_by_database_connection", "created_at",
                           "updated_at"}),
    "hostnames": frozenset({"id", "fqdn", "website_id", "created_at", "updated_at"}),
    "clients": frozenset({"id", "hostname_id", "token", "email", "name", "number", "plan_id",
                          "locked_emission", "locked_tenant", "locked_users",
                          "start_billing_cycle", "smtp_host",
                          "smtp_port", "smtp_user", "smtp_password", "smtp_encryption",
                          "created_at", "updated_at"}),
    "plans": frozenset({"id", "name", "limit_users", "limit_documents", "plan_documents"}),
    "configurations": frozenset({"soap_username", "soap_password", "certificate"}),
    "modules": frozenset({"id", "value"}),
    "module_levels": frozenset({"id", "value"}),
}

_INSERT: Final = re.compile(r"INSERT\s+(?:IGNORE\s+)?INTO\s+`?(\w+)`?\s*\(([^)]*)\)", re.I)


def statement_needs(statements: Iterable[str]) -> dict[str, frozenset[str]]:
    """The tables and columns the given INSERT statements name."""
    out: dict[str, set[str]] = {}
    for sql in statements:
        for table, cols in _INSERT.findall(sql):
            out.setdefault(table, set()).update(c.strip(" `") for c in cols.split(",")
                                                if c.strip(" `"))
    return {t: frozenset(c) for t, c in out.items()}


def tenant_needs(desired: Any | None = None, plan: Mapping[str, Any] | None = None) -> Needs:
    """The tenant database's tables and columns: those the tenant rows of `desired` insert
    (any account, when none is given), and those day 2 updates."""
    from provisioner.app.day2_sync import COMPANY_COLUMNS
    from provisioner.app.tenant_rows import tenant_inserts

    if desired is None:
        desired = _sample_account()
    plan = plan or {"id": 1, "limit_documents": 0, "limit_users": 0, "plan_documents": "[]"}
    needs = statement_needs(sql for sql, _ in tenant_inserts(desired, dict(plan), "", ""))
    needs["companies"] = needs.get("companies", frozenset()) | frozenset(COMPANY_COLUMNS)
    needs["configurations"] = needs.get("configurations", frozenset()) | {"is_pharmacy"}
    return needs


def _sample_account() -> Any:
    """An account with every optional part (SMTP, modules and levels), for the columns."""
    from provisioner.app.account import desired_account
    from provisioner.model.catalog import DEFAULT_CATALOG
    from provisioner.model.models import ResellerSpec, TenantSpec

    spec = TenantSpec.model_validate({
        "ruc": "20131312955", "company_name": "X", "subdomain": "x", "admin_email": "a@x.pe",
        "plan": "pyme", "smtp": {"host": "smtp.x.pe", "username": "a@x.pe"},
        "modules": {"preset": "hotel"}})
    return desired_account(spec, ResellerSpec(base_domain="x.pe"), DEFAULT_CATALOG,
                           sol_password=None, smtp_password="x", certificate_name=None,
                           system_soap=(None, None), silo=False)


def missing(conn: Any, needs: Needs, schema: str | None = None) -> list[str]:
    """What `needs` names that the database lacks: `table` for a missing table, `table.column`
    for a missing column; sorted."""
    with conn.cursor() as cur:
        where = "table_schema = DATABASE()" if schema is None else "table_schema = %s"
        cur.execute("SELECT table_name AS t, column_name AS c FROM information_schema.columns"
                    f" WHERE {where} AND table_name IN ({', '.join(['%s'] * len(needs))})",
                    (*(() if schema is None else (schema,)), *needs))
        rows = cur.fetchall()
    conn.rollback()
    have: dict[str, set[str]] = {}
    for row in rows:
        # information_schema's own column names come back in upper case on MySQL 8
        t = row.get("t") or row.get("T") or row.get("TABLE_NAME")
        c = row.get("c") or row.get("C") or row.get("COLUMN_NAME")
        have.setdefault(str(t), set()).add(str(c))
    out = []
    for table in sorted(needs):
        if table not in have:
            out.append(table)
        else:
            out += [f"{table}.{c}" for c in sorted(needs[table] - have[table])]
    return out


def describe(gaps: list[str], limit: int = 8) -> str:
    tables = [g for g in gaps if "." not in g]
    columns = [g for g in gaps if "." in g]
    parts = []
    if tables:
        parts.append(f"table{'s' if len(tables) > 1 else ''} {_listed(tables, limit)}")
    if columns:
        parts.append(f"column{'s' if len(columns) > 1 else ''} {_listed(columns, limit)}")
    return " and ".join(parts)


def _listed(items: list[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def require_schema(conn: Any, needs: Needs, label: str, schema: str | None = None) -> None:
    """Refuse, naming every missing table and column in one line, before anything is written."""
    try:
        gaps = missing(conn, needs, schema)
    except AppError:
        raise
    except Exception as exc:
        raise AppError(f"{label}: cannot read its tables ({error_reason(exc)})") from None
    if gaps:
        raise AppError(f"{label}: not the app's schema (or not migrated): missing "
                       f"{describe(gaps)}; nothing was written")
