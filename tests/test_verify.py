"""`provisioner verify` against a moto server populated as the stack would have."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner import naming
from provisioner.model.repository import load_repository
from provisioner.orchestrate.local import client, moto_server
from provisioner.render.documents import render_tenant
from provisioner.render.renderer import renderer_for
from provisioner.render.secrets import SecretValues

DB_PASSWORD = "Db-Pa55-9f8e7d6c5b"
ADMIN_PASSWORD = "Adm-Pa55-1a2b3c4d"
TOKEN = "T" * 50
SMTP_PASSWORD = "Smtp-Pa55-0z9y8x"


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto accepts any key; boto3 still wants one, as it would from the operator's profile."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _populate(repo: Path, url: str, tenant: str = "nandu") -> dict[str, Any]:
    loaded = load_repository(repo)
    spec = loaded.tenant(tenant).spec
    reseller, catalog = loaded.reseller, loaded.catalog
    assert reseller is not None and catalog is not None
    r53 = client("route53", url)
    zone = r53.create_hosted_zone(Name=f"{reseller.base_domain}.", CallerReference=tenant)
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    lb = reseller.platform.load_balancer
    assert lb is not None
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": naming.fqdn(spec.subdomain, reseller.base_domain), "Type": "A",
            "AliasTarget": {"HostedZoneId": lb.zone_id, "DNSName": lb.dns_name,
                            "EvaluateTargetHealth": False}}}]})
    values = SecretValues(DB_PASSWORD, ADMIN_PASSWORD, "$2y$10$" + "h" * 53, TOKEN,
                          smtp_password=SMTP_PASSWORD)
    docs = render_tenant(renderer_for(reseller, repo), spec, reseller, catalog, values)
    sm = client("secretsmanager", url)
    secrets = {
        "db": json.dumps({"username": "tenancy_nandu", "password": DB_PASSWORD}),
        "admin": json.dumps({"email": spec.admin_email, "password": ADMIN_PASSWORD,
                             "api_token": TOKEN}),  # no hash stored: stays unverified
        "smtp": SMTP_PASSWORD,
        "config/tenant.env": docs["tenant.env"],
        "config/bootstrap.json": docs["bootstrap.json"],
    }
    for concern, value in secrets.items():
        name = naming.secret_name(reseller.database_prefix, spec.subdomain, concern)
        try:
            sm.create_secret(Name=name, SecretString=value)
        except sm.exceptions.ResourceExistsException:
            sm.put_secret_value(SecretId=name, SecretString=value)
    return {"zone": zone_id, "sm": sm, "docs": docs, "prefix": reseller.database_prefix}


def _verify(run_cli: Any, repo: Path, url: str, zone: str) -> tuple[int, str]:
    code, out, err = run_cli("--repo", repo, "verify", "nandu", "--endpoint-url", url,
                             "--hosted-zone-id", zone, "--format", "json")
    assert "Traceback" not in err
    return code, out


def test_a_matching_tenant_verifies(repo: Path, moto: str, run_cli: Any) -> None:
    state = _populate(repo, moto)
    code, out = _verify(run_cli, repo, moto, state["zone"])
    data = json.loads(out)
    assert code == 0, data["mismatches"]
    names = {c["check"] for c in data["checks"]}
    assert "secret tenancy/tenants/nandu/smtp" in names
    assert "config/tenant.env" in names and "config/bootstrap.json" in names
    assert any(u.startswith("bootstrap.json:") for u in data["unverified"])  # the bcrypt hash
    for secret in (DB_PASSWORD, ADMIN_PASSWORD, TOKEN, SMTP_PASSWORD):
        assert secret not in out


def test_wrong_values_are_listed_without_showing_secrets(repo: Path, moto: str,
                                                        run_cli: Any) -> None:
    state = _populate(repo, moto)
    sm, prefix = state["sm"], state["prefix"]
    env = state["docs"]["tenant.env"].replace(DB_PASSWORD, "Leaked-Other-Pa55").replace(
        "LIMIT_USERS='2'", "LIMIT_USERS='9'")
    sm.put_secret_value(SecretId=naming.secret_name(prefix, "nandu", "config/tenant.env"),
                        SecretString=env)
    sm.delete_secret(SecretId=naming.secret_name(prefix, "nandu", "smtp"),
                     ForceDeleteWithoutRecovery=True)
    code, out = _verify(run_cli, repo, moto, state["zone"])
    assert code == 1
    mismatches = {m["check"]: m["message"] for m in json.loads(out)["mismatches"]}
    assert mismatches["secret tenancy/tenants/nandu/smtp"] == "missing"
    env_msg = mismatches["config/tenant.env"]
    assert "LIMIT_USERS" in env_msg and "DB_PASSWORD" in env_msg and "not shown" in env_msg
    assert "Leaked-Other-Pa55" not in out and DB_PASSWORD not in out


def test_wrong_alias_target_is_a_mismatch(repo: Path, moto: str, run_cli: Any) -> None:
    state = _populate(repo, moto)
    r53 = client("route53", moto)
    r53.change_resource_record_sets(HostedZoneId=state["zone"], ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": "nandu.facturador.example.pe", "Type": "A",
            "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": "other.example.com",
                            "EvaluateTargetHealth": False}}}]})
    code, out = _verify(run_cli, repo, moto, state["zone"])
    assert code == 1
    assert "other.example.com" in json.dumps(json.loads(out)["mismatches"])
