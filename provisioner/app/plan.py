"""The SQL-level plan of a first onboarding, printed without touching any database.

The statements are the ones `provisioner.app.onboarding` runs for a new account, with the values the
database would supply written as sub-queries or names (`<website_id>`) and every secret masked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from provisioner.app.account import DesiredAccount, Secret
from provisioner.app.app_commands import expand
from provisioner.app.clock import app_now
from provisioner.app.day2_sync import first_sync_plan
from provisioner.app.journal import JOURNAL
from provisioner.app.tenant_database import tenant_user_host
from provisioner.app.tenant_rows import tenant_inserts
from provisioner.safe_text import command_line
from provisioner.secrets import MASK


class Sql(str):
    """A value printed as SQL text, not quoted (a sub-query, a placeholder)."""

    __slots__ = ()


@dataclass(frozen=True)
class PlannedStep:
    step: str
    target: str  # "system", "tenant", "server" or "command"
    statements: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "target": self.target, "statements": list(self.statements)}


def literal(value: Any) -> str:
    if isinstance(value, Secret):
        return f"'{MASK}'"
    if isinstance(value, Sql):
        return str(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"'{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, dt.date):
        return f"'{value:%Y-%m-%d}'"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def inline(sql: str, params: tuple[Any, ...]) -> str:
    parts = sql.split("%s")
    out = parts[0]
    for value, rest in zip(params, parts[1:], strict=True):
        out += literal(value) + rest
    return out


def plan_onboarding(d: DesiredAccount, *, database_host: str, migrate: list[str],
                    seed: list[str], put_certificate: list[str] | None, certificate: bool,
                    limits: tuple[int, int], start_billing_cycle: bool) -> list[PlannedStep]:
    website = Sql("<website_id>")
    now = app_now(d.timezone)  # the app's wall-clock time, as the writer takes it
    plan_id = Sql(f"(SELECT id FROM plans WHERE name = {literal(d.plan_name)} ORDER BY id LIMIT 1)")
    plan_row = {"id": plan_id, "limit_documents": limits[1], "limit_users": limits[0]}
    host = tenant_user_host(database_host)
    steps = [
        PlannedStep("website", "system", (
            "START TRANSACTION",
            inline("INSERT INTO websites (uuid, managed_by_database_connection, created_at,"
                   " updated_at) VALUES (%s, %s, %s, %s)",
                   (d.uuid, d.managed_by_database_connection, now, now)),
            "-- its id is <website_id> below",
            inline("INSERT INTO hostnames (fqdn, website_id, created_at, updated_at)"
                   " VALUES (%s, %s, %s, %s)", (d.fqdn, website, now, now)),
            inline(f"INSERT INTO {JOURNAL} (uuid, website_id, stack, steps) VALUES (%s, %s, %s,"
                   " 'website')", (d.uuid, website, d.subdomain)),
            "COMMIT")),
        PlannedStep("database", "server", (
            "-- password: md5(APP_KEY.'.'.<website_id>), hyn's DefaultPasswordGenerator",
            f"CREATE USER IF NOT EXISTS `{d.uuid}`@'{host}' IDENTIFIED BY '{MASK}'",
            f"CREATE DATABASE IF NOT EXISTS `{d.uuid}` DEFAULT CHARACTER SET utf8mb4"
            " DEFAULT COLLATE utf8mb4_unicode_ci",
            f"GRANT ALL ON `{d.uuid}`.* TO `{d.uuid}`@'{host}'")),
        PlannedStep("migrate", "command", (command_line(*_shown(migrate, d)),)),
        PlannedStep("seed", "command", (command_line(*_shown(seed, d)),)),
    ]
    if certificate:
        steps.append(PlannedStep("certificate", "command", (
            command_line(*_shown(put_certificate or ["<app.commands.put_certificate missing>"], d))
            + f"  < {MASK} (the PEM)",)))
    c = d.client
    steps.append(PlannedStep("client", "system", (inline(
        "INSERT INTO clients (hostname_id, token, email, name, number, plan_id, locked_emission,"
        " locked_tenant, locked_users, start_billing_cycle) VALUES ((SELECT id FROM hostnames"
        " WHERE fqdn = %s), %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (d.fqdn, Secret(""), c["email"], c["name"], c["number"], plan_id, c["locked_emission"],
         c["locked_tenant"], c["locked_users"],
         now.date() if start_billing_cycle else None)),)
        + ((inline("UPDATE clients SET smtp_host = %s, smtp_port = %s, smtp_user = %s,"
                   " smtp_encryption = %s, smtp_password = %s WHERE number = %s",
                   (d.smtp.host, d.smtp.port, d.smtp.user, d.smtp.encryption,
                    d.smtp.password, c["number"])),) if d.smtp.host else ())))
    tenant = ["START TRANSACTION"]
    for sql, params in tenant_inserts(d, plan_row, "", "", now=now):
        rows = params if isinstance(params, list) else [params]
        tenant += [inline(sql, tuple(_mask_tenant(sql, row))) for row in rows]
    tenant.append("COMMIT")
    steps.append(PlannedStep("tenant", "tenant", tuple(tenant)))
    sync = [inline(sql, params) for sql, params in first_sync_plan(d)]
    if sync:  # update()'s recomputations that differ from store()'s rows (docs/app.md)
        steps.append(PlannedStep("sync", "tenant", tuple(sync)))
    return steps


def _mask_tenant(sql: str, row: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for value in row:
        if isinstance(value, str) and value.startswith("{\"id\":"):
            out.append(Sql("<the plans row as JSON>"))
        else:
            out.append(value)
    return out


def _shown(template: list[str], d: DesiredAccount) -> list[str]:
    values = {"website_id": "<website_id>", "uuid": d.uuid, "fqdn": d.fqdn,
              "subdomain": d.subdomain, "filename": d.company.get("certificate") or ""}
    return expand(template, values)
