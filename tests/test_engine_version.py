"""The engine version lives in one place, engine/cli/go.mod: the Python SDK pin and every
workflow's `pulumi-version:` must equal it, and the language host's module is the one the notes
say (sdk/v3 v3.68.0, the last served source of pulumi-language-python)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def engine_version() -> str:
    text = (ROOT / "engine" / "cli" / "go.mod").read_text(encoding="utf-8")
    (version,) = re.findall(r"^require github\.com/pulumi/pulumi/pkg/v3 v(\S+)$", text, re.M)
    return version


def test_pyproject_pins_the_sdk_at_the_engine_version() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d for d in deps if re.match(r"pulumi\b(?![-_])", d)]
    assert pins == [f"pulumi=={engine_version()}"]


def test_every_pulumi_actions_step_installs_the_engine_version() -> None:
    steps = []
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for job in (yaml.safe_load(path.read_text()) or {}).get("jobs", {}).values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("pulumi/actions@"):
                    steps.append((path.name, str((step.get("with") or {}).get("pulumi-version"))))
    assert steps, "no pulumi/actions step found"
    assert {v for _, v in steps} == {engine_version()}, steps


def test_the_language_host_is_built_from_sdk_v3_68() -> None:
    text = (ROOT / "engine" / "language-host" / "go.mod").read_text(encoding="utf-8")
    assert re.search(r"^require github\.com/pulumi/pulumi/sdk/v3 v3\.68\.0$", text, re.M)
    tools = (ROOT / "engine" / "language-host" / "tools.go").read_text(encoding="utf-8")
    assert '"github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python"' in tools
