"""Onboarding speed against a real local MariaDB server (started here, on a private data dir).

Targets: one tenant <= 1 s and 100 tenants in one process <= 30 s, the app's own
commands excluded: each tenant database is migrated (the schema fixture applied) before the
clock starts and the command hook does nothing. The admin's bcrypt hash is computed once.

The floor, run in the same process on the same server: the same rows inserted with plain
`execute`/`executemany` and one commit per database, plus the tenant user and its grant,
without the checks, the journal, the tenant user's own connection or the day-2 comparison:
what any correct onboarding must send.

    .venv/bin/python bench/onboard_bench.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioner.app.account import desired_account  # noqa: E402
from provisioner.app.connection import Server  # noqa: E402
from provisioner.app.onboarding import Onboarding, new_token  # noqa: E402
from provisioner.app.tenant_rows import tenant_inserts  # noqa: E402
from provisioner.model.repository import load_repository  # noqa: E402
from tests import app_schema  # noqa: E402
from tests.mariadb_server import start_server  # noqa: E402

APP_KEY = "base64:YmVuY2gta2V5"
HASH = "$2y$10$" + "b" * 53


def _specs(n: int, tag: str):
    repo = load_repository(ROOT / "examples")
    repo.raise_for_errors()
    bases = [t.spec for t in repo.tenants if t.spec.user_type == "admin"]
    specs = []
    for i in range(n):
        base = bases[i % len(bases)]
        specs.append(base.model_copy(update={
            "subdomain": f"{tag}{i:05d}", "ruc": f"2{len(tag)}{i:09d}",
            "company_name": f"Empresa {tag} {i}", "certificate": False}))
    return repo, specs


def _prepare(server, uuids: list[str]) -> None:
    """The app command's work, done before timing: each tenant database migrated."""
    for uuid in uuids:
        server.execute(f"CREATE DATABASE `{uuid}` CHARACTER SET utf8mb4"
                       " COLLATE utf8mb4_unicode_ci")
        conn = server.connect(uuid, autocommit=False)
        try:
            app_schema.apply(conn, app_schema.TENANT_TABLES)
        finally:
            conn.close()


def run_onboarding(server, system_db: str, n: int, tag: str) -> float:
    repo, specs = _specs(n, tag)
    desired = [desired_account(s, repo.reseller, repo.catalog, sol_password="x",
                               smtp_password="y") for s in specs]
    _prepare(server, [d.uuid for d in desired])
    system = Server(server.host, server.port, server.user, server.password, system_db)
    start = time.perf_counter()
    for d in desired:
        Onboarding(desired=d, system=system, app_key=APP_KEY, password_hash=HASH,
                   token=new_token(), migrate=["noop"], seed=["noop"],
                   runner=lambda _args, _stdin: None).run()
    return time.perf_counter() - start


def run_floor(server, system_db: str, n: int, tag: str) -> float:
    repo, specs = _specs(n, tag)
    desired = [desired_account(s, repo.reseller, repo.catalog, sol_password="x",
                               smtp_password="y") for s in specs]
    _prepare(server, [d.uuid for d in desired])
    conn = server.connect(system_db, autocommit=False)
    cur = conn.cursor()
    cur.execute("SELECT * FROM plans WHERE name = 'Pyme'")
    cols = [c[0] for c in cur.description]
    plan = dict(zip(cols, cur.fetchone(), strict=True))
    start = time.perf_counter()
    for d in desired:
        cur.execute("INSERT INTO websites (uuid, created_at, updated_at) VALUES (%s, NOW(), NOW())",
                    (d.uuid,))
        website_id = cur.lastrowid
        cur.execute("INSERT INTO hostnames (fqdn, website_id) VALUES (%s, %s)",
                    (d.fqdn, website_id))
        hostname_id = cur.lastrowid
        cur.execute("INSERT INTO clients (hostname_id, token, email, name, number, plan_id,"
                    " locked_emission) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (hostname_id, "t" * 50, d.client["email"], d.client["name"],
                     d.client["number"], plan["id"], d.client["locked_emission"]))
        conn.commit()
        cur.execute(f"CREATE USER `{d.uuid}`@'127.0.0.1' IDENTIFIED BY %s", ("p" * 32,))
        cur.execute(f"GRANT ALL ON `{d.uuid}`.* TO `{d.uuid}`@'127.0.0.1'")
        tenant = server.connect(d.uuid, autocommit=False)
        tcur = tenant.cursor()
        for sql, params in tenant_inserts(d, plan, HASH, "t" * 50):
            if isinstance(params, list):
                tcur.executemany(sql, params)
            else:
                tcur.execute(sql, params)
        tenant.commit()
        tenant.close()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            app_schema.create_system_database(server, "bench_ours", [
                ("Pyme", 69, 5, 2000, "[1,2]", 0), ("Emprendedor", 29, 2, 300, "[1]", 0),
                ("Corporativo", 199, 0, 0, "[1,2,3,4]", 0)])
            app_schema.create_system_database(server, "bench_floor", [
                ("Pyme", 69, 5, 2000, "[1,2]", 0)])
            one = run_onboarding(server, "bench_ours", 1, "one")
            many = run_onboarding(server, "bench_ours", n, "many")
            floor_one = run_floor(server, "bench_floor", 1, "fone")
            floor = run_floor(server, "bench_floor", n, "fmany")
        finally:
            server.stop()
    print(f"one tenant: {one:.3f} s (target <= 1 s; floor {floor_one:.3f} s)")
    print(f"{n} tenants: {many:.2f} s, {many / n * 1000:.1f} ms each "
          f"(target <= 30 s for 100; floor {floor:.2f} s: {many / floor:.2f}x the floor)")


if __name__ == "__main__":
    main()
