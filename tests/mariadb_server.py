"""A real MariaDB server for tests: a private data directory, loopback TCP, stopped at the end.

Tests that talk to the app's databases need the real thing (its SQL dialect, implicit commits
of CREATE USER/DATABASE, grants, authentication), never a mock. This starts Debian's
`mariadbd` on a temporary data directory with `--skip-networking=0 --bind-address=127.0.0.1`
and a free port, and a unix socket beside it. The root user (unix_socket auth by default) gets a
password so that tests connect over TCP like the provisioner does.

Outside CI a missing server skips the tests; in CI (`CI=true`) it fails them, so a runner
without `mariadb-server` cannot pass silently (`.ci/run` installs it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARIADBD_CANDIDATES = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld", "/usr/libexec/mariadbd")
ROOT_PASSWORD = "root-test-password"
START_TIMEOUT_S = 60.0


class ServerUnavailable(RuntimeError):
    """The MariaDB server could not be found or started."""


def _find(name: str, candidates: tuple[str, ...] = ()) -> str | None:
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    return shutil.which(name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rows_of(conn: Any, sql: str, args: object = None) -> list[tuple[Any, ...]]:
    """The rows one statement returns on `conn`, which is closed after (the test server's
    helpers and the stand-in plugins that sign in to it)."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    finally:
        conn.close()


@dataclass
class MariaDBServer:
    """One running server; `connect()` gives a PyMySQL connection as root."""

    host: str
    port: int
    socket_path: str
    user: str = "root"
    password: str = ROOT_PASSWORD
    datadir: Path = field(default_factory=Path)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def connect(self, database: str | None = None, user: str | None = None,
                password: str | None = None, autocommit: bool = True):  # -> pymysql.Connection
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=user or self.user,
                               password=self.password if password is None else password,
                               database=database, autocommit=autocommit, charset="utf8mb4",
                               connect_timeout=10)

    def execute(self, sql: str, args: object = None, database: str | None = None) -> list[tuple]:
        """Run one statement as root and return its rows (for test setup and assertions)."""
        return rows_of(self.connect(database), sql, args)

    def stop(self) -> None:
        proc = self.process
        if proc is None:
            return
        self.process = None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for `start_server(tls=...)`: the CA the server's certificate chains to."""

    ca: Path
    cert: Path
    key: Path


def start_server(base_dir: Path | None = None, tls: TlsFiles | None = None) -> MariaDBServer:
    """Initialise a data directory and start mariadbd on 127.0.0.1; raise ServerUnavailable.
    `tls`: the server offers TLS with that certificate (ssl-ca/ssl-cert/ssl-key)."""
    mariadbd = _find("mariadbd", MARIADBD_CANDIDATES) or _find("mysqld")
    install_db = _find("mariadb-install-db", ("/usr/bin/mariadb-install-db",)) \
        or _find("mysql_install_db")
    if not mariadbd or not install_db:
        raise ServerUnavailable("mariadb-server is not installed (no mariadbd/mariadb-install-db)")
    top = Path(tempfile.mkdtemp(prefix="mariadb-test-", dir=base_dir))
    datadir = top / "data"
    datadir.mkdir()
    socket_path = str(top / "mysqld.sock")
    log_path = top / "mysqld.log"
    user_args = ["--user=root"] if os.geteuid() == 0 else []
    # The init file runs at every start with full privileges: root gets a password for TCP.
    init_file = top / "init.sql"
    init_file.write_text(
        f"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '{ROOT_PASSWORD}';\n"
        "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n"
        "FLUSH PRIVILEGES;\n")
    init = subprocess.run(
        [install_db, "--no-defaults", f"--datadir={datadir}", "--skip-test-db", *user_args],
        capture_output=True, text=True, timeout=180, check=False)
    if init.returncode != 0:
        shutil.rmtree(top, ignore_errors=True)
        raise ServerUnavailable(f"mariadb-install-db failed: {init.stderr.strip()[-400:]}")
    last_error = ""
    for _attempt in range(3):  # the free port may be taken between probing and binding
        port = free_port()
        log = log_path.open("ab")
        proc = subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={datadir}", f"--socket={socket_path}",
             f"--port={port}", "--bind-address=127.0.0.1", "--skip-networking=0",
             f"--pid-file={top / 'mysqld.pid'}", "--skip-log-bin", "--innodb-buffer-pool-size=32M",
             "--innodb-log-file-size=8M", "--innodb-flush-log-at-trx-commit=2",
             "--skip-name-resolve", "--max-connections=200",
             f"--init-file={init_file}", "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_unicode_ci",
             *([f"--ssl-ca={tls.ca}", f"--ssl-cert={tls.cert}", f"--ssl-key={tls.key}"]
               if tls else []),
             *user_args],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        server = MariaDBServer("127.0.0.1", port, socket_path, datadir=datadir, process=proc,
                               log_path=log_path)
        if _wait_ready(server, socket_path):
            return server
        last_error = log_path.read_text(errors="replace")[-600:]
        server.process = None
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=10)
    shutil.rmtree(top, ignore_errors=True)
    raise ServerUnavailable(f"mariadbd did not start: {last_error.strip()}")


def _wait_ready(server: MariaDBServer, socket_path: str) -> bool:
    """Poll TCP until root (set up by the init file) signs in, or the process exits."""
    import pymysql

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            return False
        try:
            server.connect().close()
        except pymysql.MySQLError:
            time.sleep(0.1)
            continue
        return True
    return False
