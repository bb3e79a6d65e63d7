"""Twenty tenants applied through the scheduler in parallel on the real engine (stacks share
the project's workspace file and the file backend), then re-applied with nothing to change."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from provisioner.orchestrate.local import client
from tests.engine_world import World, add_demo_tenants, engine_world

pytestmark = [pytest.mark.engine, pytest.mark.timeout(3600)]
TENANTS = 20
PARALLEL = "4"


@pytest.fixture(scope="module")
def world(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with engine_world(tmp_path_factory.mktemp("engine-parallel"), []) as w:
        yield w


def _apply_all(world: World) -> dict:
    proc = world.provisioner("apply", "--all", "--parallel", PARALLEL, "--format", "json")
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    return json.loads(proc.stdout)


def test_twenty_tenants_apply_in_parallel_with_every_account_then_change_nothing(
        world: World) -> None:
    names = add_demo_tenants(world.repo, TENANTS)
    for name in names:
        world.prepare_stack(name)
    started = time.monotonic()
    report = _apply_all(world)
    first = time.monotonic() - started
    assert sorted(r["stack"] for r in report["results"]) == names
    assert {r["stack"]: r["status"] for r in report["results"]} == dict.fromkeys(names, "ok")
    assert all(r["changes"]["create"] >= 20 and r["changes"]["replace"] == 0
               for r in report["results"]), report

    # DNS: one A and one AAAA record per tenant, none for anything else
    zone = world.platform["hostedZoneId"]
    records = client("route53", world.moto).list_resource_record_sets(
        HostedZoneId=zone, MaxItems="300")["ResourceRecordSets"]
    for kind in ("A", "AAAA"):
        assert sorted(r["Name"].split(".")[0] for r in records if r["Type"] == kind) == names

    # the app's rows of every account: website + hostname, the client (by RUC and e-mail,
    # with its plan), and inside each tenant database the admin user and the 11 series
    server = world.server
    websites = server.execute("SELECT w.uuid, h.fqdn FROM websites w JOIN hostnames h ON "
                              "h.website_id = w.id ORDER BY w.uuid", database="facturador")
    assert websites == [(f"tenancy_{n}", f"{n}.facturador.example.pe") for n in names]
    specs = world.tenant_specs()
    clients = dict(server.execute("SELECT number, email FROM clients", database="facturador"))
    assert clients == {specs[n].ruc: specs[n].admin_email for n in names}
    for name in names:
        db = f"tenancy_{name}"
        assert server.execute("SELECT email FROM users WHERE type = 'admin'",
                              database=db) == [(specs[name].admin_email,)], name
        assert len(server.execute("SELECT 1 FROM series", database=db)) == 11, name

    started = time.monotonic()
    again = _apply_all(world)
    second = time.monotonic() - started
    assert again["totals"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}, again
    assert {r["stack"]: r["status"] for r in again["results"]} == dict.fromkeys(names, "ok")
    print(f"\n{TENANTS} tenants at --parallel {PARALLEL}: first apply {first:.0f} s, "
          f"re-apply {second:.0f} s")
