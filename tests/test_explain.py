"""`provisioner explain`: the declared resources of a tenant's stack, secrets masked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from provisioner.explain.declared import placeholder_secrets
from provisioner.secrets import MASK
from tests.conftest import ROOT, run_subprocess

Cli = Callable[..., tuple[int, str, str]]


def test_text_lists_resources_with_protection_and_says_it_is_not_a_diff(run_cli: Cli,
                                                                        repo: Path) -> None:
    code, out, err = run_cli("--repo", repo, "explain", "bodegaperez")
    assert code == 0, err
    assert "not a diff against the cloud" in out
    assert "mysql:index/database:Database  database  [protected, retained]" in out
    assert "aws:route53/record:Record  dns-a  [-]" in out
    assert "name=tenancy/tenants/bodegaperez/sol" in out
    assert "plaintextPassword=********" in out and "secretString=********" in out
    assert "adminPassword: ********" in out
    assert not [s for s in placeholder_secrets().values() if s.strip() in out]


def test_json_masks_every_secret_property(run_cli: Cli, repo: Path) -> None:
    code, out, _ = run_cli("--repo", repo, "explain", "hotelsol", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["declared_state_only"] is True and data["stack"] == "hotelsol"
    by_name = {(r["type"], r["name"]): r for r in data["resources"]}
    rds = by_name[("aws:rds/instance:Instance", "database")]
    assert rds["properties"]["password"] == MASK
    assert rds["properties"]["deletionProtection"] is True
    assert rds["protect"] and rds["retain_on_delete"]
    versions = [r for r in data["resources"] if r["type"].endswith("SecretVersion")]
    assert versions and all(r["properties"]["secretString"] == MASK for r in versions)
    assert data["outputs"]["adminPassword"] == MASK
    assert data["outputs"]["databaseName"] == "tenancy_hotelsol"


def test_markdown_is_a_table(run_cli: Cli, repo: Path) -> None:
    code, out, _ = run_cli("--repo", repo, "explain", "pruebademo", "--format", "markdown")
    assert code == 0
    assert out.startswith("## Stack `pruebademo`")
    assert "| `mysql:index/user:User` | `database-user` | - |" in out  # demo: not protected


def test_a_tenant_file_path_works_too(run_cli: Cli, repo: Path) -> None:
    code, out, _ = run_cli("explain", repo / "tenants" / "nandu.yaml")
    assert code == 0 and "name=tenancy/tenants/nandu/smtp" in out


def test_an_invalid_tenant_reports_findings_without_traceback(run_cli: Cli, repo: Path) -> None:
    path = repo / "tenants" / "nandu.yaml"
    path.write_text(path.read_text().replace("subdomain: nandu", "subdomain: nandú"))
    code, out, err = run_cli("--repo", repo, "explain", "nandu")
    assert code == 1 and not out
    assert "tenants/nandu.yaml:" in err and "subdomain" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("tenant", ["pruebademo", "hotelsol", "contaapi"])
def test_explain_as_a_command_writes_nothing_to_stderr(tenant: str) -> None:
    """As an operator runs it: the SDK's event loops are closed before interpreter exit, so no
    'Exception ignored ... Traceback' noise follows the listing (its speed: bench/)."""
    for _ in range(3):
        result = run_subprocess("--repo", str(ROOT / "examples"), "explain", tenant, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert f"stack {tenant}:" in result.stdout


def test_an_unknown_tenant_is_a_usage_error(run_cli: Cli, repo: Path) -> None:
    code, out, err = run_cli("--repo", repo, "explain", "nosuch")
    assert code == 2 and out == ""
    assert "no valid tenant named 'nosuch'" in err
