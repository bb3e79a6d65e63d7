"""The aws stand-in's Route53 records follow Route53's rule for CREATE (record.go sends it unless
`allow_overwrite`): a set of that name and type that exists is refused, any other is made,
whatever the zone's history. moto's own check also refuses a CREATE it has journaled before
while a later-sorting set exists, which made a destroyed tenant's records fail to come back
in the order the engine happened to create them. The handlers are called as the plugin calls
them, on moto's server."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.engine_plugins import aws_plugin

pytestmark = [pytest.mark.engine, pytest.mark.timeout(120)]

ZONE_NAME = "facturador.example.pe"
TARGET = {"name": "lb-1.us-east-1.elb.amazonaws.com", "zoneId": "Z35SXDOTRQ7X7K",
          "evaluateTargetHealth": True}


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from provisioner.orchestrate.local import client, moto_server

    with moto_server() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        z = client("route53", url).create_hosted_zone(Name=ZONE_NAME,
                                                      CallerReference="record-standin")
        yield str(z["HostedZone"]["Id"]).rsplit("/", 1)[-1]
        requests.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()


def _record(zone: str, sub: str, kind: str) -> dict[str, Any]:
    return {"zoneId": zone, "name": f"{sub}.{ZONE_NAME}", "type": kind, "aliases": [TARGET]}


def _names(zone: str) -> set[tuple[str, str]]:
    from provisioner.orchestrate.local import client

    sets = client("route53", os.environ["AWS_ENDPOINT_URL"]).list_resource_record_sets(
        HostedZoneId=zone)["ResourceRecordSets"]
    return {(r["Name"], r["Type"]) for r in sets if r["Type"] in {"A", "AAAA"}}


@pytest.mark.parametrize("order", list(itertools.permutations(["A", "AAAA"])),
                         ids=lambda o: "-then-".join(o))
def test_a_deleted_tenants_records_come_back_in_either_order(
        zone: str, order: tuple[str, str]) -> None:
    records = {kind: _record(zone, "hotelsol", kind) for kind in ("A", "AAAA")}
    neighbour = _record(zone, "zeta", "A")  # sorts after hotelsol's sets
    aws_plugin.record_create({}, neighbour)
    for kind in ("A", "AAAA"):
        aws_plugin.record_create({}, records[kind])
    for kind in ("A", "AAAA"):
        aws_plugin.record_delete({}, "", records[kind])
    assert _names(zone) == {(f"zeta.{ZONE_NAME}.", "A")}

    for kind in order:  # the engine creates the two in parallel: either may come first
        id_, outs = aws_plugin.record_create({}, records[kind])
        assert id_ == f"{zone}_hotelsol.{ZONE_NAME}_{kind}"
        assert outs["fqdn"] == f"hotelsol.{ZONE_NAME}"
    assert _names(zone) == {(f"zeta.{ZONE_NAME}.", "A"), (f"hotelsol.{ZONE_NAME}.", "A"),
                            (f"hotelsol.{ZONE_NAME}.", "AAAA")}


def test_a_record_that_exists_is_refused_unless_overwrite_is_allowed(zone: str) -> None:
    record = _record(zone, "hotelsol", "A")
    aws_plugin.record_create({}, record)
    with pytest.raises(RuntimeError, match="but it already exists"):
        aws_plugin.record_create({}, record)
    # another type of the same name, and a name that only starts the same, are other sets
    aws_plugin.record_create({}, _record(zone, "hotelsol", "AAAA"))
    aws_plugin.record_create({}, _record(zone, "hotelsol2", "A"))
    moved = {**record, "aliases": [{**TARGET, "name": "lb-2.us-east-1.elb.amazonaws.com"}],
             "allowOverwrite": True}
    aws_plugin.record_create({}, moved)
    read, _inputs = aws_plugin.record_read({}, f"{zone}_hotelsol.{ZONE_NAME}_A", {})
    assert read["aliases"][0]["name"] == "lb-2.us-east-1.elb.amazonaws.com"
