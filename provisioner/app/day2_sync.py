"""Day 2: the columns the app's edit form and lock buttons write, brought to the spec's values.

Only where they differ: `update()` (`ClientController`) and `lockedTenant`, `lockedUser`,
`lockedEmission` write these columns of `clients` (system database) and of the tenant's
`configurations` and `companies` rows 1, and user 1's modules and levels. `adopt` compares an
existing account against the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provisioner.app.account import ADMIN_USER_ID, DesiredAccount, Secret, plan_json

# the companies columns update() writes (SOAP settings and the certificate's file name)
COMPANY_COLUMNS = ("soap_type_id", "soap_send_id", "soap_username", "soap_password", "soap_url",
                   "certificate")


def client_columns(d: DesiredAccount, plan: dict[str, Any]) -> dict[str, Any]:
    """The `clients` columns update() and the lock buttons write, but the SMTP password (an
    empty one keeps the stored one)."""
    return {"plan_id": plan["id"], "locked_emission": d.client["locked_emission"],
            "locked_tenant": d.client["locked_tenant"],
            "locked_users": d.client["locked_users"],
            "smtp_host": d.smtp.host, "smtp_port": d.smtp.port,
            "smtp_user": d.smtp.user, "smtp_encryption": d.smtp.encryption}


def configuration_columns(d: DesiredAccount, plan: dict[str, Any]) -> dict[str, Any]:
    """The tenant's `configurations` columns update() and the lock buttons write, but the SMTP
    password."""
    return {
        "plan": plan_json(plan), "config_system_env": d.configuration["config_system_env"],
        "sunat_alternate_server": d.configuration["sunat_alternate_server"],
        "limit_documents": plan["limit_documents"],
        "locked_emission": d.configuration["locked_emission"],
        "locked_tenant": d.configuration["locked_tenant"],
        "locked_users": d.configuration["locked_users"],
        "smtp_host": d.smtp.host, "smtp_port": d.smtp.port, "smtp_user": d.smtp.user,
        "smtp_encryption": d.smtp.encryption}


def sync_client(cur, d: DesiredAccount, plan: dict[str, Any], client: dict[str, Any],
                ) -> list[str]:
    """update() and the lock buttons on the account's `clients` row; returns what changed."""
    want = client_columns(d, plan)
    if d.smtp.password:
        want["smtp_password"] = str(d.smtp.password)
    diff = {k: v for k, v in want.items() if client.get(k) != v}
    if not diff:
        return []
    sets = ", ".join(f"`{k}` = %s" for k in diff)
    cur.execute(f"UPDATE clients SET {sets}, updated_at = NOW() WHERE id = %s",
                (*diff.values(), client["id"]))
    return ["clients: " + ", ".join(sorted(diff))]


def sync_tenant(cur, d: DesiredAccount, plan: dict[str, Any], system_conn) -> list[str]:
    """update() and the lock buttons on the tenant's rows 1 (configuration, company) and the
    admin's (user 1) modules and levels; returns what changed."""
    changes: list[str] = []
    cur.execute("SELECT * FROM configurations WHERE id = 1")
    config = cur.fetchone()
    if config is None:
        return changes
    want = configuration_columns(d, plan)
    if d.smtp.password:
        want["smtp_password"] = str(d.smtp.password)
    changes += _update(cur, "configurations", config, want)
    cur.execute("SELECT * FROM companies WHERE id = 1")
    company = cur.fetchone()
    if company is not None:
        changes += _update(cur, "companies", company,
                           {k: (str(d.company[k]) if isinstance(d.company[k], Secret)
                                else d.company[k]) for k in COMPANY_COLUMNS})
    changes += _sync_permissions(cur, d, system_conn)
    return changes


def _update(cur, table: str, row: dict[str, Any], want: dict[str, Any]) -> list[str]:
    diff = {k: v for k, v in want.items() if not _same(row.get(k), v)}
    if not diff:
        return []
    sets = ", ".join(f"`{k}` = %s" for k in diff)
    cur.execute(f"UPDATE `{table}` SET {sets} WHERE id = %s", (*diff.values(), row["id"]))
    return [f"{table}: " + ", ".join(sorted(diff))]


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(current, bytes):
        current = current.decode()
    return current == wanted


def _sync_permissions(cur, d: DesiredAccount, system_conn) -> list[str]:
    """update(): delete user 1's modules and levels and insert the tenant ids of the chosen
    values; skipped when the rows already equal store()'s ids or update()'s mapped ids."""
    cur.execute("SELECT module_id FROM module_user WHERE user_id = %s", (ADMIN_USER_ID,))
    have_modules = sorted(r["module_id"] for r in cur.fetchall())
    cur.execute("SELECT module_level_id FROM module_level_user WHERE user_id = %s",
                (ADMIN_USER_ID,))
    have_levels = sorted(r["module_level_id"] for r in cur.fetchall())
    if have_modules == sorted(d.module_ids) and have_levels == sorted(d.level_ids):
        return []
    # update() maps the system ids to values, then to the tenant's own ids
    with system_conn.cursor() as scur:
        values = _values_of(scur, "modules", d.module_ids)
        level_values = _values_of(scur, "module_levels", d.level_ids)
    system_conn.commit()
    mapped_modules = _ids_of(cur, "modules", values)
    mapped_levels = _ids_of(cur, "module_levels", level_values)
    if have_modules == sorted(mapped_modules) and have_levels == sorted(mapped_levels):
        return []
    cur.execute("DELETE FROM module_user WHERE user_id = %s", (ADMIN_USER_ID,))
    cur.execute("DELETE FROM module_level_user WHERE user_id = %s", (ADMIN_USER_ID,))
    if mapped_modules:
        cur.executemany("INSERT INTO module_user (module_id, user_id) VALUES (%s, %s)",
                        [(m, ADMIN_USER_ID) for m in mapped_modules])
    if mapped_levels:
        cur.executemany("INSERT INTO module_level_user (module_level_id, user_id)"
                        " VALUES (%s, %s)", [(lv, ADMIN_USER_ID) for lv in mapped_levels])
    cur.execute("SELECT id FROM modules WHERE value = 'digemid' LIMIT 1")
    digemid = cur.fetchone()
    pharmacy = int(bool(digemid and digemid["id"] in mapped_modules))
    cur.execute("UPDATE configurations SET is_pharmacy = %s", (pharmacy,))
    return ["module_user, module_level_user (as the edit form writes them)"]


def _values_of(cur, table: str, ids: Sequence[int]) -> list[str]:
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    cur.execute(f"SELECT value FROM `{table}` WHERE id IN ({marks})", tuple(ids))
    return [r["value"] for r in cur.fetchall()]


def _ids_of(cur, table: str, values: Sequence[str]) -> list[int]:
    unique = tuple(dict.fromkeys(values))
    if not unique:
        return []
    marks = ", ".join(["%s"] * len(unique))
    cur.execute(f"SELECT id FROM `{table}` WHERE value IN ({marks}) ORDER BY id", unique)
    return [r["id"] for r in cur.fetchall()]
