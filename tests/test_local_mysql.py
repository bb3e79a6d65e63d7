"""Local mode needs MySQL 8, not MariaDB: shown against the real MariaDB server Debian ships
(started here on a private data directory, loopback only), asked the question the mysql
provider asks. MySQL 8 is not installed on this machine, so the accepting side is checked on
the answers a MySQL 8 server gives, through `server_problem`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from provisioner.orchestrate.local import (
    LOCAL_DB_TLS,
    LocalDatabaseError,
    LocalPlatform,
    check_mysql_server,
    server_problem,
)
from tests.mariadb_server import free_port

PASSWORD = "local-Admin-pw-1"


@pytest.fixture(scope="module")
def mariadb(mariadb_server: Any) -> str:
    """The session's real MariaDB (tests/mariadb_server.py), with an `admin` user like the
    local-mode instructions create."""
    mariadb_server.execute("CREATE USER IF NOT EXISTS 'admin'@'%%' IDENTIFIED BY %s", (PASSWORD,))
    mariadb_server.execute("GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION")
    return str(mariadb_server.endpoint)


def test_mariadb_lacks_the_variable_the_mysql_provider_reads(mariadb: str) -> None:
    import pymysql

    host, port = mariadb.split(":")
    conn = pymysql.connect(host=host, port=int(port), user="admin", password=PASSWORD)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.version")
            assert "MariaDB" in cur.fetchone()[0]
            with pytest.raises(pymysql.MySQLError) as info:
                cur.execute("SELECT @@GLOBAL.innodb_version")
            assert info.value.args[0] == 1193  # ER_UNKNOWN_SYSTEM_VARIABLE
    finally:
        conn.close()


def test_local_mode_refuses_mariadb_and_names_mysql_8(mariadb: str) -> None:
    with pytest.raises(LocalDatabaseError) as info:
        check_mysql_server(mariadb, "admin", PASSWORD)
    message = str(info.value)
    assert "MariaDB" in message and "innodb_version" in message and "mysql:8.4" in message
    assert PASSWORD not in message


def test_a_wrong_password_or_no_server_is_one_clear_line(mariadb: str) -> None:
    with pytest.raises(LocalDatabaseError, match="cannot sign in") as info:
        check_mysql_server(mariadb, "admin", "wrong-password")
    assert "wrong-password" not in str(info.value)
    with pytest.raises(LocalDatabaseError, match="PROVISIONER_LOCAL_DB"):
        check_mysql_server(f"127.0.0.1:{free_port()}", "admin", PASSWORD, timeout=2)


@pytest.mark.parametrize(("version", "innodb", "cipher", "ok"), [
    ("8.4.3", "8.4.3", "TLS_AES_128_GCM_SHA256", True),
    ("8.0.40", "8.0.40", "TLS_AES_256_GCM_SHA384", True),
    ("8.4.3", "8.4.3", "", False),  # started without TLS
    ("5.7.44", "5.7.44", "ECDHE-RSA-AES128-GCM-SHA256", False),
    ("10.11.19-MariaDB-0+deb12u1", None, "TLS_AES_256_GCM_SHA384", False),
    ("10.6.18-MariaDB", "10.6.18", "TLS_AES_256_GCM_SHA384", False),
])
def test_which_servers_serve_the_provider(version: str, innodb: str | None, cipher: str,
                                          ok: bool) -> None:
    assert (server_problem(version, innodb, cipher) is None) is ok


def test_local_stacks_connect_with_tls() -> None:
    platform = LocalPlatform("http://127.0.0.1:5000", "Z1", "k", "arn", "127.0.0.1:3306", "admin")
    assert platform.stack_config()["sharedDatabaseTls"] == (LOCAL_DB_TLS, False)
    assert LOCAL_DB_TLS == "skip-verify"


def test_check_runs_before_local_mode_starts(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.model.repository import load_repository
    from provisioner.orchestrate.local import local_session

    (repo / "Pulumi.yaml").write_text("name: tenants\nruntime: python\n")
    reseller = load_repository(repo).reseller
    assert reseller is not None
    with pytest.raises(LocalDatabaseError), local_session(
            repo, reseller, environ={"PROVISIONER_LOCAL_DB": f"127.0.0.1:{free_port()}"}):
        pass


# -- the documented copy after a database move ---------------------------------------------


def _cnf(path: Path, endpoint: str) -> Path:
    host, port = endpoint.split(":")
    path.write_text(f"[client]\nhost={host}\nport={port}\nuser=admin\npassword={PASSWORD}\n")
    path.chmod(0o600)
    return path


def test_the_copy_script_moves_the_data_and_never_overwrites(mariadb: str,
                                                              tmp_path: Path) -> None:
    """The data path of docs/data-safety.md, run for real (MariaDB stands in for the MySQL
    servers here: only dump and restore are exercised)."""
    import pymysql

    host, port = mariadb.split(":")
    conn = pymysql.connect(host=host, port=int(port), user="admin", password=PASSWORD,
                           autocommit=True, charset="utf8mb4")
    with conn.cursor() as cur:
        for db in ("tenancy_shop", "acme_shop"):
            cur.execute(f"CREATE DATABASE {db} CHARACTER SET utf8mb4")
        cur.execute("CREATE TABLE tenancy_shop.clients (id INT PRIMARY KEY, name VARCHAR(50))")
        cur.execute("INSERT INTO tenancy_shop.clients VALUES (1, 'Ñandú \"El Gaucho\"'), "
                    "(2, 'Pérez')")
    cnf = _cnf(tmp_path / "admin.cnf", mariadb)
    script = Path(__file__).resolve().parent.parent / "scripts" / "copy-tenant-database.sh"
    done = subprocess.run([str(script), str(cnf), "tenancy_shop", str(cnf), "acme_shop"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with conn.cursor() as cur:
        cur.execute("SELECT id, name FROM acme_shop.clients ORDER BY id")
        assert cur.fetchall() == ((1, 'Ñandú "El Gaucho"'), (2, "Pérez"))
        cur.execute("SELECT COUNT(*) FROM tenancy_shop.clients")
        assert cur.fetchone()[0] == 2  # the old database is only read
    again = subprocess.run([str(script), str(cnf), "tenancy_shop", str(cnf), "acme_shop"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "nothing copied" in again.stderr
    assert PASSWORD not in again.stderr + again.stdout + done.stdout + done.stderr
    conn.close()
