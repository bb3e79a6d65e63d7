"""The provisioner's stack commands on the real Pulumi engine (.engine/bin/pulumi, built by
scripts/setup.sh): a file backend, passphrase secrets, the program in infra/, the onboarding
dynamic resources writing the app's rows in MariaDB, and the stand-in plugins of
tests/engine_plugins on moto and MariaDB. The tests run in order, each on the state the one
before left, as a reseller's repository lives: first apply, no-op apply, pull-request plan,
day-2 edits, drift, removal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner.orchestrate.local import client
from tests.engine_runs import by_stack, commit, init_repository, run_json, secret_leaks, shown
from tests.engine_world import World, engine_world

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]

DEMO, PRODUCTION = "pruebademo", "bodegaperez"
BASE_DOMAIN = "facturador.example.pe"


@pytest.fixture(scope="module")
def world(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with engine_world(tmp_path_factory.mktemp("engine"), [DEMO, PRODUCTION]) as w:
        init_repository(w.repo)
        yield w


@pytest.fixture(scope="module")
def outputs() -> list[str]:
    """Everything the commands printed, searched for secrets at the end."""
    return []


def _tenant_file(world: World, name: str) -> Path:
    return world.repo / "tenants" / f"{name}.yaml"


def test_a_first_apply_creates_each_tenant_for_real(world: World, outputs: list[str]) -> None:
    for stack in (DEMO, PRODUCTION):
        world.prepare_stack(stack)
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0, shown(report)
    results = by_stack(report)
    assert results[DEMO]["changes"]["create"] >= 20, results[DEMO]
    assert {r["changes"]["replace"] + r["changes"]["delete"] for r in results.values()} == {0}

    # the stack, made with the named secrets provider (never the backend's default)
    settings = (world.repo / f"Pulumi.{DEMO}.yaml").read_text()
    assert "encryptionsalt:" in settings
    state = json.loads((world.state_dir / ".pulumi" / "stacks" / "tenants" / f"{DEMO}.json")
                       .read_text())
    assert state["checkpoint"]["latest"]["secrets_providers"]["type"] == "passphrase"

    # DNS: the A and AAAA alias records in moto's Route53
    zone = world.platform["hostedZoneId"]
    sets = client("route53", world.moto).list_resource_record_sets(HostedZoneId=zone)
    fqdn = f"{DEMO}.{BASE_DOMAIN}."
    mine = {r["Type"]: r for r in sets["ResourceRecordSets"] if r["Name"] == fqdn}
    assert set(mine) == {"A", "AAAA"}
    assert mine["A"]["AliasTarget"]["DNSName"].startswith("facturador-alb-123456")

    # secrets by name, each with its current value
    sm = client("secretsmanager", world.moto)
    names = {s["Name"] for s in sm.list_secrets(MaxResults=100)["SecretList"]}
    for concern in ("database", "admin", "config/tenant.env", "config/bootstrap.json"):
        assert f"tenancy/tenants/{DEMO}/{concern}" in names
    db_secret = json.loads(sm.get_secret_value(
        SecretId=f"tenancy/tenants/{DEMO}/database")["SecretString"])
    assert db_secret["database"] == f"tenancy_{DEMO}" and db_secret["port"] == world.server.port

    # the database, its user (hyn's password) and grant, in MariaDB
    server = world.server
    assert server.execute("SHOW DATABASES LIKE %s", (f"tenancy_{DEMO}",))
    grants = server.execute(f"SHOW GRANTS FOR `tenancy_{DEMO}`@'%'")
    assert any(f"ON `tenancy_{DEMO}`.*" in g[0] and "ALL PRIVILEGES" in g[0] for g in grants)
    conn = server.connect(f"tenancy_{DEMO}", user=f"tenancy_{DEMO}",
                          password=db_secret["password"])
    conn.close()

    # the rows "Guardar" writes: system database, then the tenant's own
    (website,) = server.execute("SELECT id FROM websites WHERE uuid = %s",
                                (f"tenancy_{DEMO}",), database="facturador")
    assert server.execute("SELECT 1 FROM hostnames WHERE fqdn = %s AND website_id = %s",
                          (fqdn.rstrip("."), website[0]), database="facturador")
    (client_row,) = server.execute("SELECT number, email, locked_tenant FROM clients "
                                   "WHERE number = %s", ("20123456789",), database="facturador")
    assert client_row == ("20123456789", "demo@facturador.example.pe", 0)
    assert server.execute("SELECT email FROM users WHERE type = 'admin'",
                          database=f"tenancy_{DEMO}") == [("demo@facturador.example.pe",)]
    assert len(server.execute("SELECT 1 FROM series", database=f"tenancy_{DEMO}")) == 11

    # what the stacks generated, searched for at the end like the secrets given to them
    (token,) = server.execute("SELECT token FROM clients WHERE number = %s", ("20123456789",),
                              database="facturador")[0]
    admin = json.loads(sm.get_secret_value(SecretId=f"tenancy/tenants/{DEMO}/admin")
                       ["SecretString"])
    world.secret_values["generated"] = {"database password": db_secret["password"],
                                        "api token": token, "admin password": admin["password"]}


def test_a_second_apply_changes_nothing(world: World, outputs: list[str]) -> None:
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0, shown(report)
    assert report["totals"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}, report
    assert all(not r["steps"] for r in report["results"]), report


def _edit_day_2(world: World) -> None:
    path = _tenant_file(world, DEMO)
    text = path.read_text(encoding="utf-8")
    text = text.replace("plan: emprendedor", "plan: pyme")
    text = text.replace("  preset: basico", "  preset: restaurante")
    text += ("smtp:\n  host: smtp.zoho.com\n  port: 587\n  username: caja@pruebademo.pe\n"
             "  encryption: tls\nsuspended: true\n")
    path.write_text(text, encoding="utf-8")
    world.pulumi("config", "set", "--secret", "smtpPassword", "--stack", DEMO,
                 input="smtp-day2-Pa55-e1c4")
    world.secret_values[DEMO]["smtpPassword"] = "smtp-day2-Pa55-e1c4"
    commit(world.repo, "day 2: plan, modules, SMTP, suspended")


def test_the_pull_request_plan_previews_day_2_edits_as_updates(world: World,
                                                                outputs: list[str]) -> None:
    _edit_day_2(world)
    code, report = run_json(world, outputs, "plan", "--base", "HEAD~1")
    assert code == 0, shown(report)
    (result,) = report["results"]
    assert result["stack"] == DEMO and result["operation"] == "preview"
    assert result["changes"]["update"] > 0 and result["changes"]["delete"] == 0, result
    steps = {(s["op"], s["type"].split(":")[-1], s["name"]) for s in result["steps"]}
    assert ("update", "Step", "app-account") in steps, steps
    assert _replaced(result) <= VERSION_REPLACEMENTS, steps
    # the SMTP password is new: its secret and first version
    assert {("create", "Secret", "secret-smtp"),
            ("create", "SecretVersion", "secret-smtp-version")} <= steps, steps


# A secret's value lives in its SecretVersion, whose `secret_string` is ForceNew upstream
# (aws_secretsmanager_secret_version, secret_version.go): a new value is a new version of the
# same secret, made before the old one is let go (AWSPREVIOUS), as the real provider does.
# Nothing else may be replaced by a day-2 edit.
VERSION_REPLACEMENTS = {"secret-config-tenant-env-version",
                        "secret-config-bootstrap-json-version"}


def _replaced(result: dict[str, Any]) -> set[str]:
    return {s["name"] for s in result["steps"] if s["op"] == "replace"}


def test_day_2_edits_update_in_place_and_never_replace(world: World,
                                                      outputs: list[str]) -> None:
    code, report = run_json(world, outputs, "apply", "--base", "HEAD~1")
    assert code == 0, shown(report)
    (result,) = report["results"]
    assert result["changes"]["update"] > 0 and result["changes"]["delete"] == 0, result
    assert _replaced(result) <= VERSION_REPLACEMENTS, result["steps"]
    rows = world.server.execute(
        "SELECT c.locked_tenant, c.smtp_host, p.name FROM clients c JOIN plans p ON "
        "p.id = c.plan_id WHERE c.number = %s", ("20123456789",), database="facturador")
    assert rows == [(1, "smtp.zoho.com", "Pyme")]
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0 and report["totals"]["update"] == 0, report


def test_drift_finds_nothing_then_an_out_of_band_change(world: World,
                                                       outputs: list[str]) -> None:
    code, report = run_json(world, outputs, "drift")
    assert code == 0, shown(report)
    zone = world.platform["hostedZoneId"]
    r53 = client("route53", world.moto)
    fqdn = f"{DEMO}.{BASE_DOMAIN}."
    (aaaa,) = [r for r in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
               if r["Name"] == fqdn and r["Type"] == "AAAA"]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": "DELETE", "ResourceRecordSet": aaaa}]})
    code, report = run_json(world, outputs, "drift")
    assert code == 3, report
    drifted = [r for r in report["results"] if sum(r["changes"].values())]
    assert [r["stack"] for r in drifted] == [DEMO]
    # with --run-program the Tenant component registers again and its outputs (which name the
    # record) show as a step of its own; of the resources a provider reads, only the record
    custom = [(s["type"], s["name"]) for s in drifted[0]["steps"]
              if not s["type"].startswith("facturador:")]
    assert custom == [("aws:route53/record:Record", "dns-aaaa")], drifted
    # a plain `apply` runs `up` without a refresh: the state still holds the record, so it
    # would not put it back. Repairing is its own, reviewed step: `apply --refresh`.


def test_apply_with_refresh_puts_back_what_drift_found_gone(world: World,
                                                            outputs: list[str]) -> None:
    zone = world.platform["hostedZoneId"]
    r53 = client("route53", world.moto)
    fqdn = f"{DEMO}.{BASE_DOMAIN}."

    def aaaa() -> list[dict[str, Any]]:
        return [r for r in r53.list_resource_record_sets(HostedZoneId=zone)[
            "ResourceRecordSets"] if r["Name"] == fqdn and r["Type"] == "AAAA"]

    assert aaaa() == []  # deleted out of band by the drift test
    code, report = run_json(world, outputs, "apply", "--all")
    assert code == 0 and report["totals"]["create"] == 0 and aaaa() == [], report
    code, report = run_json(world, outputs, "apply", "--all", "--refresh")
    assert code == 0, shown(report)
    (result,) = [r for r in report["results"] if r["changes"]["create"]]
    assert result["stack"] == DEMO and result["changes"]["create"] == 1, report
    assert len(aaaa()) == 1
    code, report = run_json(world, outputs, "drift")
    assert code == 0, shown(report)


def test_pulumi_import_reads_an_existing_record_into_the_stack(world: World) -> None:
    """`pulumi import` (what an adopted tenant's `import_` option does at `up`): the engine
    asks the plugin's Read for the resource by its import id and records what exists."""
    zone = world.platform["hostedZoneId"]
    name = f"legacy.{BASE_DOMAIN}"
    client("route53", world.moto).change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": name, "Type": "A", "TTL": 300,
            "ResourceRecords": [{"Value": "192.0.2.10"}]}}]})
    world.pulumi("import", "aws:route53/record:Record", "legacy", f"{zone}_{name}_A",
                 "--stack", DEMO, "--yes", "--generate-code=false", "--protect=false")
    exported = json.loads(world.pulumi("stack", "export", "--stack", DEMO).stdout)
    (legacy,) = [r for r in exported["deployment"]["resources"]
                 if r["urn"].endswith("::legacy")]
    assert legacy["id"] == f"{zone}_{name}_A"
    assert legacy["inputs"]["records"] == ["192.0.2.10"] and legacy["inputs"]["ttl"] == 300


def test_a_removed_demo_tenant_is_destroyed_and_production_is_refused(
        world: World, outputs: list[str]) -> None:
    for name in (DEMO, PRODUCTION):
        _tenant_file(world, name).unlink()
    commit(world.repo, "both clients left")
    code, report = run_json(world, outputs, "apply", "--base", "HEAD~1")
    assert code == 1, report  # the production removal is refused
    results = by_stack(report)
    assert results[DEMO]["operation"] == "destroy" and results[DEMO]["status"] == "ok"
    assert results[DEMO]["changes"]["delete"] > 0
    assert results[PRODUCTION]["status"] != "ok"
    assert "allow-destroy-production" in json.dumps(results[PRODUCTION])
    # demo: DNS and secrets gone; the database kept (retained in every environment)
    zone = world.platform["hostedZoneId"]
    left = client("route53", world.moto).list_resource_record_sets(HostedZoneId=zone)
    assert not [r for r in left["ResourceRecordSets"] if r["Name"].startswith(f"{DEMO}.")]
    names = {s["Name"] for s in client("secretsmanager", world.moto).list_secrets(
        MaxResults=100)["SecretList"]}
    assert not [n for n in names if n.startswith(f"tenancy/tenants/{DEMO}/")]
    assert any(n.startswith(f"tenancy/tenants/{PRODUCTION}/") for n in names)
    assert world.server.execute("SHOW DATABASES LIKE %s", (f"tenancy_{DEMO}",))
    assert world.server.execute("SHOW DATABASES LIKE %s", (f"tenancy_{PRODUCTION}",))


def test_no_state_file_log_or_output_holds_a_secret(world: World, outputs: list[str]) -> None:
    assert not (leaks := secret_leaks(world, outputs)), leaks
