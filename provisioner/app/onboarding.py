"""Onboarding a tenant into the app's own databases, step by step, safe to re-run after a crash.

The steps follow "Guardar" (`ClientController::store` and hyn/multi-tenant's listeners):

1. `website`   system DB, one transaction: `websites` + `hostnames` rows, and our journal row
               (`provisioner_accounts`) that says this account is ours and which steps are done;
2. `database`  the tenant user `<uuid>` with hyn's password md5(APP_KEY.'.'.website_id), the
               database `<uuid>`, GRANT ALL (hyn's `Drivers/MariaDB.php`);
3. `migrate`, `seed`  the app's own `tenancy:migrate` / `tenancy:db:seed`, through the command
               line the reseller configures (`reseller.yaml` `app.commands`);
4. `certificate` the PEM file placed through `app.commands.put_certificate`;
5. `client`    system DB, one transaction: the `clients` row;
6. `tenant`    tenant DB, one transaction: companies, configurations, establishments,
               warehouses, series (11), users, module_user, module_level_user;
7. `sync`      day 2: exactly the columns the app's edit form (`update()`) and its lock buttons
               (`lockedTenant`, `lockedUser`, `lockedEmission`) write, only where they differ.

Each step checks the database before writing, so a run that died after any step is finished
by the next one; nothing the client created (documents, items, other users) is touched.
Checks that can refuse (unreachable server, missing plan, a website or client on this subdomain
that we did not create) all run before the first write. The SQL of the tenant rows is in
`tenant_rows`, the day-2 columns in `day2_sync`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets as _secrets
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.app.account import DesiredAccount
from provisioner.app.app_commands import Runner, expand, run_command
from provisioner.app.clock import app_now
from provisioner.app.connection import AppError, Server, error_reason
from provisioner.app.creation_only import account_warnings
from provisioner.app.day2_sync import smtp_password_after, sync_client, sync_tenant
from provisioner.app.journal import JOURNAL, REDO_STEPS, ensure_journal, journal_exists
from provisioner.app.tenant_database import (
    TENANT_CHARSET,
    TENANT_COLLATION,
    hyn_password,
    tenant_user_host,
)
from provisioner.app.tenant_rows import tenant_inserts

STEPS = ("website", "database", "migrate", "seed", "certificate", "client", "tenant")


class StepFailed(AppError):
    """A step failed after earlier ones were done; the next run continues from it."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"step {step!r} failed: {message} (the next run continues from it)")
        self.step = step


def new_token() -> str:
    """Laravel's str_random(50): 50 letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(_secrets.choice(alphabet) for _ in range(50))


@dataclass
class Change:
    step: str
    what: str

    def __str__(self) -> str:
        return f"{self.step}: {self.what}"


@dataclass
class Result:
    uuid: str
    website_id: int | None = None
    changes: list[Change] = field(default_factory=list)
    # spec fields the app keeps from creation that differ from the account (creation_only)
    warnings: list[str] = field(default_factory=list)
    connection_entry: dict[str, Any] | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass
class Onboarding:
    """One tenant's account in the app. `steps` limits what runs (the Pulumi program makes the
    database with its own resources and runs the rest); `fail_after` injects a crash (tests)."""

    desired: DesiredAccount
    system: Server
    app_key: str = field(repr=False)
    password_hash: str = field(repr=False)  # the admin's $2y$ bcrypt hash
    token: str = field(repr=False)  # clients.token = users.api_token (str_random(50))
    tenant_server: Server | None = None  # silo: the tenant's own server; else the system's
    migrate: Sequence[str] = ()
    seed: Sequence[str] = ()
    put_certificate: Sequence[str] | None = None
    certificate_pem: bytes | None = field(default=None, repr=False)
    start_billing_cycle: bool = False
    runner: Runner = run_command
    stack: str = ""
    user_host: str | None = None  # an adopted account's `<uuid>` user host (else hyn's rule)
    fail_after: str | None = None
    redo: frozenset[str] = frozenset()  # steps to run again although recorded done
    clock: Callable[[], dt.datetime] | None = None  # tests: a fixed instant (aware, any zone)

    def now(self) -> dt.datetime:
        """The time the app would write now: wall-clock time in `app.timezone`."""
        return app_now(self.desired.timezone, now=self.clock() if self.clock else None)

    def today(self) -> dt.date:
        return self.now().date()

    # --- the whole run ---------------------------------------------------------------------

    def run(self, steps: Sequence[str] = (*STEPS, "sync")) -> Result:
        d = self.desired
        result = Result(d.uuid)
        conn = self.system.connect()
        try:
            plan = self._preflight(conn, steps)
            website_id = self._step_website(conn, result) if "website" in steps else \
                self._website_id(conn)
            result.website_id = website_id
            done = self._done(conn) - self.redo
            for step in ("database", "migrate", "seed", "certificate"):
                if step in steps:
                    self._guard(step, lambda s=step: getattr(self, f"_step_{s}")(
                        conn, website_id, done, result))
            if "client" in steps:
                self._guard("client", lambda: self._step_client(conn, website_id, plan, result))
            if "tenant" in steps:
                self._guard("tenant", lambda: self._step_tenant(conn, website_id, plan, result))
            if "sync" in steps:
                self._guard("sync", lambda: self._step_sync(conn, website_id, plan, result))
        finally:
            conn.close()
        return result

    def _guard(self, step: str, action: Callable[[], None]) -> None:
        try:
            action()
        except StepFailed:
            raise
        except AppError as exc:
            raise StepFailed(step, str(exc)) from None
        except Exception as exc:
            import pymysql

            if isinstance(exc, pymysql.MySQLError):
                import os

                if os.environ.get("PROVISIONER_DEBUG"):
                    raise
                raise StepFailed(step, error_reason(exc)) from None
            raise
        if self.fail_after == step:
            raise StepFailed(step, "crash injected after the step")

    # --- checks before any write -------------------------------------------------------------

    def _preflight(self, conn, steps: Sequence[str] = (*STEPS, "sync")) -> dict[str, Any]:
        """Every refusal, before the first write: the schema, the plan, accounts that are not
        ours, and what later steps will need (their commands, the admin's password)."""
        from provisioner.app.schema_check import SYSTEM_NEEDS, require_schema

        d = self.desired
        unknown = sorted(self.redo - set(REDO_STEPS))
        if unknown:
            raise AppError(f"cannot redo {', '.join(unknown)}: only {', '.join(REDO_STEPS)} "
                           "run again safely")
        require_schema(conn, SYSTEM_NEEDS,
                       f"{self.system.database} (the app's system database)")
        with conn.cursor() as cur:
            try:
                cur.execute("SELECT * FROM plans WHERE name = %s ORDER BY id LIMIT 1",
                            (d.plan_name,))
            except Exception as exc:
                raise AppError(f"{self.system.database}: not the app's system database "
                               f"({error_reason(exc)})") from None
            plan = cur.fetchone()
            if plan is None:
                raise AppError(f"plan {d.plan_name!r} is not in the app's plans table "
                               f"({self.system.database}); create it in the admin panel "
                               "(Planes) or change the tenant's plan")
            ours = self._journal_row(cur)
            cur.execute("SELECT id FROM websites WHERE uuid = %s", (d.uuid,))
            website = cur.fetchone()
            if website and (ours is None or ours["website_id"] != website["id"]):
                raise AppError(f"the app already has a website {d.uuid!r} that this tool did "
                               "not create; refusing to touch it (adopting existing accounts "
                               "is a separate step)")
            cur.execute("SELECT website_id FROM hostnames WHERE fqdn = %s", (d.fqdn,))
            host = cur.fetchone()
            if host and (ours is None or host["website_id"] != ours["website_id"]):
                raise AppError(f"the app already has the hostname {d.fqdn!r} for another "
                               "website; refusing to touch it")
            cur.execute("SELECT c.id, h.website_id FROM clients c LEFT JOIN hostnames h"
                        " ON h.id = c.hostname_id WHERE c.number = %s OR c.name = %s",
                        (d.client["number"], d.client["name"]))
            for row in cur.fetchall():
                if ours is None or row["website_id"] != ours["website_id"]:
                    raise AppError(f"the app already has a client with RUC "
                                   f"{d.client['number']} or name {d.client['name']!r} on "
                                   "another subdomain; RUC and name are unique in the app")
            done = set(filter(None, (ours or {}).get("steps", "").split(","))) - self.redo
        conn.rollback()
        self._check_needs(steps, done)
        return plan

    def _check_needs(self, steps: Sequence[str], done: set[str]) -> None:
        """What the steps still to run will need, known before the first of them writes."""
        needs = []
        for step, template in (("migrate", self.migrate), ("seed", self.seed)):
            if step in steps and step not in done and not template:
                needs.append(f"app.commands.{step} in reseller.yaml")
        if ("certificate" in steps and self.certificate_pem is not None
                and not self.put_certificate):
            needs.append("app.commands.put_certificate in reseller.yaml (the tenant has a "
                         "certificate)")
        if "tenant" in steps and "tenant" not in done and not self.password_hash:
            needs.append("the admin user's password (PROVISIONER_ADMIN_PASSWORD, or the "
                         "stack's adminPassword)")
        if needs:
            raise AppError("cannot onboard without " + "; ".join(needs) + "; nothing was "
                           "written")

    def _journal_row(self, cur) -> dict[str, Any] | None:
        if not journal_exists(cur):
            return None
        cur.execute(f"SELECT * FROM {JOURNAL} WHERE uuid = %s", (self.desired.uuid,))
        return cur.fetchone()

    def _done(self, conn) -> set[str]:
        with conn.cursor() as cur:
            row = self._journal_row(cur)
        conn.commit()
        return set(filter(None, (row or {}).get("steps", "").split(",")))

    def _mark(self, cur, step: str) -> None:
        cur.execute(f"UPDATE {JOURNAL} SET steps = CONCAT_WS(',', NULLIF(steps, ''), %s),"
                    " updated_at = %s WHERE uuid = %s AND NOT FIND_IN_SET(%s, steps)",
                    (step, self.now(), self.desired.uuid, step))

    # --- steps -------------------------------------------------------------------------------

    def _step_website(self, conn, result: Result) -> int:
        d = self.desired
        with conn.cursor() as cur:
            ensure_journal(cur)
            row = self._journal_row(cur)
            if row is not None:
                website_id = int(row["website_id"])
                cur.execute("SELECT managed_by_database_connection AS m FROM websites"
                            " WHERE id = %s", (website_id,))
                current = cur.fetchone()
                if current is None:
                    raise AppError(f"website {d.uuid!r} (id {website_id}) was deleted outside "
                                   f"this tool; remove its row from {JOURNAL} to recreate it")
                if current["m"] != d.managed_by_database_connection:
                    cur.execute("UPDATE websites SET managed_by_database_connection = %s,"
                                " updated_at = %s WHERE id = %s",
                                (d.managed_by_database_connection, self.now(), website_id))
                    result.changes.append(Change("website", "managed_by_database_connection"))
                conn.commit()
                return website_id
            # one transaction: the website, its hostname and our journal row, or none of them
            now = self.now()
            cur.execute("INSERT INTO websites (uuid, managed_by_database_connection, created_at,"
                        " updated_at) VALUES (%s, %s, %s, %s)",
                        (d.uuid, d.managed_by_database_connection, now, now))
            website_id = int(cur.lastrowid)
            cur.execute("INSERT INTO hostnames (fqdn, website_id, created_at, updated_at)"
                        " VALUES (%s, %s, %s, %s)", (d.fqdn, website_id, now, now))
            cur.execute(f"INSERT INTO {JOURNAL} (uuid, website_id, stack, steps, created_at,"
                        " updated_at) VALUES (%s, %s, %s, 'website', %s, %s)",
                        (d.uuid, website_id, self.stack, now, now))
        conn.commit()
        result.changes.append(Change("website", f"websites #{website_id} + hostnames {d.fqdn}"))
        if self.fail_after == "website":
            raise StepFailed("website", "crash injected after the step")
        return website_id

    def _website_id(self, conn) -> int:
        with conn.cursor() as cur:
            row = self._journal_row(cur)
        conn.commit()
        if row is None:
            raise AppError(f"website {self.desired.uuid!r} is not registered yet")
        return int(row["website_id"])

    def _record(self, conn, step: str, sha: str | None = None) -> None:
        with conn.cursor() as cur:
            self._mark(cur, step)
            if sha is not None:
                cur.execute(f"UPDATE {JOURNAL} SET certificate_sha256 = %s WHERE uuid = %s",
                            (sha, self.desired.uuid))
        conn.commit()

    def _step_database(self, conn, website_id: int, done: set[str], result: Result) -> None:
        d = self.desired
        server = self.tenant_server or self.system
        password = hyn_password(self.app_key, website_id)
        if "database" in done and self._tenant_login_works(website_id):
            return
        host = self.user_host or tenant_user_host(server.host)
        admin = server.connect("")
        try:
            with admin.cursor() as cur:
                # hyn's statements; the ALTER fixes a user left with another password
                cur.execute(f"CREATE USER IF NOT EXISTS `{d.uuid}`@'{host}' IDENTIFIED BY %s",
                            (password,))
                cur.execute(f"ALTER USER `{d.uuid}`@'{host}' IDENTIFIED BY %s", (password,))
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{d.uuid}` DEFAULT CHARACTER SET"
                            f" {TENANT_CHARSET} DEFAULT COLLATE {TENANT_COLLATION}")
                cur.execute(f"GRANT ALL ON `{d.uuid}`.* TO `{d.uuid}`@'{host}'")
            admin.commit()
        finally:
            admin.close()
        self._record(conn, "database")
        result.changes.append(Change("database", f"user and database {d.uuid}"))

    def _tenant_login_works(self, website_id: int) -> bool:
        try:
            self._tenant(website_id).close()
        except AppError:
            return False
        return True

    def _tenant(self, website_id: int):
        server = self.tenant_server or self.system
        return server.connect(self.desired.uuid, user=self.desired.uuid,
                              password=hyn_password(self.app_key, website_id))

    def _values(self, website_id: int, filename: str = "") -> dict[str, str]:
        d = self.desired
        return {"website_id": str(website_id), "uuid": d.uuid, "fqdn": d.fqdn,
                "subdomain": d.subdomain, "filename": filename}

    def _step_migrate(self, conn, website_id: int, done: set[str], result: Result) -> None:
        self._command("migrate", self.migrate, conn, website_id, done, result)

    def _step_seed(self, conn, website_id: int, done: set[str], result: Result) -> None:
        self._command("seed", self.seed, conn, website_id, done, result)

    def _command(self, step: str, template: Sequence[str], conn, website_id: int,
                 done: set[str], result: Result) -> None:
        if step in done:
            return
        if not template:
            raise AppError(f"no app command for {step} (reseller.yaml app.commands.{step})")
        self.runner(expand(template, self._values(website_id)), None)
        self._record(conn, step)
        result.changes.append(Change(step, f"app command ({template[0]} ...)"))

    def _step_certificate(self, conn, website_id: int, done: set[str], result: Result) -> None:
        if self.certificate_pem is None:
            return
        sha = hashlib.sha256(self.certificate_pem).hexdigest()
        with conn.cursor() as cur:
            cur.execute(f"SELECT certificate_sha256 AS s FROM {JOURNAL} WHERE uuid = %s",
                        (self.desired.uuid,))
            row = cur.fetchone()
        conn.commit()
        if row and row["s"] == sha and "certificate" not in self.redo:
            return
        if not self.put_certificate:
            raise AppError("a certificate needs app.commands.put_certificate in reseller.yaml")
        filename = self.desired.company["certificate"]
        self.runner(expand(self.put_certificate, self._values(website_id, filename)),
                    self.certificate_pem)
        self._record(conn, "certificate", sha)
        result.changes.append(Change("certificate", f"file {filename}"))

    def _client_row(self, cur, website_id: int) -> dict[str, Any] | None:
        cur.execute("SELECT c.* FROM clients c JOIN hostnames h ON h.id = c.hostname_id"
                    " WHERE h.website_id = %s ORDER BY c.id LIMIT 1", (website_id,))
        return cur.fetchone()

    def _step_client(self, conn, website_id: int, plan: dict[str, Any], result: Result) -> None:
        d = self.desired
        with conn.cursor() as cur:
            if self._client_row(cur, website_id) is not None:
                conn.commit()
                return
            cur.execute("SELECT id FROM hostnames WHERE website_id = %s AND fqdn = %s",
                        (website_id, d.fqdn))
            hostname = cur.fetchone()
            if hostname is None:
                raise AppError(f"hostname {d.fqdn} is missing for website #{website_id}")
            c = d.client
            cur.execute(
                "INSERT INTO clients (hostname_id, token, email, name, number, plan_id,"
                " locked_emission, locked_tenant, locked_users, start_billing_cycle,"
                " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s)",
                (hostname["id"], self.token, c["email"], c["name"], c["number"], plan["id"],
                 c["locked_emission"], c["locked_tenant"], c["locked_users"],
                 self.today() if self.start_billing_cycle else None, self.now(), self.now()))
            if d.smtp.host is not None:
                self._write_client_smtp(cur, int(cur.lastrowid))
            self._mark(cur, "client")
        conn.commit()
        result.changes.append(Change("client", f"clients row for RUC {d.client['number']}"))

    def _write_client_smtp(self, cur, client_id: int) -> None:
        s = self.desired.smtp
        cur.execute("UPDATE clients SET smtp_host = %s, smtp_port = %s, smtp_user = %s,"
                    " smtp_encryption = %s, updated_at = %s WHERE id = %s",
                    (s.host, s.port, s.user, s.encryption, self.now(), client_id))
        if s.password:  # update(): an empty password keeps the stored one
            cur.execute("UPDATE clients SET smtp_password = %s WHERE id = %s",
                        (str(s.password), client_id))

    def _step_tenant(self, conn, website_id: int, plan: dict[str, Any], result: Result) -> None:
        from provisioner.app.schema_check import require_schema, tenant_needs

        d = self.desired
        tenant = self._tenant(website_id)
        try:
            # the tenant database is the app's migrate's work: checked before its first row
            require_schema(tenant, tenant_needs(d, plan), f"tenant database {d.uuid}")
            with tenant.cursor() as cur:
                cur.execute("SELECT COUNT(*) AS n FROM companies")
                if cur.fetchone()["n"]:
                    tenant.commit()
                    return
                if not self.password_hash:
                    raise AppError("the admin user needs a password "
                                   "(PROVISIONER_ADMIN_PASSWORD, or the stack's adminPassword)")
                for sql, params in tenant_inserts(d, plan, self.password_hash, self.token,
                                                  now=self.now()):
                    if isinstance(params, list):
                        cur.executemany(sql, params)
                    else:
                        cur.execute(sql, params)
            tenant.commit()  # DML only: one real transaction
        finally:
            tenant.close()
        self._record(conn, "tenant")
        result.changes.append(Change("tenant", "company, configuration, establishment, "
                                     "warehouse, 11 series, admin user, modules and levels"))

    # --- day 2 -------------------------------------------------------------------------------

    def _step_sync(self, conn, website_id: int, plan: dict[str, Any], result: Result) -> None:
        d = self.desired
        with conn.cursor() as cur:
            client = self._client_row(cur, website_id)
            if client is None:
                conn.commit()
                return
            result.changes += [Change("sync", c) for c in sync_client(cur, d, plan, client)]
        conn.commit()
        tenant = self._tenant(website_id)
        try:
            with tenant.cursor() as cur:
                changed = sync_tenant(cur, d, plan, conn, smtp_password_after(d, client),
                                      upload=self.certificate_pem is not None)
                rows: dict[str, Any] = {"clients": client, "plans": plan}
                for table in ("companies", "users", "configurations"):
                    cur.execute(f"SELECT * FROM `{table}` WHERE id = 1")
                    rows[table] = cur.fetchone()
            tenant.commit()
        finally:
            tenant.close()
        result.changes += [Change("sync", c) for c in changed]
        result.warnings += account_warnings(self.stack or d.subdomain, d, rows)
