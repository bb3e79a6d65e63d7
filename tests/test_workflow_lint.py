"""The workflows pass actionlint (built by scripts/tools.sh at a pinned version) and zizmor
(offline audits; the findings kept on purpose are in .github/zizmor.yml with their reasons),
and keep the rules those tools only partly see: actions pinned by commit, no checkout token
left behind where it is not needed, no expression expanded inside a shell script."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = ROOT / ".tools" / "bin" / "actionlint"
# jobs whose checkout keeps its token, why: .github/zizmor.yml (artipacked)
KEEPS_TOKEN = {("main.yml", "list"), ("main.yml", "early"), ("main.yml", "production"),
               ("main.yml", "marker"), ("pr.yml", "list")}


def _jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, job) for path in WORKFLOWS
            for name, job in yaml.safe_load(path.read_text())["jobs"].items()]


@pytest.fixture(scope="module")
def actionlint() -> Path:
    subprocess.run(["bash", str(ROOT / "scripts" / "tools.sh")], check=True, timeout=600)
    return ACTIONLINT


def test_workflow_actionlint_is_clean(actionlint: Path) -> None:
    proc = subprocess.run([str(actionlint), "-no-color", *map(str, WORKFLOWS)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_actionlint_finds_what_it_should(actionlint: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.head_commit.message }}\n"
                   "        if: ${{ matrix.nope }}\n")
    proc = subprocess.run([str(actionlint), "-no-color", str(bad)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and "matrix" in proc.stdout


def _zizmor(*paths: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("zizmor")
    args = [str(exe), "--offline", "--no-progress", "--format", "plain"]
    if config is not None:
        args += ["--config", str(config)]
    return subprocess.run([*args, *map(str, paths)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_workflow_zizmor_is_clean_with_the_reviewed_ignores() -> None:
    proc = _zizmor(*WORKFLOWS, config=ROOT / ".github" / "zizmor.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr


def test_workflow_zizmor_ignores_each_have_a_reason() -> None:
    config = yaml.safe_load((ROOT / ".github" / "zizmor.yml").read_text())
    text = (ROOT / ".github" / "zizmor.yml").read_text()
    for rule, body in config["rules"].items():
        for entry in body["ignore"]:
            before = text[:text.index(f"- {entry}")].rstrip().splitlines()[-1].strip()
            assert before.startswith("#"), f"{rule}: {entry} has no reason above it"


def test_workflow_zizmor_sees_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: pull_request_target\npermissions: {}\njobs:\n  a:\n"
                   "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
                   "      - run: echo ${{ github.event.pull_request.title }}\n")
    proc = _zizmor(bad)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for rule in ("dangerous-triggers", "template-injection", "artipacked", "unpinned-uses"):
        assert rule in out, rule


def test_workflow_actions_are_pinned_by_commit_with_their_version() -> None:
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            m = re.search(r"uses:\s*(\S+)(.*)", line)
            if not m:
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", m.group(1)), (path.name, line)
            assert re.fullmatch(r"\s+# v\d+\.\d+\.\d+( # zizmor: ignore\[[a-z-]+\])?",
                                m.group(2)), (path.name, line)


def test_workflow_checkouts_keep_no_token_unless_reviewed() -> None:
    for workflow, name, job in _jobs():
        for step in job.get("steps", []):
            if not str(step.get("uses", "")).startswith("actions/checkout@"):
                continue
            persisted = (step.get("with") or {}).get("persist-credentials", True) is not False
            assert persisted == ((workflow, name) in KEEPS_TOKEN), (workflow, name)


def test_workflow_run_scripts_expand_no_expressions() -> None:
    """Every value reaches a script through `env:` (quoted by the shell), never as text
    pasted into it by `${{ }}` (template injection)."""
    for workflow, name, job in _jobs():
        for step in job.get("steps", []):
            assert "${{" not in str(step.get("run", "")), (workflow, name, step.get("name"))


def test_workflow_environment_files_take_only_fixed_names() -> None:
    """GITHUB_ENV and GITHUB_PATH are never written (a value there reaches every later step);
    GITHUB_OUTPUT takes lines whose names are fixed in the script."""
    for path in WORKFLOWS:
        text = path.read_text()
        assert not re.search(r'\$\{?GITHUB_(ENV|PATH)', text), path.name
        for line in text.splitlines():
            if "GITHUB_OUTPUT" in line:
                assert re.search(r'echo "[a-z_]+=|provisioner ci spec-only', line), line


def test_workflow_installs_use_the_lock() -> None:
    lock = ROOT / ".github" / "workflows" / "requirements.lock"
    pins = dict(re.findall(r"^([a-z0-9._-]+)==(\S+)", lock.read_text(), re.M))
    assert pins["pulumi"] == "3.260.0"  # the engine's Go module (engine/.../go.mod)
    assert "tenant-provisioner" not in pins
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            if "pip install" in line:
                assert "-r requirements.txt" in line, line
        text = path.read_text()
        assert text.count("-c .github/workflows/requirements.lock") == text.count(
            "-r requirements.txt"), path.name
    assert "-c .github/workflows/requirements.lock" in (ROOT / "scripts" / "setup.sh"
                                                         ).read_text()
