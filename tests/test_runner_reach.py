"""A CI runner with no named way to the app's databases stops `app:` stacks before the first
engine call (provisioner/app/runner_reach.py): through the real CLI, with the recording Pulumi
stand-in of the workflow rehearsal as the engine (tests/standins/pulumi.py)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from provisioner.app.connection import PROXY_ENV
from provisioner.app.runner_reach import RUNNER_ENV, reach_problem
from provisioner.model.repository import load_reseller
from tests.conftest import run_subprocess

ROOT = Path(__file__).resolve().parent.parent
STANDIN = ROOT / "tests" / "standins" / "pulumi.py"
STACKS = {"bodegaperez", "contaapi", "ferreteriaandina", "hotelsol", "nandu", "pruebademo"}
KMS = "awskms://alias/pulumi?region=us-east-1"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def project(repo: Path, tmp_path: Path) -> Path:
    """The examples as a tenant repository whose engine is the recording stand-in."""
    shutil.copy(ROOT / "Pulumi.yaml", repo / "Pulumi.yaml")
    (repo / ".venv").symlink_to(Path(sys.prefix))  # the stand-in imports pulumi from it
    engine = tmp_path / "engine" / "bin"
    engine.mkdir(parents=True)
    (engine / "pulumi").write_text(f"#!{sys.executable}\n" + STANDIN.read_text())
    (engine / "pulumi").chmod(0o755)
    (tmp_path / "cloud").mkdir()
    return repo


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"CI", "GITHUB_ACTIONS", RUNNER_ENV, PROXY_ENV, "ALL_PROXY"}}
    return {**env, "PROVISIONER_ENGINE_DIR": str(tmp_path / "engine"),
            "REHEARSAL_DIR": str(tmp_path / "cloud"), "PULUMI_BACKEND_URL": "s3://state",
            "PROVISIONER_SECRETS_PROVIDER": KMS,
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true", **extra}


def _engine_calls(tmp_path: Path) -> list[dict[str, object]]:
    log = tmp_path / "cloud" / "pulumi.log"
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


def _stacks(tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "cloud" / "stacks.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.mark.parametrize("command", [["apply", "--all"], ["plan", "--all"], ["drift"]])
def test_ci_without_a_way_to_the_databases_is_refused_before_the_engine(
        project: Path, tmp_path: Path, command: list[str]) -> None:
    proc = run_subprocess("--repo", str(project), *command, cwd=project,
                          env=_env(tmp_path, CI="true"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"provisioner {command[0]}: reseller.yaml:35:1: app: in CI "
                               "(CI=true) the app's databases (facturador-shared.cluster-abc123"
                               ".us-east-1.rds.amazonaws.com:3306) may not be reachable"), lines
    assert f"set {PROXY_ENV}=socks5://HOST:PORT" in lines[0]
    assert f"{RUNNER_ENV}=vpc on a runner inside the VPC" in lines[0]
    assert "Traceback" not in proc.stderr
    assert _engine_calls(tmp_path) == [] and _stacks(tmp_path) == {}  # no engine call at all
    assert not list(project.glob("Pulumi.*.yaml"))  # no stack settings file written


def test_github_actions_alone_and_an_unknown_runner_value_are_refused(
        project: Path, tmp_path: Path) -> None:
    proc = run_subprocess("--repo", str(project), "apply", "--all", cwd=project,
                          env=_env(tmp_path, GITHUB_ACTIONS="true", **{RUNNER_ENV: "hosted"}))
    assert proc.returncode == 2, proc.stderr
    assert "in CI (GITHUB_ACTIONS=true)" in proc.stderr
    assert f"{RUNNER_ENV}='hosted' is not 'vpc'" in proc.stderr
    assert _stacks(tmp_path) == {}


@pytest.mark.parametrize("way", [{PROXY_ENV: "socks5://127.0.0.1:1080"}, {RUNNER_ENV: "vpc"},
                                 {}])
def test_a_named_way_in_or_a_run_outside_ci_goes_ahead(project: Path, tmp_path: Path,
                                                       way: dict[str, str]) -> None:
    """With the tunnel named, or a runner in the VPC, CI applies every stack; outside CI
    (`{}`, no CI variable) nothing is refused either: a local run reaches loopback."""
    ci = {"CI": "true"} if way else {}
    proc = run_subprocess("--repo", str(project), "apply", "--all", "--format", "json",
                          cwd=project, env=_env(tmp_path, **ci, **way))
    assert proc.returncode == 0, proc.stderr
    assert "may not be reachable" not in proc.stderr
    assert set(_stacks(tmp_path)) == STACKS
    ups = {c["stack"] for c in _engine_calls(tmp_path) if c["cmd"] == "up"}
    assert ups == STACKS


def test_no_app_section_outside_ci_or_a_way_in_is_never_refused(repo: Path) -> None:
    path = repo / "reseller.yaml"
    text = path.read_text()
    path.write_text(text[:text.index("\n# How tenants become accounts")] + "\n")
    reseller, _, findings = load_reseller(path)
    assert reseller is not None and reseller.app is None, findings
    assert reach_problem(reseller, {"CI": "true"}) is None
    with_app, _, _ = load_reseller(Path(__file__).resolve().parent.parent / "examples" /
                                   "reseller.yaml")
    assert reach_problem(with_app, {"CI": "true"}) is not None
    for off in ({}, {"CI": "false"}, {"CI": "0"}, {"GITHUB_ACTIONS": ""}):
        assert reach_problem(with_app, off) is None, off
    for on in ({"CI": "TRUE"}, {"CI": "1"}, {"GITHUB_ACTIONS": "true"}):
        assert reach_problem(with_app, on) is not None, on
    for way in ({RUNNER_ENV: "VPC"}, {RUNNER_ENV: " vpc "}, {PROXY_ENV: "socks5://h:1"}):
        assert reach_problem(with_app, {"CI": "true", **way}) is None, way
    for not_a_way in ({RUNNER_ENV: ""}, {RUNNER_ENV: "vpc-ish"}, {PROXY_ENV: ""}):
        assert reach_problem(with_app, {"CI": "true", **not_a_way}) is not None, not_a_way
