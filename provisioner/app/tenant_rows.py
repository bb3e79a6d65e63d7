"""The tenant database's rows as store() inserts them for a new account, in its order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from provisioner.app.account import ADMIN_USER_ID, DesiredAccount, Secret, plan_json
from provisioner.app.clock import app_now
from provisioner.model.store_defaults import DOCUMENT_SERIES, ESTABLISHMENT, WAREHOUSE_DESCRIPTION


def tenant_inserts(d: DesiredAccount, plan: dict[str, Any], password_hash: str,
                   token: str, *, now: dt.datetime | None = None) -> list[tuple[str, Any]]:
    """store()'s tenant inserts, in its order. Values may be `Secret` (masked when printed);
    `now` is the app's wall-clock time (app.timezone), this instant's by default."""
    now = now or app_now(d.timezone)
    co, cf, s = d.company, d.configuration, d.smtp
    config = {**cf, "limit_documents": plan["limit_documents"],
              "limit_users": plan["limit_users"], "plan": plan_json(plan),
              "date_time_start": now}
    if s.host is not None:  # SMTP only as update() writes it
        config.update(smtp_host=s.host, smtp_port=s.port, smtp_user=s.user,
                      smtp_encryption=s.encryption)
        if s.password:
            config["smtp_password"] = s.password
    company = dict(co)
    establishment = {**ESTABLISHMENT, "email": d.user["email"]}
    user = {**d.user, "password": Secret(password_hash), "api_token": Secret(token),
            "establishment_id": 1}
    out: list[tuple[str, Any]] = [
        _insert("companies", company),
        _insert("configurations", config),
        _insert("establishments", establishment),
        _insert("warehouses", {"establishment_id": 1, "description": WAREHOUSE_DESCRIPTION,
                               "created_at": now, "updated_at": now}),
        ("INSERT INTO `series` (`establishment_id`, `document_type_id`, `number`)"
         " VALUES (%s, %s, %s)", [(1, t, n) for t, n in DOCUMENT_SERIES]),
        _insert("users", user),
    ]
    if d.module_ids:
        out.append(("INSERT INTO `module_user` (`module_id`, `user_id`) VALUES (%s, %s)",
                    [(m, ADMIN_USER_ID) for m in d.module_ids]))
    if d.level_ids:
        out.append(("INSERT INTO `module_level_user` (`module_level_id`, `user_id`)"
                    " VALUES (%s, %s)", [(lv, ADMIN_USER_ID) for lv in d.level_ids]))
    return out


def _insert(table: str, row: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    cols = ", ".join(f"`{k}`" for k in row)
    marks = ", ".join(["%s"] * len(row))
    return (f"INSERT INTO `{table}` ({cols}) VALUES ({marks})", tuple(row.values()))
