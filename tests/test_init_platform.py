"""`provisioner init --platform`: the platform project and its stack settings in a reseller's
repository, tenants pointed at it by stack reference; `--upgrade` keeps its tool files current
and never touches its settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from provisioner import scaffold
from provisioner.model.repository import load_repository
from provisioner.platform_outputs import ALL_OUTPUTS

Run = Any
BASE = ("--no-input", "--base-domain", "facturador.acme.pe", "--database-prefix", "acme",
        "--backend-url", "s3://acme-production-pulumi-state")
PLATFORM = ("--platform", "--github-repository", "acme/tenants",
            "--vpc-id", "vpc-0123456789abcdef0", "--subnet-id", "subnet-0123456789abcdef0",
            "--subnet-id", "subnet-0123456789abcdef1",
            "--load-balancer-dns-name", "acme-alb-1.us-east-1.elb.amazonaws.com",
            "--load-balancer-zone-id", "Z35SXDOTRQ7X7K")


def test_a_new_repository_with_its_platform(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "acme"
    code, out, err = run_cli("init", target, *BASE, *PLATFORM)
    assert code == 0, err
    repo = load_repository(target)
    assert [str(f) for f in repo.findings if f.severity == "error"] == []
    assert repo.reseller is not None
    assert repo.reseller.platform.stack_reference == "organization/platform/production"
    project = yaml.safe_load((target / "platform" / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["name"] == "platform" and "main" not in project
    assert project["runtime"]["options"]["virtualenv"] == "../.venv"
    assert project["backend"] == {"url": "s3://acme-production-pulumi-state"}
    program = (target / "platform" / "__main__.py").read_text(encoding="utf-8")
    assert "from provisioner.platform_stack.program import main" in program
    stack = yaml.safe_load((target / "platform" / "Pulumi.production.yaml").read_text(
        encoding="utf-8"))["config"]
    assert stack["platform:githubRepository"] == "acme/tenants"
    assert stack["platform:subnetIds"] == ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    # the settings it wrote are the ones the program reads: explained with no placeholder
    code, out, err = run_cli("--repo", target, "platform", "explain", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["placeholders"] == [] and tuple(data["outputs"]) == ALL_OUTPUTS
    role = next(r for r in data["resources"] if r["name"] == "plan-role")
    assert "repo:acme/tenants:environment:plan" in role["properties"]["assumeRolePolicy"]


def test_settings_not_given_are_named_with_their_command(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "acme"
    assert run_cli("init", target, *BASE, "--platform", "--platform-environment",
                   "staging")[0] == 0
    text = (target / "platform" / "Pulumi.staging.yaml").read_text(encoding="utf-8")
    for key in ("githubRepository", "vpcId", "subnetIds", "loadBalancerDnsName"):
        assert f"pulumi config set --cwd platform --stack staging {key}" in text
    code, _, err = run_cli("--repo", target, "platform", "explain", "staging")
    assert code == 0, err  # explained with placeholders, named in its note


def test_platform_added_to_an_existing_repository(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "acme"
    assert run_cli("init", target, *BASE)[0] == 0
    reseller = (target / "reseller.yaml").read_text(encoding="utf-8")
    code, out, err = run_cli("init", target, *PLATFORM)
    assert code == 0, err
    assert "stack_reference: organization/platform/production" in out
    assert (target / "reseller.yaml").read_text(encoding="utf-8") == reseller  # the reseller's
    assert (target / "platform" / "Pulumi.production.yaml").is_file()
    before = (target / "platform" / "Pulumi.production.yaml").read_text(encoding="utf-8")
    code, _, err = run_cli("init", target, *PLATFORM)
    assert code == 1 and "exists; nothing written" in err
    assert (target / "platform" / "Pulumi.production.yaml").read_text(encoding="utf-8") == before


def test_bad_platform_flags_write_nothing(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "acme"
    for flags in (("--vpc-id", "vpc-nothex"), ("--subnet-id", "sub-1"),
                  ("--github-repository", "no slash"), ("--platform-environment", "Prod_1")):
        code, _, err = run_cli("init", target, *BASE, "--platform", *flags)
        assert code == 2 and flags[0] in err and "Traceback" not in err
        assert not target.exists()


def test_upgrade_rewrites_the_platform_tool_files_not_its_settings(
        tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "acme"
    assert run_cli("init", target, *BASE, *PLATFORM)[0] == 0
    settings = (target / "platform" / "Pulumi.production.yaml").read_text(encoding="utf-8")
    entry = target / "platform" / "__main__.py"  # as an older version of the tool wrote it
    older = entry.read_text(encoding="utf-8").replace("platform_stack.program",
                                                      "platform_stack.old_program")
    entry.write_text(older, encoding="utf-8")
    manifest = target / scaffold.MANIFEST  # and recorded by it in init's manifest
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    doc["files"]["platform/__main__.py"] = scaffold.digest(older)
    manifest.write_text(json.dumps(doc), encoding="utf-8")
    code, out, _ = run_cli("init", "--upgrade", target)
    assert code == 0 and "platform/__main__.py" in out
    assert "platform_stack.program" in (target / "platform" / "__main__.py").read_text(
        encoding="utf-8")
    assert (target / "platform" / "Pulumi.production.yaml").read_text(
        encoding="utf-8") == settings
    assert run_cli("init", "--upgrade", "--check", target)[0] == 0
