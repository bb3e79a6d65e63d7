"""`provisioner adopt --all` against a real local MariaDB server (started here, private data dir).

Target: 1,000 accounts adopted in one run in <= 60 s against a local server (the
app's commands excluded: adopt runs none). The accounts are made the way store() makes them
(websites, hostnames, clients rows in the system database; companies, configurations, users,
module_user, module_level_user rows in each tenant database; hyn's `<uuid>`@'%' user), seeded
with executemany before the clock starts.

Project: the CLI in this process (`main(["adopt", "--all", "--format", "json"])`): every read,
each spec built and validated, rendered back with desired_account and compared, each file
written atomically, the journal rows, the JSON report.

Floor, same process, same server, same accounts: only the SELECTs adopt needs (the same
queries over one connection, every row fetched into dicts) and the Secrets Manager look-up
for secrets a destroy kept (ListSecrets, 10 names a call, on moto's server, started here for
both), nothing else. What adopt adds above it is the spec work and the writes. An untimed
pass of the floor runs first, so both timed runs find the server's caches warm.

Sizes above 1,000 are possible (`--sizes 1000,10000`) but seeding costs about 30 s per 1,000
tenant databases (5 tables each) on a small machine.

    .venv/bin/python bench/adopt_bench.py --sizes 1000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stdnum.pe import ruc as stdnum_ruc  # noqa: E402

from provisioner.app.account import ADMIN_USER_ID, desired_account  # noqa: E402
from provisioner.app.tenant_rows import tenant_inserts  # noqa: E402
from provisioner.model.catalog import DatabaseTier  # noqa: E402
from provisioner.model.repository import load_repository  # noqa: E402
from tests import app_schema  # noqa: E402
from tests.mariadb_server import start_server  # noqa: E402

HASH = "$2y$10$" + "b" * 53
READ_TABLES = ("companies", "configurations", "users", "module_user", "module_level_user",
               "module_levels")


def _repo(tmp: Path, server, prefix: str) -> tuple[Path, str]:
    """examples/ pointed at this server, with its own database prefix and system database."""
    repo = tmp / f"repo_{prefix}"
    shutil.copytree(ROOT / "examples", repo)
    shutil.rmtree(repo / "tenants")
    system_db = f"facturador_{prefix}"
    path = repo / "reseller.yaml"
    text = path.read_text(encoding="utf-8").replace("database_prefix: tenancy",
                                                    f"database_prefix: {prefix}")
    block = (f"  system_database:\n    host: {server.host}\n    port: {server.port}\n"
             f"    database: {system_db}\n    user: {server.user}\n")
    text = re.sub(r"  system_database:\n(    .*\n)+", block, text, count=1)
    path.write_text(text, encoding="utf-8")
    return repo, system_db


def _ruc(i: int) -> str:
    head = f"20{i:08d}"
    return head + stdnum_ruc.calc_check_digit(head)


def seed(server, repo_path: Path, system_db: str, prefix: str, n: int) -> None:
    """n accounts as store() leaves them, in the shapes of the examples (pool plans)."""
    examples = load_repository(ROOT / "examples")
    repo = load_repository(repo_path)
    reseller, catalog = repo.reseller, repo.catalog
    assert reseller is not None and catalog is not None
    plans = [p for p in catalog.plans.values() if p.tier is DatabaseTier.POOL]
    rows = [(p.label or p.name, p.pricing, p.limit_users, p.limit_documents,
             "[" + ",".join(str(f.app_id) for f in p.documents) + "]", int(p.locked))
            for p in plans if (p.label or p.name) != "Ilimitado"]
    app_schema.create_system_database(server, system_db, rows)
    bases = [t.spec for t in examples.tenants
             if catalog.plans[t.spec.plan].tier is DatabaseTier.POOL]
    desired = []
    for i in range(n):
        spec = bases[i % len(bases)].model_copy(update={
            "subdomain": f"a{i:05d}", "ruc": _ruc(i), "company_name": f"Empresa {i} SAC",
            "certificate": False, "trade_name": None})
        desired.append(desired_account(spec, reseller, catalog, sol_password="sol-x",
                                       smtp_password="smtp-y"))
    conn = server.connect(system_db, autocommit=False)
    try:
        cur = conn.cursor()
        cur.execute("SELECT * FROM plans")
        cols = [c[0] for c in cur.description]
        plan_of = {r[cols.index("name")]: dict(zip(cols, r, strict=True))
                   for r in cur.fetchall()}
        cur.executemany("INSERT INTO websites (uuid, managed_by_database_connection, created_at,"
                        " updated_at) VALUES (%s, %s, NOW(), NOW())",
                        [(d.uuid, d.managed_by_database_connection) for d in desired])
        cur.execute("SELECT uuid, id FROM websites")
        website = dict(cur.fetchall())
        cur.executemany("INSERT INTO hostnames (fqdn, website_id, created_at, updated_at)"
                        " VALUES (%s, %s, NOW(), NOW())",
                        [(d.fqdn, website[d.uuid]) for d in desired])
        cur.execute("SELECT fqdn, id FROM hostnames")
        hostname = dict(cur.fetchall())
        cur.executemany(
            "INSERT INTO clients (hostname_id, token, email, name, number, plan_id,"
            " locked_emission, locked_tenant, locked_users, smtp_host, smtp_port, smtp_user,"
            " smtp_encryption, smtp_password, created_at, updated_at) VALUES (%s, %s, %s, %s,"
            " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NOW(), NOW())",
            [(hostname[d.fqdn], "t" * 50, d.client["email"], d.client["name"],
              d.client["number"], plan_of[d.plan_name]["id"], d.client["locked_emission"],
              d.client["locked_tenant"], d.client["locked_users"], d.smtp.host, d.smtp.port,
              d.smtp.user, d.smtp.encryption,
              str(d.smtp.password) if d.smtp.host and d.smtp.password else None)
             for d in desired])
        conn.commit()
        # each read table as its migrations leave it: module_levels with its catalog rows
        ddl = [sql for t in app_schema.TENANT_TABLES if t.name in READ_TABLES
               for sql in (t.ddl, *t.seed)]
        for d in desired:
            cur.execute(f"CREATE DATABASE `{d.uuid}` CHARACTER SET utf8mb4"
                        " COLLATE utf8mb4_unicode_ci")
            conn.select_db(d.uuid)
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")
            for sql in ddl:
                cur.execute(sql)
            for sql, params in tenant_inserts(d, plan_of[d.plan_name], HASH, "t" * 50):
                if not any(f"INTO `{t}`" in sql for t in READ_TABLES):
                    continue
                if isinstance(params, list):
                    cur.executemany(sql, params)
                else:
                    cur.execute(sql, params)
            conn.commit()
            cur.execute(f"CREATE USER `{d.uuid}`@'%' IDENTIFIED BY 'p'")
    finally:
        conn.close()


def run_project(repo: Path, password: str) -> tuple[float, dict]:
    from provisioner.cli import main

    os.environ["PROVISIONER_APP_DB_PASSWORD"] = password
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(["--repo", str(repo), "adopt", "--all", "--format", "json"])
    elapsed = time.perf_counter() - start
    report = json.loads(out.getvalue())
    report["exit"] = code
    return elapsed, report


def run_floor(server, system_db: str, prefix: str) -> tuple[float, int]:
    """The same SELECTs as list_accounts + read_tenants, rows fetched, a commit per tenant as
    adopt does (cheaper than one transaction over all), and the ListSecrets calls for the
    accounts, 10 names each (the API's most), nothing else."""
    import boto3
    import pymysql

    start = time.perf_counter()
    conn = pymysql.connect(host=server.host, port=server.port, user=server.user,
                           password=server.password, database=system_db, charset="utf8mb4",
                           autocommit=False, cursorclass=pymysql.cursors.DictCursor)
    rows = 0
    with conn.cursor() as cur:
        for sql in ("SELECT User AS u, Host AS h FROM mysql.user",
                    "SELECT SCHEMA_NAME AS s, DEFAULT_CHARACTER_SET_NAME AS c,"
                    " DEFAULT_COLLATION_NAME AS l FROM information_schema.SCHEMATA"):
            cur.execute(sql)
            rows += len(cur.fetchall())
        conn.commit()
        like = prefix.replace("_", "\\_") + "\\_%"
        for sql, args in (("SELECT * FROM websites WHERE uuid LIKE %s ORDER BY id", (like,)),
                          ("SELECT * FROM hostnames ORDER BY id", None),
                          ("SELECT * FROM clients ORDER BY id", None),
                          ("SELECT * FROM plans ORDER BY id", None),
                          ("SELECT certificate FROM configurations ORDER BY id LIMIT 1", None)):
            cur.execute(sql, args)
            found = cur.fetchall()
            rows += len(found)
            if sql.startswith("SELECT * FROM websites"):
                uuids = [w["uuid"] for w in found]
        for uuid in uuids:
            db = f"`{uuid}`"
            for sql, args in (
                    (f"SELECT * FROM {db}.companies WHERE id = 1", None),
                    (f"SELECT * FROM {db}.configurations WHERE id = 1", None),
                    (f"SELECT * FROM {db}.users WHERE id = %s", (ADMIN_USER_ID,)),
                    (f"SELECT module_id FROM {db}.module_user WHERE user_id = %s",
                     (ADMIN_USER_ID,)),
                    (f"SELECT module_level_id FROM {db}.module_level_user WHERE user_id = %s",
                     (ADMIN_USER_ID,)),
                    (f"SELECT id, value FROM {db}.module_levels", None)):
                cur.execute(sql, args)
                rows += len(cur.fetchall())
            conn.commit()  # as adopt does: one long transaction over them all costs 3x
    conn.close()
    secrets = boto3.session.Session().client("secretsmanager")
    subdomains = sorted(u.split("_", 1)[1] for u in uuids)
    for i in range(0, len(subdomains), 10):
        names = [f"{prefix}/tenants/{sub}/" for sub in subdomains[i:i + 10]]
        rows += len(secrets.list_secrets(Filters=[{"Key": "name", "Values": names}],
                                         IncludePlannedDeletion=True)["SecretList"])
    return time.perf_counter() - start, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000", help="comma-separated account counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    from provisioner.orchestrate.local import moto_server

    with tempfile.TemporaryDirectory() as tmp, moto_server() as moto:
        os.environ.update({"AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "bench",
                           "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                           "AWS_EC2_METADATA_DISABLED": "true"})
        server = start_server(Path(tmp))
        try:
            for n in sizes:
                prefix = f"b{n}"
                repo, system_db = _repo(Path(tmp), server, prefix)
                t0 = time.perf_counter()
                seed(server, repo, system_db, prefix, n)
                seeded = time.perf_counter() - t0
                # an untimed pass first: the server opens 5 tables per tenant database once
                # (table cache, buffer pool), which neither timed run should pay alone
                run_floor(server, system_db, prefix)
                floor, rows = run_floor(server, system_db, prefix)
                project, report = run_project(repo, server.password)
                clean = sum(1 for a in report["adopted"]
                            if a["error"] is None and not a["differences"])
                files = len(list((repo / "tenants").glob("*.yaml")))
                print(f"{n} accounts (seeded in {seeded:.1f} s): project {project:.2f} s, "
                      f"floor {floor:.2f} s ({rows} rows), ratio {project / floor:.2f}x; "
                      f"{clean} adopted clean, {files} files, exit {report['exit']} "
                      f"(target <= 60 s for 1,000)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
