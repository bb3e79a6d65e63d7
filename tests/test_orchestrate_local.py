"""Local mode's AWS bootstrap, for real against an in-process moto server."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from provisioner.errors import ProvisionerError
from provisioner.model.repository import load_repository
from provisioner.orchestrate.local import (
    KMS_ALIAS,
    bootstrap,
    client,
    local_app_secrets,
    local_env,
    local_project,
    local_session,
    moto_server,
)


def test_bootstrap_creates_zone_key_and_admin_secret_once(repo: Path) -> None:
    reseller = load_repository(repo).reseller
    assert reseller is not None
    with moto_server() as url:
        assert url.startswith("http://127.0.0.1:")
        first = bootstrap(url, reseller, db_endpoint="127.0.0.1:3306", db_admin_user="admin",
                          db_admin_password="pw-local-1")
        again = bootstrap(url, reseller, db_endpoint="127.0.0.1:3306", db_admin_user="admin",
                          db_admin_password="pw-local-2")
        assert (again.hosted_zone_id, again.kms_key_id, again.db_admin_secret_arn) == (
            first.hosted_zone_id, first.kms_key_id, first.db_admin_secret_arn)
        zones = client("route53", url).list_hosted_zones()["HostedZones"]
        assert [z["Name"] for z in zones] == ["facturador.example.pe."]
        aliases = client("kms", url).list_aliases()["Aliases"]
        assert any(a["AliasName"] == KMS_ALIAS for a in aliases)
        secret = client("secretsmanager", url).get_secret_value(
            SecretId="tenancy/platform/mysql-admin")
        assert '"password": "pw-local-2"' in secret["SecretString"]
    config = first.stack_config()
    assert config["hostedZoneId"] == (first.hosted_zone_id, False)
    assert config["sharedDatabaseAdminPassword"] == ("pw-local-1", True)


def test_local_state_and_project_copy_stay_out_of_the_repository(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        "name: tenants\nruntime:\n  name: python\n  options:\n    virtualenv: .venv\n"
        "main: infra/\n")
    env = local_env(tmp_path, {})
    assert env["PULUMI_BACKEND_URL"] == f"file://{tmp_path / '.pulumi-local'}"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "provisioner-local"
    assert local_env(tmp_path, {"PULUMI_CONFIG_PASSPHRASE": "mine"})[
        "PULUMI_CONFIG_PASSPHRASE"] == "mine"
    work = local_project(tmp_path)
    settings = yaml.safe_load((work / "Pulumi.yaml").read_text())
    assert work.parent == tmp_path / ".pulumi-local"
    assert settings["name"] == "tenants"
    assert settings["main"] == str(tmp_path / "infra")
    assert settings["runtime"]["options"]["virtualenv"] == str(tmp_path / ".venv")


def test_local_session_starts_and_stops_moto(repo: Path) -> None:
    (repo / "Pulumi.yaml").write_text("name: tenants\nruntime: python\n")
    reseller = load_repository(repo).reseller
    assert reseller is not None
    app_env = {"PROVISIONER_APP_KEY": "base64:local-app-key-0123456789",
               "PROVISIONER_APP_DB_PASSWORD": "local-system-db-pw"}
    with local_session(repo, reseller, environ=app_env, check_database=False) as session:
        url = session.platform.endpoint
        config = session.platform.stack_config()
        assert config["appKey"] == ("base64:local-app-key-0123456789", True)
        assert config["appDatabasePassword"] == ("local-system-db-pw", True)
        assert client("route53", url).list_hosted_zones()["HostedZones"]
        assert session.env["PULUMI_BACKEND_URL"].startswith("file://")
    import socket

    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        assert s.connect_ex((host, int(port))) != 0  # stopped


def test_local_mode_refuses_an_app_reseller_without_the_app_secrets(repo: Path) -> None:
    (repo / "Pulumi.yaml").write_text("name: tenants\nruntime: python\n")
    reseller = load_repository(repo).reseller
    assert reseller is not None and reseller.app is not None
    with pytest.raises(ProvisionerError) as err, local_session(
            repo, reseller, environ={"PROVISIONER_APP_KEY": "base64:k"},
            check_database=False):
        pass
    assert "PROVISIONER_APP_DB_PASSWORD" in str(err.value)
    assert "PROVISIONER_APP_KEY" not in str(err.value)


def test_local_mode_without_an_app_section_sets_no_app_secrets(repo: Path) -> None:
    reseller = load_repository(repo).reseller
    assert reseller is not None
    plain = reseller.model_copy(update={"app": None})
    assert local_app_secrets(plain, {"PROVISIONER_APP_KEY": "base64:unused"}) == ()
