"""Several tenants applied through the scheduler in parallel on the real engine (stacks share
the project's workspace file and the file backend), then re-applied with nothing to change."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from provisioner.orchestrate.local import client
from tests.engine_world import World, add_demo_tenants, engine_world

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1200)]
TENANTS = 5


@pytest.fixture(scope="module")
def world(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with engine_world(tmp_path_factory.mktemp("engine-parallel"), []) as w:
        yield w


def test_five_tenants_apply_in_parallel_then_change_nothing(world: World) -> None:
    names = add_demo_tenants(world.repo, TENANTS)
    for name in names:
        world.prepare_stack(name)
    proc = world.provisioner("apply", "--all", "--parallel", "4", "--format", "json")
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    report = json.loads(proc.stdout)
    assert sorted(r["stack"] for r in report["results"]) == names
    assert all(r["changes"]["create"] >= 20 for r in report["results"]), report
    zone = world.platform["hostedZoneId"]
    records = client("route53", world.moto).list_resource_record_sets(
        HostedZoneId=zone)["ResourceRecordSets"]
    assert {r["Name"].split(".")[0] for r in records if r["Type"] == "A"} == set(names)
    websites = world.server.execute("SELECT uuid FROM websites ORDER BY uuid",
                                    database="facturador")
    assert [w[0] for w in websites] == [f"tenancy_{n}" for n in names]

    again = world.provisioner("apply", "--all", "--parallel", "4", "--format", "json")
    assert again.returncode == 0, (again.stdout[-3000:], again.stderr[-3000:])
    report = json.loads(again.stdout)
    assert report["totals"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}
