"""Day 2: the columns the app's edit dialog and lock buttons write, brought to the spec's values.

`update()` (`ClientController`, pro5) recomputes on every "Guardar", whatever was edited:
`clients` (plan_id, SMTP), the tenant's `configurations` row 1 (the plan's JSON and
limit_documents read from `plans` now, config_system_env, SMTP), `companies` row 1 (the SOAP
settings and the certificate's file name), user 1's modules and levels (deleted and inserted,
mapped by value), then `is_pharmacy` on every `configurations` row. `lockedTenant`,
`lockedUser` and `lockedEmission` write one lock each on `clients` and `configurations` 1.
Only what differs is written, so a second run changes nothing. `adopt` compares an existing
account against the same columns. Nothing else is ever written after creation (docs/app.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from provisioner.app.account import ADMIN_USER_ID, DesiredAccount, Secret, plan_json

# the companies columns update() writes (SOAP settings and the certificate's file name)
COMPANY_COLUMNS = ("soap_type_id", "soap_send_id", "soap_username", "soap_password", "soap_url",
                   "certificate")


def company_columns(d: DesiredAccount, *, upload: bool) -> dict[str, Any]:
    """The `companies` columns whose value the spec decides on day 2. The edit dialog loads the
    row (`record()`) into the form and posts it back: a field it hides keeps the row's value.
    Hidden are the SOAP user and password unless shown (`soap_user_shown`), the OSE URL
    unless the send is an OSE (form.vue `v-if`), and the certificate unless a new one is
    uploaded (`upload`: this run places the spec's certificate; the form shows the loaded
    file name disabled)."""
    keep = set()
    if not d.soap_user_shown:
        keep |= {"soap_username", "soap_password"}
    if d.company["soap_send_id"] != "02":
        keep.add("soap_url")
    if not upload:
        keep.add("certificate")
    return {k: (str(d.company[k]) if isinstance(d.company[k], Secret) else d.company[k])
            for k in COMPANY_COLUMNS if k not in keep}


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


def smtp_password_after(d: DesiredAccount, client: dict[str, Any]) -> str | None:
    """The client's SMTP password once update() has saved it: the given one, else the stored
    one (an empty password keeps it); update() copies it into `configurations` unless empty."""
    if d.smtp.password:
        return str(d.smtp.password)
    stored = client.get("smtp_password")
    stored = stored.decode() if isinstance(stored, bytes) else stored
    return stored or None


def sync_tenant(cur, d: DesiredAccount, plan: dict[str, Any], system_conn,
                smtp_password: str | None = None, *, upload: bool = False) -> list[str]:
    """update() and the lock buttons on the tenant's rows 1 (configuration, company), the
    admin's (user 1) modules and levels, and `is_pharmacy`; returns what changed.
    `smtp_password`: the client's after update() (`smtp_password_after`); `upload`: a
    certificate is placed in this run (`company_columns`)."""
    changes: list[str] = []
    cur.execute("SELECT * FROM configurations WHERE id = 1")
    config = cur.fetchone()
    if config is None:
        return changes
    want = configuration_columns(d, plan)
    if smtp_password:
        want["smtp_password"] = smtp_password
    changes += _update(cur, "configurations", config, want)
    cur.execute("SELECT * FROM companies WHERE id = 1")
    company = cur.fetchone()
    if company is not None:
        changes += _update(cur, "companies", company, company_columns(d, upload=upload))
    changes += _sync_permissions(cur, d, system_conn)
    changes += _sync_pharmacy(cur)
    return changes


def _sync_pharmacy(cur) -> list[str]:
    """update()'s last step, on every save: `is_pharmacy` = whether user 1 has the tenant's
    `digemid` module (`EnablePharmacy`), written to every `configurations` row (its UPDATE
    has no WHERE). A tenant without a `digemid` module makes the app's step fail; here it
    counts as not a pharmacy."""
    cur.execute("SELECT COUNT(*) AS n FROM module_user u JOIN modules m ON m.id = u.module_id"
                " WHERE m.value = 'digemid' AND u.user_id = %s", (ADMIN_USER_ID,))
    pharmacy = int(cur.fetchone()["n"] > 0)
    cur.execute("UPDATE configurations SET is_pharmacy = %s WHERE NOT (is_pharmacy <=> %s)",
                (pharmacy, pharmacy))
    return [f"configurations: is_pharmacy = {pharmacy}"] if cur.rowcount else []


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
    """update(): delete user 1's modules and levels and insert the tenant ids of the posted
    values; skipped when the rows already equal store()'s ids or update()'s mapped ids."""
    module_ids, level_ids = d.day2_module_ids, d.day2_level_ids
    cur.execute("SELECT module_id FROM module_user WHERE user_id = %s", (ADMIN_USER_ID,))
    have_modules = sorted(r["module_id"] for r in cur.fetchall())
    cur.execute("SELECT module_level_id FROM module_level_user WHERE user_id = %s",
                (ADMIN_USER_ID,))
    have_levels = sorted(r["module_level_id"] for r in cur.fetchall())
    if have_modules == sorted(module_ids) and have_levels == sorted(level_ids):
        return []
    # update() maps the system ids to values, then to the tenant's own ids
    with system_conn.cursor() as scur:
        values = _values_of(scur, "modules", module_ids)
        level_values = _values_of(scur, "module_levels", level_ids)
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
    return ["module_user, module_level_user (as the edit form writes them)"]


def first_sync_plan(d: DesiredAccount) -> list[tuple[str, tuple[Any, ...]]]:
    """What the sync changes right after store()'s rows, for the dry-run: an integrator's
    posted modules (store() forced 1, 3, 5) and a pharmacy's `is_pharmacy` (store() leaves 0).
    The permission rows by value, as update() maps them; the levels' values are the catalog's
    (`level_values`), which are the system's."""
    out: list[tuple[str, tuple[Any, ...]]] = []
    if (sorted(d.day2_module_ids), sorted(d.day2_level_ids)) != (
            sorted(d.module_ids), sorted(d.level_ids)):
        out += [("DELETE FROM module_user WHERE user_id = %s", (ADMIN_USER_ID,)),
                ("DELETE FROM module_level_user WHERE user_id = %s", (ADMIN_USER_ID,))]
        for table, column, values in (("modules", "module_id", d.module_values),
                                      ("module_levels", "module_level_id", d.level_values)):
            unique = tuple(dict.fromkeys(values))
            if unique:
                marks = ", ".join(["%s"] * len(unique))
                link = "module_user" if table == "modules" else "module_level_user"
                out.append((f"INSERT INTO {link} ({column}, user_id) SELECT id, %s FROM "
                            f"`{table}` WHERE value IN ({marks}) ORDER BY id",
                            (ADMIN_USER_ID, *unique)))
    if "digemid" in d.module_values:
        out.append(("UPDATE configurations SET is_pharmacy = %s WHERE NOT (is_pharmacy <=> %s)",
                    (1, 1)))
    return out


def tenant_level_ids(tenant_levels: Mapping[int, str], values: Iterable[str]) -> list[int]:
    """The level ids update() writes for posted level values (`_ids_of` on the tenant's
    module_levels, given here as read, id -> value): every id whose value is posted, so a value
    the tenant has twice gives both."""
    wanted = set(values)
    return sorted(i for i, v in tenant_levels.items() if v in wanted)


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
