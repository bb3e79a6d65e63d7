"""The MySQL server behind the aws stand-in's RDS instances: the run's MariaDB.

moto's RDS keeps an instance's settings but runs no database, so nothing could sign in to a
silo tenant's instance or the platform's shared server. When the world passes an admin login of
its MariaDB in STANDIN_RDS_MARIADB (JSON {"host", "port", "user", "password"}), every instance
is that server: its `address`/`port`/`endpoint` outputs are the MariaDB's, and its master user is
the MariaDB account `<username>`@'%' with the master password and ALL PRIVILEGES ON *.* WITH
GRANT OPTION (on real RDS the master user has every privilege the instance grants, and can grant
them on: the onboarding's `CREATE USER`/`GRANT` through it need that). Without the variable the
instance has only moto's endpoint, with no server behind it.

One server behind every instance, so one account per master user name: the stand-in records
which instance holds an account (table `standin_rds.master_users`). A second instance with the
same master user and the same password shares the account (a replacement, create before delete,
keeps its username and password); with another password its Create is refused before anything is
made (two platform environments on one MariaDB both named `admin`: give them separate worlds).
An account the stand-in did not make (the MariaDB's own root) is never taken over. A Delete
drops the account once no instance holds it; the databases made through it stay on the MariaDB
(real RDS deletes them with the instance, after the final snapshot when one is asked for).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

ENV = "STANDIN_RDS_MARIADB"
BOOK = "standin_rds"


class StandInLimit(Exception):
    """What one MariaDB behind every instance cannot do; raised before anything is made."""


@dataclass(frozen=True)
class Backing:
    host: str
    port: int
    user: str
    password: str

    def connect(self, user: str | None = None, password: str | None = None) -> Any:
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=user or self.user,
                               password=self.password if password is None else password,
                               autocommit=True, connect_timeout=10, charset="utf8mb4")

    def run(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        from tests.mariadb_server import rows_of

        return rows_of(self.connect(), sql, args)

    @property
    def endpoint(self) -> dict[str, Any]:
        """The outputs an instance has: the MariaDB's address and port."""
        return {"address": self.host, "port": self.port,
                "endpoint": f"{self.host}:{self.port}"}

    # -- the book of which instance holds which account --------------------------------------

    def _book(self) -> None:
        self.run(f"CREATE DATABASE IF NOT EXISTS `{BOOK}`")
        self.run(f"CREATE TABLE IF NOT EXISTS `{BOOK}`.master_users ("
                 "identifier VARCHAR(255) PRIMARY KEY, username VARCHAR(80) NOT NULL)")

    def holders(self, username: str) -> set[str]:
        self._book()
        return {r[0] for r in self.run(
            f"SELECT identifier FROM `{BOOK}`.master_users WHERE username = %s", (username,))}

    def _account_exists(self, username: str) -> bool:
        """An account of that name at any host (root@localhost is the MariaDB's own)."""
        return bool(self.run("SELECT 1 FROM mysql.user WHERE User = %s", (username,)))

    def _signs_in(self, username: str, password: str) -> bool:
        import pymysql

        try:
            self.connect(username, password).close()
        except pymysql.MySQLError:
            return False
        return True

    # -- what Create, Update and Delete do -------------------------------------------------

    def check_master(self, identifier: str, username: str, password: str) -> None:
        """Refuse, before anything is made, a master user this server cannot give the
        instance."""
        others = self.holders(username) - {identifier}
        if others and not self._signs_in(username, password):
            raise StandInLimit(
                f"stand-in limit: the master user {username!r} of RDS instance {identifier!r} "
                f"is already the MariaDB account of instance {sorted(others)[0]!r} with another "
                f"password (one MariaDB behind every instance; tests/engine_plugins/"
                f"aws_rds_mysql.py)")
        if not others and identifier not in self.holders(username) \
                and self._account_exists(username):
            raise StandInLimit(
                f"stand-in limit: the master user {username!r} of RDS instance {identifier!r} "
                "is an account of the MariaDB behind the stand-in that it did not make")

    def create_master(self, identifier: str, username: str, password: str) -> None:
        self.run("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (username, password))
        self.run("ALTER USER %s@'%%' IDENTIFIED BY %s", (username, password))
        self.run("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (username,))
        self.run(f"REPLACE INTO `{BOOK}`.master_users (identifier, username) VALUES (%s, %s)",
                 (identifier, username))

    def alter_master(self, identifier: str, old: str, new: str, password: str) -> None:
        """A new master password (or user name: RENAME USER, as RDS's ModifyDBInstance
        renames nothing, but an `ignore_changes`-free Update may carry it)."""
        if self.holders(old) - {identifier}:
            raise StandInLimit(
                f"stand-in limit: the master user {old!r} of RDS instance {identifier!r} is "
                "shared with another instance: its password cannot change for one of them")
        if old != new:
            self.check_master(identifier, new, password)
            if self._account_exists(old):
                self.run("RENAME USER %s@'%%' TO %s@'%%'", (old, new))
        self.create_master(identifier, new, password)

    def drop_master(self, identifier: str, username: str) -> None:
        self._book()
        self.run(f"DELETE FROM `{BOOK}`.master_users WHERE identifier = %s", (identifier,))
        if not self.holders(username):
            self.run("DROP USER IF EXISTS %s@'%%'", (username,))


def backing() -> Backing | None:
    """The MariaDB the world named in STANDIN_RDS_MARIADB, or None."""
    raw = os.environ.get(ENV)
    if not raw:
        return None
    data = json.loads(raw)
    return Backing(str(data["host"]), int(data["port"]), str(data["user"]),
                   str(data["password"]))


def login(server: Any) -> str:
    """The variable's value for a tests.mariadb_server.MariaDBServer (its admin login)."""
    return json.dumps({"host": server.host, "port": server.port, "user": server.user,
                       "password": server.password})
