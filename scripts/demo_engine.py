"""The demo's real part: the example tenants provisioned end to end on the built engine.

The Pulumi engine from .engine/bin (scripts/setup.sh), a file backend and passphrase secrets in
a temporary directory, moto's server for the AWS APIs, a private MariaDB with the app's schema,
and the stand-in provider plugins of tests/engine_plugins (tests/engine_world.py starts all of
it, as for the engine tests). `provisioner apply --all` creates the stacks; what exists is shown;
a second apply changes nothing; `provisioner destroy` removes every stack; the servers stop.
hotelsol (a silo tenant on its own RDS instance) is left out: moto's RDS instance has no MySQL
server behind it for the onboarding steps to sign in to.

    .venv/bin/python scripts/demo_engine.py [-v]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.engine_world import World

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TENANTS = ["bodegaperez", "contaapi", "ferreteriaandina", "nandu", "pruebademo"]
SHOWN = "pruebademo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every command's own output")
    args = parser.parse_args(argv)

    from tests.engine_world import engine_missing, engine_world

    why = engine_missing()
    if why:
        print(f"   skipped: {why}")
        return 0
    started = time.monotonic()
    timings: list[tuple[str, float]] = []

    def step(label: str) -> float:
        print(f"-- {label}", flush=True)
        return time.monotonic()

    with tempfile.TemporaryDirectory(prefix="provisioner-demo-") as tmp:
        t = step("starting moto's server, a private MariaDB with the app's schema, a file "
                 "backend")
        with engine_world(Path(tmp), TENANTS) as world:
            timings.append(("servers", time.monotonic() - t))
            t = step(f"creating {len(TENANTS)} stacks (passphrase secrets provider) and "
                     "setting their secrets")
            for name in TENANTS:
                world.prepare_stack(name)
            timings.append(("stacks and secrets", time.monotonic() - t))

            t = step("provisioner apply --all   (pulumi up of each stack on the engine)")
            first = _apply(world, args.verbose)
            timings.append(("first apply", time.monotonic() - t))
            if first is None:
                return 1

            _show(world)

            t = step("provisioner apply --all   (again: nothing to change)")
            second = _apply(world, args.verbose)
            timings.append(("second apply", time.monotonic() - t))
            if second is None:
                return 1

            t = step("provisioner destroy TENANT --allow-destroy-production   (each stack)")
            for name in TENANTS:
                proc = world.provisioner("destroy", name, "--allow-destroy-production")
                if args.verbose or proc.returncode != 0:
                    print(proc.stdout + proc.stderr)
                if proc.returncode != 0:
                    return 1
            timings.append(("destroy", time.monotonic() - t))
        print("\nsummary")
        print(f"  first apply:  {_totals(first)}")
        print(f"  second apply: {_totals(second)}")
        for label, seconds in timings:
            print(f"  {label:<20} {seconds:6.1f} s")
        print(f"  {'total':<20} {time.monotonic() - started:6.1f} s")
    return 0


def _apply(world: World, verbose: bool) -> dict[str, Any] | None:
    proc = world.provisioner("apply", "--all", "--format", "json")
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = None
    if verbose or proc.returncode != 0 or report is None:
        print(proc.stderr)
    if proc.returncode != 0 or report is None:
        print(proc.stdout[-3000:])
        return None
    for r in report["results"]:
        c = r["changes"]
        print(f"   {r['stack']:<18} {r['status']:<4} +{c['create']} ~{c['update']} "
              f"±{c['replace']} -{c['delete']}  {r['seconds']:.1f} s")
    return report


def _totals(report: dict[str, Any]) -> str:
    t = report["totals"]
    return (f"{t['create']} created, {t['update']} updated, {t['replace']} replaced, "
            f"{t['delete']} deleted")


def _show(w: World) -> None:
    from provisioner.orchestrate.local import client

    print("-- what now exists")
    zone = w.platform["hostedZoneId"]
    records = client("route53", w.moto).list_resource_record_sets(
        HostedZoneId=zone)["ResourceRecordSets"]
    for r in records:
        if r["Type"] in ("A", "AAAA"):
            print(f"   Route53  {r['Name']:<42} {r['Type']:<4} alias "
                  f"{r['AliasTarget']['DNSName']}")
    names = sorted(s["Name"] for s in client(
        "secretsmanager", w.moto).list_secrets(MaxResults=100)["SecretList"]
        if s["Name"].startswith("tenancy/tenants/"))
    print(f"   Secrets Manager: {len(names)} secrets, e.g.")
    for name in names[:6]:
        print(f"     {name}")
    server = w.server
    print(f"   MariaDB: tenant databases "
          f"{', '.join(r[0] for r in server.execute('SHOW DATABASES LIKE %s', ('tenancy_%',)))}")
    (row,) = server.execute(
        "SELECT c.number, c.name, c.email, p.name, c.locked_tenant FROM clients c JOIN plans p "
        "ON p.id = c.plan_id JOIN hostnames h ON h.id = c.hostname_id WHERE h.fqdn LIKE %s",
        (f"{SHOWN}.%",), database="facturador")
    print(f"   {SHOWN}'s clients row: RUC {row[0]}, {row[1]}, {row[2]}, plan {row[3]}, "
          f"locked_tenant {row[4]}")
    db = f"tenancy_{SHOWN}"
    counts = {t: server.execute(f"SELECT COUNT(*) FROM `{t}`", database=db)[0][0]
              for t in ("companies", "establishments", "warehouses", "series", "users",
                        "module_user")}
    print(f"   {db}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


if __name__ == "__main__":
    sys.exit(main())
