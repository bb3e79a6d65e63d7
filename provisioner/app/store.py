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
that we did not create) all run before the first write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets as _secrets
import string
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.app.account import (
    ADMIN_USER_ID,
    ESTABLISHMENT,
    SERIES,
    WAREHOUSE_DESCRIPTION,
    DesiredAccount,
    Secret,
    plan_json,
)
from provisioner.errors import ProvisionerError

JOURNAL = "provisioner_accounts"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "192.168.0.1")  # hyn keeps these as the user's host
# the tenant database's defaults: hyn's tenancy connection (utf8mb4, utf8mb4_unicode_ci), the
# pulumi-mysql Database the stack declares, and what `adopt` checks before an import
TENANT_CHARSET = "utf8mb4"
TENANT_COLLATION = "utf8mb4_unicode_ci"
STEPS = ("website", "database", "migrate", "seed", "certificate", "client", "tenant")


class AppError(ProvisionerError):
    """The app's databases refused or are not in a state we may write to; one line."""


class AppUnreachable(AppError):
    """The app's database could not be reached, or refused the credentials: nothing is known
    about the account (never taken for "it exists" nor for "it is gone")."""


class StepFailed(AppError):
    """A step failed after earlier ones were done; the next run continues from it."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"step {step!r} failed: {message} (the next run continues from it)")
        self.step = step


def ensure_journal(cur) -> None:
    """Our journal table in the system database: which accounts are ours, which steps done."""
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {JOURNAL} (uuid VARCHAR(255) PRIMARY KEY,"
        " website_id BIGINT UNSIGNED NOT NULL, stack VARCHAR(255) NOT NULL DEFAULT '',"
        " steps VARCHAR(255) NOT NULL DEFAULT '', certificate_sha256 CHAR(64) NULL,"
        " created_at TIMESTAMP NULL, updated_at TIMESTAMP NULL)"
        " COMMENT 'accounts created by tenant-provisioner'")


def hyn_password(app_key: str, website_id: int) -> str:
    """hyn's DefaultPasswordGenerator: md5(APP_KEY . '.' . website_id), APP_KEY verbatim."""
    return hashlib.md5(f"{app_key}.{int(website_id)}".encode()).hexdigest()


def tenant_user_host(database_host: str) -> str:
    """hyn's DatabaseGenerator: the user's host is '%' unless the database host is local."""
    return database_host if database_host in LOCAL_HOSTS else "%"


def new_token() -> str:
    """Laravel's str_random(50): 50 letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(_secrets.choice(alphabet) for _ in range(50))


@dataclass(frozen=True)
class Server:
    """A MySQL/MariaDB server and an account on it (password never printed)."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str | None = None

    def connect(self, database: str | None = None, *, user: str | None = None,
                password: str | None = None):
        import pymysql

        try:
            return pymysql.connect(
                host=self.host, port=self.port, user=user or self.user,
                password=self.password if password is None else password,
                database=database if database is not None else self.database,
                autocommit=False, charset="utf8mb4", connect_timeout=10, read_timeout=60,
                write_timeout=60, cursorclass=pymysql.cursors.DictCursor)
        except pymysql.MySQLError as exc:
            raise AppError(f"cannot connect to {self.host}:{self.port} as "
                           f"{user or self.user}: {mysql_reason(exc)}") from None


def mysql_reason(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[1], str):
        return f"{args[1]} (error {args[0]})"
    return type(exc).__name__


Runner = Callable[[Sequence[str], bytes | None], None]


def run_command(args: Sequence[str], stdin: bytes | None) -> None:
    """Run one of the app's commands: an argument list, never a shell string."""
    try:
        proc = subprocess.run(list(args), input=stdin, capture_output=True, timeout=3600,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AppError(f"{args[0]}: {getattr(exc, 'strerror', None) or type(exc).__name__}"
                       ) from None
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise AppError(f"{args[0]} exited with {proc.returncode}: {tail[0][:300]}")


def expand(template: Sequence[str], values: dict[str, str]) -> list[str]:
    """Fill `{website_id}`-style placeholders argument by argument (no shell, no splitting)."""
    return [arg.format_map(values) for arg in template]


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
    today: Callable[[], dt.date] = dt.date.today

    # --- the whole run ---------------------------------------------------------------------

    def run(self, steps: Sequence[str] = (*STEPS, "sync")) -> Result:
        d = self.desired
        result = Result(d.uuid)
        conn = self.system.connect()
        try:
            plan = self._preflight(conn)
            website_id = self._step_website(conn, result) if "website" in steps else \
                self._website_id(conn)
            result.website_id = website_id
            done = self._done(conn)
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
                raise StepFailed(step, mysql_reason(exc)) from None
            raise
        if self.fail_after == step:
            raise StepFailed(step, "crash injected after the step")

    # --- checks before any write -------------------------------------------------------------

    def _preflight(self, conn) -> dict[str, Any]:
        d = self.desired
        with conn.cursor() as cur:
            try:
                cur.execute("SELECT * FROM plans WHERE name = %s ORDER BY id LIMIT 1",
                            (d.plan_name,))
            except Exception as exc:
                raise AppError(f"{self.system.database}: not the app's system database "
                               f"({mysql_reason(exc)})") from None
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
        conn.rollback()
        return plan

    def _journal_row(self, cur) -> dict[str, Any] | None:
        cur.execute("SELECT COUNT(*) AS n FROM information_schema.tables WHERE "
                    "table_schema = DATABASE() AND table_name = %s", (JOURNAL,))
        if not cur.fetchone()["n"]:
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
                    " updated_at = NOW() WHERE uuid = %s AND NOT FIND_IN_SET(%s, steps)",
                    (step, self.desired.uuid, step))

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
                                " updated_at = NOW() WHERE id = %s",
                                (d.managed_by_database_connection, website_id))
                    result.changes.append(Change("website", "managed_by_database_connection"))
                conn.commit()
                return website_id
            # one transaction: the website, its hostname and our journal row, or none of them
            cur.execute("INSERT INTO websites (uuid, managed_by_database_connection, created_at,"
                        " updated_at) VALUES (%s, %s, NOW(), NOW())",
                        (d.uuid, d.managed_by_database_connection))
            website_id = int(cur.lastrowid)
            cur.execute("INSERT INTO hostnames (fqdn, website_id, created_at, updated_at)"
                        " VALUES (%s, %s, NOW(), NOW())", (d.fqdn, website_id))
            cur.execute(f"INSERT INTO {JOURNAL} (uuid, website_id, stack, steps, created_at,"
                        " updated_at) VALUES (%s, %s, %s, 'website', NOW(), NOW())",
                        (d.uuid, website_id, self.stack))
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
        if row and row["s"] == sha:
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
                " NOW(), NOW())",
                (hostname["id"], self.token, c["email"], c["name"], c["number"], plan["id"],
                 c["locked_emission"], c["locked_tenant"], c["locked_users"],
                 self.today() if self.start_billing_cycle else None))
            if d.smtp.host is not None:
                self._write_client_smtp(cur, int(cur.lastrowid))
            self._mark(cur, "client")
        conn.commit()
        result.changes.append(Change("client", f"clients row for RUC {d.client['number']}"))

    def _write_client_smtp(self, cur, client_id: int) -> None:
        s = self.desired.smtp
        cur.execute("UPDATE clients SET smtp_host = %s, smtp_port = %s, smtp_user = %s,"
                    " smtp_encryption = %s, updated_at = NOW() WHERE id = %s",
                    (s.host, s.port, s.user, s.encryption, client_id))
        if s.password:  # update(): an empty password keeps the stored one
            cur.execute("UPDATE clients SET smtp_password = %s WHERE id = %s",
                        (str(s.password), client_id))

    def _step_tenant(self, conn, website_id: int, plan: dict[str, Any], result: Result) -> None:
        d = self.desired
        tenant = self._tenant(website_id)
        try:
            with tenant.cursor() as cur:
                cur.execute("SELECT COUNT(*) AS n FROM companies")
                if cur.fetchone()["n"]:
                    tenant.commit()
                    return
                if not self.password_hash:
                    raise AppError("the admin user needs a password "
                                   "(PROVISIONER_ADMIN_PASSWORD, or the stack's adminPassword)")
                for sql, params in tenant_inserts(d, plan, self.password_hash, self.token):
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
            want = {"plan_id": plan["id"], "locked_emission": d.client["locked_emission"],
                    "locked_tenant": d.client["locked_tenant"],
                    "locked_users": d.client["locked_users"],
                    "smtp_host": d.smtp.host, "smtp_port": d.smtp.port,
                    "smtp_user": d.smtp.user, "smtp_encryption": d.smtp.encryption}
            if d.smtp.password:
                want["smtp_password"] = str(d.smtp.password)
            diff = {k: v for k, v in want.items() if client.get(k) != v}
            if diff:
                sets = ", ".join(f"`{k}` = %s" for k in diff)
                cur.execute(f"UPDATE clients SET {sets}, updated_at = NOW() WHERE id = %s",
                            (*diff.values(), client["id"]))
                result.changes.append(Change("sync", "clients: " + ", ".join(sorted(diff))))
        conn.commit()
        tenant = self._tenant(website_id)
        try:
            with tenant.cursor() as cur:
                changed = sync_tenant(cur, d, plan, conn)
            tenant.commit()
        finally:
            tenant.close()
        result.changes += [Change("sync", c) for c in changed]


def tenant_inserts(d: DesiredAccount, plan: dict[str, Any], password_hash: str,
                   token: str) -> list[tuple[str, Any]]:
    """store()'s tenant inserts, in its order. Values may be `Secret` (masked when printed)."""
    now = dt.datetime.now().replace(microsecond=0)
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
         " VALUES (%s, %s, %s)", [(1, t, n) for t, n in SERIES]),
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


def sync_tenant(cur, d: DesiredAccount, plan: dict[str, Any], system_conn) -> list[str]:
    """update() and the lock buttons on the tenant's rows 1 (configuration, company) and the
    admin's (user 1) modules and levels; returns what changed."""
    changes: list[str] = []
    cur.execute("SELECT * FROM configurations WHERE id = 1")
    config = cur.fetchone()
    if config is None:
        return changes
    want: dict[str, Any] = {
        "plan": plan_json(plan), "config_system_env": d.configuration["config_system_env"],
        "sunat_alternate_server": d.configuration["sunat_alternate_server"],
        "limit_documents": plan["limit_documents"],
        "locked_emission": d.configuration["locked_emission"],
        "locked_tenant": d.configuration["locked_tenant"],
        "locked_users": d.configuration["locked_users"],
        "smtp_host": d.smtp.host, "smtp_port": d.smtp.port, "smtp_user": d.smtp.user,
        "smtp_encryption": d.smtp.encryption}
    if d.smtp.password:
        want["smtp_password"] = str(d.smtp.password)
    changes += _update(cur, "configurations", config, want)
    cur.execute("SELECT * FROM companies WHERE id = 1")
    company = cur.fetchone()
    if company is not None:
        keys = ("soap_type_id", "soap_send_id", "soap_username", "soap_password", "soap_url",
                "certificate")
        changes += _update(cur, "companies", company,
                           {k: (str(d.company[k]) if isinstance(d.company[k], Secret)
                                else d.company[k]) for k in keys})
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


# --- reading an account back; removing one ------------------------------------------------


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


def remove_account(system: Server, uuid: str, *, production: bool, drop_database: bool = False,
                   drop_user: bool = False, tenant_server: Server | None = None) -> list[str]:
    """`destroy()` for a non-production tenant: the hostname and website rows go (the client
    row with them, by its foreign key); the database and its user only as the reseller's
    `delete_tenant_database*` settings say (hyn's auto-delete flags). Production is retained."""
    if production:
        return []
    conn = system.connect()
    done: list[str] = []
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) AS n FROM information_schema.tables WHERE "
                        "table_schema = DATABASE() AND table_name = %s", (JOURNAL,))
            if not cur.fetchone()["n"]:
                return done
            cur.execute(f"SELECT website_id FROM {JOURNAL} WHERE uuid = %s", (uuid,))
            row = cur.fetchone()
            if row is None:
                return done
            cur.execute("SELECT c.locked FROM clients c JOIN hostnames h ON h.id = c.hostname_id"
                        " WHERE h.website_id = %s", (row["website_id"],))
            if any(r["locked"] for r in cur.fetchall()):
                raise AppError(f"client {uuid} is locked in the app (clients.locked); "
                               "the app refuses to delete it, and so do we")
            cur.execute("DELETE FROM hostnames WHERE website_id = %s", (row["website_id"],))
            cur.execute("DELETE FROM websites WHERE id = %s", (row["website_id"],))
            cur.execute(f"DELETE FROM {JOURNAL} WHERE uuid = %s", (uuid,))
        conn.commit()
        done.append("website, hostname and client rows")
    finally:
        conn.close()
    if drop_database or drop_user:
        server = tenant_server or system
        admin = server.connect("")
        try:
            with admin.cursor() as cur:
                if drop_database:
                    cur.execute(f"DROP DATABASE IF EXISTS `{uuid}`")
                    done.append(f"database {uuid}")
                if drop_user:
                    cur.execute("SELECT Host AS h FROM mysql.user WHERE User = %s", (uuid,))
                    for r in cur.fetchall():
                        cur.execute(f"DROP USER IF EXISTS `{uuid}`@'{r['h']}'")
                    done.append(f"user {uuid}")
            admin.commit()
        finally:
            admin.close()
    return done
