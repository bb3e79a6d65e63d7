"""The demo's real part: the platform, then the example tenants on it, end to end on the engine.

The Pulumi engine from .engine/bin (scripts/setup.sh), a file backend and passphrase secrets in
a temporary directory, moto's server for the AWS APIs, a private MariaDB with the app's schema
(also the MySQL server behind every RDS instance the stand-in aws plugin makes), and the
stand-in provider plugins of tests/engine_plugins (tests/engine_world.py starts all of it, as
for the engine tests). In order:

1. `provisioner platform up production`: the platform stack (provisioner/platform_stack/,
   project `platform`): hosted zone, keys, state bucket, the shared MySQL server and its admin
   secret, the CI roles;
2. `provisioner apply --all`: every example tenant, hotelsol on its own RDS instance, reading
   every platform value from that stack by reseller.yaml's `platform.stack_reference` (checked:
   each tenant stack's reference holds exactly the platform stack's outputs);
3. what exists; a second run of both that changes nothing;
4. `provisioner destroy` of each tenant, then the platform taken down as docs/platform.md
   "Taking the platform down" says, and what is left, and why; the servers stop.

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

TENANTS = ["bodegaperez", "contaapi", "ferreteriaandina", "hotelsol", "nandu", "pruebademo"]
SHOWN = "pruebademo"
PLATFORM = "production"  # the platform stack: the reseller's environment
# What a kept platform resource needs kept with it (docs/platform.md "Taking the platform
# down"): the state bucket's protections, the names of the kept keys (the secrets provider is
# `awskms://alias/...`), what the kept server uses (RDS and EC2 refuse to delete a subnet group,
# parameter group or security group in use), the kept admin secret's value.
KEPT_WITH = {
    "aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:kms/alias:Alias", "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/parameterGroup:ParameterGroup", "aws:ec2/securityGroup:SecurityGroup",
    "aws:secretsmanager/secretVersion:SecretVersion",
}


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
    counts: list[tuple[str, dict[str, int]]] = []

    def step(label: str) -> float:
        print(f"-- {label}", flush=True)
        return time.monotonic()

    with tempfile.TemporaryDirectory(prefix="provisioner-demo-") as tmp:
        t = step("starting moto's server, a private MariaDB with the app's schema, a file "
                 "backend")
        with engine_world(Path(tmp), TENANTS, platform_stack=PLATFORM) as world:
            timings.append(("servers", time.monotonic() - t))

            t = step(f"provisioner platform up {PLATFORM}   (the platform stack first)")
            platform = _platform_up(world, args.verbose)
            timings.append(("platform up", time.monotonic() - t))
            if platform is None:
                return 1
            counts.append(("platform up", platform["changes"]))

            t = step(f"creating {len(TENANTS)} tenant stacks (passphrase secrets provider) and "
                     "setting their secrets")
            for name in TENANTS:
                world.prepare_stack(name)
            timings.append(("stacks and secrets", time.monotonic() - t))

            t = step("provisioner apply --all   (pulumi up of each tenant stack on the "
                     "platform)")
            first = _apply(world, args.verbose)
            timings.append(("first apply", time.monotonic() - t))
            if first is None:
                return 1
            counts.append(("first apply", first["totals"]))
            if not _platform_first(world, platform["outputs"]):
                return 1

            _show(world, platform["outputs"])

            t = step(f"provisioner platform up {PLATFORM}, apply --all   (again: nothing to "
                     "change)")
            again = _platform_up(world, args.verbose)
            second = _apply(world, args.verbose) if again is not None else None
            timings.append(("second run of both", time.monotonic() - t))
            if again is None or second is None:
                return 1
            counts += [("second platform up", again["changes"]),
                       ("second apply", second["totals"])]

            t = step("provisioner destroy TENANT --allow-destroy-production   (each stack)")
            for name in TENANTS:
                proc = world.provisioner("destroy", name, "--allow-destroy-production")
                if args.verbose or proc.returncode != 0:
                    print(proc.stdout + proc.stderr)
                if proc.returncode != 0:
                    return 1
            timings.append(("destroy tenants", time.monotonic() - t))

            t = step(f"taking the platform stack {PLATFORM} down (docs/platform.md)")
            removed = _platform_down(world, args.verbose)
            timings.append(("platform down", time.monotonic() - t))
            if removed is None:
                return 1
            _left(world, platform["outputs"])
        print("\nsummary")
        for label, c in counts:
            print(f"  {label + ':':<20}{_totals(c)}")
        print(f"  {'platform down:':<20}{removed} deleted, the rest kept (above)")
        for label, seconds in timings:
            print(f"  {label:<20} {seconds:6.1f} s")
        print(f"  {'total':<20} {time.monotonic() - started:6.1f} s")
    return 0


def _report(world: World, verbose: bool, *args: str) -> dict[str, Any] | None:
    """`provisioner ARGS --format json`'s report, or None (what it printed shown) on failure."""
    proc = world.provisioner(*args, "--format", "json")
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = None
    if verbose or proc.returncode != 0 or report is None:
        print(proc.stderr)
    if proc.returncode != 0 or report is None:
        print(proc.stdout[-3000:])
        return None
    return report


def _platform_up(world: World, verbose: bool) -> dict[str, Any] | None:
    report = _report(world, verbose, "platform", "up", PLATFORM)
    if report is None:
        return None
    c = report["results"][-1]["changes"]
    print(f"   platform {PLATFORM:<9} {report['results'][-1]['operation']:<4} +{c['create']} "
          f"~{c['update']} ±{c['replace']} -{c['delete']}")
    return {"changes": c, "outputs": report["outputs"]}


def _apply(world: World, verbose: bool) -> dict[str, Any] | None:
    report = _report(world, verbose, "apply", "--all")
    if report is None:
        return None
    for r in report["results"]:
        c = r["changes"]
        print(f"   {r['stack']:<18} {r['status']:<4} +{c['create']} ~{c['update']} "
              f"±{c['replace']} -{c['delete']}  {r['seconds']:.1f} s")
    return report


def _totals(t: dict[str, int]) -> str:
    return (f"{t['create']} created, {t['update']} updated, {t['replace']} replaced, "
            f"{t['delete']} deleted")


def _platform_first(world: World, outputs: dict[str, Any]) -> bool:
    """Each tenant stack's platform reference holds the platform stack's outputs, and nothing
    else set the platform values (no stack config overrides them)."""
    from provisioner.platform_outputs import TENANT_OUTPUTS
    from tests.engine_world import platform_reference

    reference = platform_reference(PLATFORM)
    wrong = []
    for name in TENANTS:
        exported = json.loads(world.pulumi("stack", "export", "--stack", name).stdout)
        refs = [r for r in exported["deployment"]["resources"]
                if r["type"] == "pulumi:pulumi:StackReference"]
        config = json.loads(world.pulumi("config", "--stack", name, "--json").stdout)
        overridden = sorted(k for k in config if k.split(":", 1)[-1] in TENANT_OUTPUTS.values())
        read = refs[0]["outputs"]["outputs"] if len(refs) == 1 else {}
        if [r["id"] for r in refs] != [reference] or read != outputs or overridden:
            wrong.append(name)
    if wrong:
        print(f"   platform first: FAILED for {', '.join(wrong)}")
        return False
    print(f"   platform first: all {len(TENANTS)} tenant stacks read {reference}; each "
          "holds exactly the platform stack's outputs "
          f"({', '.join(TENANT_OUTPUTS.values())})")
    return True


def _show(w: World, outputs: dict[str, Any]) -> None:
    from provisioner.orchestrate.local import client

    print("-- what now exists")
    zone = outputs["hostedZoneId"]
    print(f"   platform: hosted zone {zone}, state bucket "
          f"{outputs['backendUrl'].split('?')[0]}, shared MySQL "
          f"{outputs['sharedDatabaseHost']}:{outputs['sharedDatabasePort']} (the MariaDB)")
    records = client("route53", w.moto).list_resource_record_sets(
        HostedZoneId=zone)["ResourceRecordSets"]
    for r in records:
        if r["Type"] in ("A", "AAAA"):
            print(f"   Route53  {r['Name']:<42} {r['Type']:<4} alias "
                  f"{r['AliasTarget']['DNSName']}")
    for d in client("rds", w.moto).describe_db_instances()["DBInstances"]:
        print(f"   RDS      {d['DBInstanceIdentifier']:<28} master {d['MasterUsername']:<16} "
              f"subnet group {d['DBSubnetGroup']['DBSubnetGroupName']}")
    names = sorted(s["Name"] for s in client(
        "secretsmanager", w.moto).list_secrets(MaxResults=100)["SecretList"]
        if s["Name"].startswith("tenancy/tenants/"))
    print(f"   Secrets Manager: {len(names)} tenant secrets, e.g.")
    for name in names[:6]:
        print(f"     {name}")
    server = w.server
    print(f"   MariaDB: tenant databases "
          f"{', '.join(r[0] for r in server.execute('SHOW DATABASES LIKE %s', ('tenancy_%',)))}")
    print(f"   MariaDB: accounts {', '.join(_accounts(w))}")
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


def _accounts(w: World) -> list[str]:
    system = ("root", "mariadb.sys")
    return [f"{u}@{h}" for u, h in w.server.execute(
        "SELECT User, Host FROM mysql.user ORDER BY User") if u not in system]


def _platform_down(world: World, verbose: bool) -> int | None:
    """There is no `platform destroy` command: what docs/platform.md "Taking the platform down"
    does by hand. Every protected resource of the platform is retained (the orchestrator's rule
    for tenants refuses otherwise); those and what they need kept with them (KEPT_WITH) leave
    the state unprotected and retained, so `pulumi destroy` deletes only the rest (the CI roles
    and their policies, the OIDC provider). Returns how many resources it deleted."""
    from types import SimpleNamespace

    from provisioner.orchestrate.teardown import protected_not_retained

    cwd = world.repo / "platform"
    exported = json.loads(world.pulumi("stack", "export", "--stack", PLATFORM, cwd=cwd).stdout)
    refused = protected_not_retained(SimpleNamespace(deployment=exported["deployment"]))
    if refused:
        print(f"   refused: protected and not retained: {', '.join(refused)}")
        return None
    managed = [r for r in exported["deployment"]["resources"]
               if r.get("custom") and not r["type"].startswith("pulumi:providers:")]
    for r in managed:
        if r.get("retainOnDelete") or r["type"] in KEPT_WITH:
            r["protect"], r["retainOnDelete"] = False, True
    edited = world.base / "platform-state.json"
    edited.write_text(json.dumps(exported), encoding="utf-8")
    world.pulumi("stack", "import", "--stack", PLATFORM, "--file", str(edited), cwd=cwd)
    edited.unlink()
    proc = world.pulumi("destroy", "--yes", "--skip-preview", "--stack", PLATFORM, cwd=cwd)
    if verbose:
        print(proc.stdout)
    world.pulumi("stack", "rm", "--yes", "--stack", PLATFORM, cwd=cwd)
    deleted = [r for r in managed if not r.get("retainOnDelete")]
    print(f"   deleted: {', '.join(sorted(r['urn'].rsplit('::', 1)[-1] for r in deleted))}")
    print(f"   kept, out of the state: {len(managed) - len(deleted)} resources; the stack "
          "is removed")
    return len(deleted)


def _left(w: World, outputs: dict[str, Any]) -> None:
    """What is still there after the teardown, read from moto and the MariaDB, and why."""
    from provisioner.orchestrate.local import client
    from provisioner.platform_stack.protected import PROTECTED

    print("-- what is left, and why")
    zones = [z["Name"] for z in client("route53", w.moto).list_hosted_zones()["HostedZones"]]
    keys = [k["KeyId"] for k in client("kms", w.moto).list_keys()["Keys"]]
    buckets = [b["Name"] for b in client("s3", w.moto).list_buckets()["Buckets"]]
    rds = client("rds", w.moto).describe_db_instances()["DBInstances"]
    secrets = [s["Name"] for s in client("secretsmanager", w.moto).list_secrets(
        MaxResults=100)["SecretList"] if not s.get("DeletedDate")]
    roles = [r["RoleName"] for r in client("iam", w.moto).list_roles()["Roles"]]
    platform_secrets = [s for s in secrets if s.startswith("tenancy/platform/")]
    tenant_secrets = sorted({s.split("/")[2] for s in secrets if s.startswith("tenancy/tenants/")})
    print(f"   hosted zone {', '.join(zones)}: {PROTECTED['hosted-zone'].split(':')[0]}")
    print(f"   {len(keys)} KMS keys: the state and every stack's secrets, the tenants' secrets "
          "and RDS storage are encrypted with them")
    print(f"   bucket {', '.join(buckets)}: {PROTECTED['state-bucket'].split(':')[0]}")
    for d in rds:
        silo = d["DBInstanceIdentifier"].split("-", 1)[-1] in TENANTS
        why = ("a silo tenant's database: retained in every environment (data-safety.md)"
               if silo else PROTECTED["shared-mysql"].split(":")[0])
        print(f"   RDS {d['DBInstanceIdentifier']} (master login {d['MasterUsername']}): {why}")
    groups = [g["DBSubnetGroupName"] for g in client("rds", w.moto).describe_db_subnet_groups()[
        "DBSubnetGroups"]]
    parameters = [g["DBParameterGroupName"] for g in client(
        "rds", w.moto).describe_db_parameter_groups()["DBParameterGroups"]
        if not g["DBParameterGroupName"].startswith("default")]
    security = [g["GroupName"] for g in client("ec2", w.moto).describe_security_groups()[
        "SecurityGroups"] if g["GroupName"] != "default"]
    print(f"   subnet group {', '.join(groups)}, parameter group {', '.join(parameters)}, "
          f"security group {', '.join(security)}: in use by those servers (RDS and EC2 refuse "
          "to delete them)")
    print(f"   secrets {', '.join(platform_secrets)}: "
          f"{PROTECTED['shared-mysql-admin-secret'].split(':')[0]}")
    print(f"   tenant secrets of {', '.join(tenant_secrets) or 'none'}: production tenants "
          "keep theirs (the demo tenants' are scheduled for deletion)")
    databases = [r[0] for r in w.server.execute("SHOW DATABASES LIKE %s", ("tenancy_%",))]
    print(f"   MariaDB databases {', '.join(databases)}: retained in every environment "
          "(data-safety.md); accounts " + ", ".join(_accounts(w)))
    print(f"   IAM roles left: {', '.join(roles) or 'none'} (the CI's roles are deleted)")


if __name__ == "__main__":
    sys.exit(main())
