"""Stand-in for pulumi-mysql's plugin: real CREATE DATABASE / CREATE USER / GRANT statements on
the server the provider configuration names (the tests' MariaDB).

Replacement rules of terraform-provider-mysql v1.9.0 (petoju/terraform-provider-mysql, tag
v1.9.0, as bridged by pulumi-mysql):
- mysql_database (mysql/resource_database.go): `name` ForceNew; default_character_set (default
  "utf8") and default_collation (default "utf8_general_ci") update in place (ALTER DATABASE);
  import by name (ImportStatePassthrough).
- mysql_user (mysql/resource_user.go): `user`, `host` (default "localhost"), `auth_plugin`,
  `tls_option` (default "NONE") ForceNew; `plaintext_password` Sensitive, kept in state as its
  sha256 (StateFunc hashSum, mysql/utils.go), changed in place; no importer.
- mysql_grant (mysql/resource_grant.go): every argument ForceNew (user, role, host, database,
  table default "*", privileges, roles, grant default false, tls_option default "NONE"); id
  `user@host:database`; no importer.
TLS: the provider's `tls` is used when the server offers TLS; the tests' MariaDB offers none,
so there the stand-in connects in clear (the real provider would refuse): a difference of the
stand-in, not of the program.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from typing import Any

import pymysql

from tests.engine_plugins.server import Config, Kind, NotFound, Provider, plugin_version, serve
from tests.mariadb_server import rows_of


def connect(config: Config, database: str | None = None) -> Any:
    host, _, port = str(config["endpoint"]).rpartition(":")
    kwargs = {"host": host, "port": int(port), "user": config.get("username"),
              "password": config.get("password") or "", "database": database,
              "autocommit": True, "connect_timeout": 10, "charset": "utf8mb4"}
    if str(config.get("tls", "false")) in ("true", "skip-verify"):
        context = ssl.create_default_context()
        if config.get("tls") == "skip-verify":
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        try:
            return pymysql.connect(**kwargs, ssl=context)
        except pymysql.err.OperationalError as exc:
            if "SSL is required" not in str(exc):
                raise
    return pymysql.connect(**kwargs)


def run(config: Config, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    return rows_of(connect(config), sql, args)


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# -- mysql_database ----------------------------------------------------------------------------

def db_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    run(c, f"CREATE DATABASE {_q(p['name'])} CHARACTER SET {_word(p['defaultCharacterSet'])} "
           f"COLLATE {_word(p['defaultCollation'])}")
    return p["name"], {}


def _word(text: str) -> str:
    if not re.fullmatch(r"\w+", text):
        raise ValueError(f"not a character set or collation name: {text!r}")
    return text


def db_read(c: Config, id_: str, _s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = run(c, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM "
                  "information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (id_,))
    if not rows:
        raise NotFound(id_)
    found = {"name": id_, "defaultCharacterSet": rows[0][0], "defaultCollation": rows[0][1]}
    return found, found


def db_update(c: Config, id_: str, _o: dict[str, Any], n: dict[str, Any]) -> dict[str, Any]:
    run(c, f"ALTER DATABASE {_q(id_)} CHARACTER SET {_word(n['defaultCharacterSet'])} "
           f"COLLATE {_word(n['defaultCollation'])}")
    return {}


def db_delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
    run(c, f"DROP DATABASE IF EXISTS {_q(id_)}")


# -- mysql_user --------------------------------------------------------------------------------

def user_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    run(c, "CREATE USER %s@%s IDENTIFIED BY %s", (p["user"], p["host"],
                                                  p.get("plaintextPassword") or ""))
    return f"{p['user']}@{p['host']}", _hashed(p)


def _hashed(p: dict[str, Any]) -> dict[str, Any]:
    pw = p.get("plaintextPassword")
    return {"plaintextPassword": hashlib.sha256(pw.encode()).hexdigest()} if pw else {}


def user_read(c: Config, id_: str, s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if not s.get("user"):
        raise ValueError("mysql_user has no importer in terraform-provider-mysql v1.9.0")
    if not run(c, "SELECT 1 FROM mysql.user WHERE User = %s AND Host = %s",
               (s["user"], s["host"])):
        raise NotFound(id_)
    return {}, {}


def user_update(c: Config, _id: str, o: dict[str, Any], n: dict[str, Any]) -> dict[str, Any]:
    run(c, "ALTER USER %s@%s IDENTIFIED BY %s", (n["user"], n["host"],
                                                 n.get("plaintextPassword") or ""))
    return _hashed(n)


def user_delete(c: Config, _id: str, p: dict[str, Any]) -> None:
    run(c, "DROP USER IF EXISTS %s@%s", (p["user"], p["host"]))


# -- mysql_grant -------------------------------------------------------------------------------

def grant_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    privileges = ", ".join(p["privileges"])
    run(c, f"GRANT {privileges} ON {_q(p['database'])}.{p.get('table') or '*'} TO %s@%s",
        (p["user"], p["host"]))
    return f"{p['user']}@{p['host']}:{p['database']}", {}


def grant_read(c: Config, id_: str, s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if not s.get("user"):
        raise ValueError("mysql_grant has no importer in terraform-provider-mysql v1.9.0")
    try:
        rows = run(c, "SHOW GRANTS FOR %s@%s", (s["user"], s["host"]))
    except pymysql.MySQLError:
        raise NotFound(id_) from None
    on = re.compile(r"^GRANT (.+) ON `?(.+?)`?\.(\S+) TO ")
    for (line,) in rows:
        m = on.match(line)
        if m and m.group(2).replace("``", "`") == s["database"]:
            privileges = [x.strip() for x in m.group(1).split(",")]
            return {"privileges": privileges}, {"privileges": privileges}
    raise NotFound(id_)


def grant_delete(c: Config, _id: str, p: dict[str, Any]) -> None:
    try:
        run(c, f"REVOKE ALL PRIVILEGES ON {_q(p['database'])}.{p.get('table') or '*'} "
               "FROM %s@%s", (p["user"], p["host"]))
    except pymysql.MySQLError as exc:
        if exc.args and exc.args[0] in (1141, 1147, 1403):  # no such grant / user
            return
        raise


PROVIDER = Provider("mysql", plugin_version("pulumi_mysql"), {
    "mysql:index/database:Database": Kind(
        frozenset({"name"}), frozenset(),
        {"defaultCharacterSet": "utf8", "defaultCollation": "utf8_general_ci"},
        db_create, db_read, db_update, db_delete),
    "mysql:index/user:User": Kind(
        frozenset({"user", "host", "authPlugin", "tlsOption"}),
        frozenset({"plaintextPassword", "password"}), {"host": "localhost", "tlsOption": "NONE"},
        user_create, user_read, user_update, user_delete),
    "mysql:index/grant:Grant": Kind(
        frozenset({"user", "role", "host", "database", "table", "privileges", "roles", "grant",
                   "tlsOption"}), frozenset(),
        {"table": "*", "grant": False, "tlsOption": "NONE"},
        grant_create, grant_read, None, grant_delete),
})

if __name__ == "__main__":
    serve(PROVIDER)
