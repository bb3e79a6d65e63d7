"""An app installation on the test MariaDB server: a system database from the schema fixture,
the reseller's plans, and an app-command hook that applies the tenant schema (standing in for
`tenancy:migrate` + `tenancy:db:seed`). Reused by every test that onboards or reads accounts."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import bcrypt

from provisioner.app.account import DesiredAccount, desired_account
from provisioner.app.connection import Server
from provisioner.app.onboarding import Onboarding, new_token
from provisioner.model.repository import load_repository
from tests import app_schema
from tests.mariadb_server import MariaDBServer

ROOT = Path(__file__).resolve().parent.parent
APP_KEY = "base64:dGVzdC1hcHAta2V5LW5vdC1hLXJlYWwtb25lLTEyMzQ1Ng=="
SOL_PASSWORD = "sol-Secret-123"
SMTP_PASSWORD = "smtp-Secret-456"
ADMIN_PASSWORD = "admin-Secret-789"
_counter = itertools.count()


@dataclass
class AppEnv:
    server: MariaDBServer
    system_db: str
    repo: Path
    commands: list[list[str]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    fail_commands: bool = False

    @property
    def system(self) -> Server:
        return Server(self.server.host, self.server.port, self.server.user,
                      self.server.password, self.system_db)

    def runner(self, args: Sequence[str], stdin: bytes | None) -> None:
        """The app-command hook: migrate applies the tenant schema, seed does nothing here
        (the seeder only fills format_templates), put_certificate keeps the file."""
        from provisioner.app.connection import AppError

        self.commands.append(list(args))
        if self.fail_commands:
            raise AppError(f"{args[0]} exited with 1: simulated failure")
        if args[0] == "migrate":
            uuid = args[1]
            conn = self.server.connect(uuid, autocommit=False)
            try:
                app_schema.apply(conn, app_schema.TENANT_TABLES)
            finally:
                conn.close()
        elif args[0] == "put-certificate":
            self.files[args[1]] = stdin or b""

    def load(self):
        repo = load_repository(self.repo)
        repo.raise_for_errors()
        return repo

    def desired(self, subdomain: str, **kw) -> DesiredAccount:
        repo = self.load()
        spec = repo.tenant(subdomain).spec
        plan = repo.catalog.plans[spec.plan]
        kw.setdefault("sol_password", SOL_PASSWORD if spec.soap.needs_sol_password else None)
        kw.setdefault("smtp_password", SMTP_PASSWORD if spec.smtp else None)
        kw.setdefault("silo", plan.tier.value == "silo")
        return desired_account(spec, repo.reseller, repo.catalog, **kw)

    def onboarding(self, subdomain: str, *, token: str | None = None, **kw) -> Onboarding:
        desired = kw.pop("desired", None) or self.desired(subdomain)
        return Onboarding(
            desired=desired, system=self.system, app_key=APP_KEY,
            password_hash=bcrypt.hashpw(ADMIN_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
            .replace("$2b$", "$2y$", 1),
            token=token or new_token(), migrate=["migrate", "{uuid}", "{website_id}"],
            seed=["seed", "{uuid}", "--website_id={website_id}"],
            put_certificate=["put-certificate", "{filename}"], runner=self.runner,
            stack=subdomain, **kw)

    def query(self, sql: str, args: object = None, database: str | None = None) -> list[tuple]:
        return self.server.execute(sql, args, database=database or self.system_db)

    def drop(self) -> None:
        rows = self.server.execute("SELECT uuid FROM websites", database=self.system_db) \
            if self._has_websites() else []
        for (uuid,) in rows:
            self.server.execute(f"DROP DATABASE IF EXISTS `{uuid}`")
            for (host,) in self.server.execute("SELECT host FROM mysql.user WHERE user = %s",
                                               (uuid,)):
                self.server.execute(f"DROP USER IF EXISTS `{uuid}`@'{host}'")
        self.server.execute(f"DROP DATABASE IF EXISTS `{self.system_db}`")

    def _has_websites(self) -> bool:
        return bool(self.server.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND "
            "table_name = 'websites'", (self.system_db,)))


def make_app_env(server: MariaDBServer, tmp_path: Path, *, prefix: str | None = None,
                 plans: bool = True) -> AppEnv:
    """A system database with the catalog's plans, and a copy of examples/ pointing at it;
    each call gets its own database prefix, so tests do not share tenant databases."""
    n = next(_counter)
    prefix = prefix or f"t{n}x"
    system_db = f"facturador_{prefix}"
    repo = tmp_path / f"repo{n}"
    shutil.copytree(ROOT / "examples", repo)
    reseller = repo / "reseller.yaml"
    text = reseller.read_text(encoding="utf-8")
    text = text.replace("database_prefix: tenancy", f"database_prefix: {prefix}")
    text = text.replace("force_https: true", "force_https: false")
    reseller.write_text(text, encoding="utf-8")
    env = AppEnv(server, system_db, repo)
    rows = catalog_plan_rows(env.load().catalog) if plans else []
    app_schema.create_system_database(server, system_db, rows)
    return env


def catalog_plan_rows(catalog: Any) -> list[tuple[Any, ...]]:
    """The `plans` rows the reseller made in the admin panel for the catalog's plans (all but
    the seeded Ilimitado), as app_schema.create_system_database takes them."""
    rows = []
    for plan in catalog.plans.values():
        name = plan.label or plan.name
        if name == "Ilimitado":
            continue  # the seeded plan
        rows.append((name, plan.pricing, plan.limit_users, plan.limit_documents,
                     "[" + ",".join(str(f.app_id) for f in plan.documents) + "]",
                     int(plan.locked)))
    return rows


class OnServer(Protocol):
    """An app environment or an engine world: anything with the test MariaDB server."""

    server: MariaDBServer


def dict_rows(env: OnServer, sql: str, database: str, args: Any = None
              ) -> list[dict[str, Any]]:
    """The rows `sql` selects in `database` on the app's test server, as dicts."""
    import pymysql

    conn = env.server.connect(database)
    try:
        with conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def set_onboard_env(monkeypatch: Any, server: MariaDBServer) -> None:
    """The variables `provisioner onboard` reads its secrets from, and the app command hook's
    way to the server, as an operator's shell has them."""
    for name, value in {"PROVISIONER_APP_KEY": APP_KEY,
                        "PROVISIONER_APP_DB_PASSWORD": server.password,
                        "PROVISIONER_ADMIN_PASSWORD": ADMIN_PASSWORD,
                        "PROVISIONER_SOL_PASSWORD": SOL_PASSWORD,
                        "PROVISIONER_SMTP_PASSWORD": SMTP_PASSWORD,
                        "HOOK_DB_PORT": str(server.port),
                        "HOOK_DB_PASSWORD": server.password}.items():
        monkeypatch.setenv(name, value)
