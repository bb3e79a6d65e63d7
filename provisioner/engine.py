"""Which Pulumi engine a stack operation runs, and the environment every engine run is given.

The engine is the CLI `scripts/setup.sh` builds into `<project>/.engine/bin/` (docs/engine.md),
or `$PROVISIONER_ENGINE_DIR/bin/pulumi`, else the `pulumi` on PATH (a reseller's CI installs it
with pulumi/actions at the same version). Every run gets:

- PULUMI_PYTHON_CMD: the program's Python. Our language host is pulumi-language-python from
  sdk/v3 v3.68.0 (the last source of it the Go proxy serves), which predates the `virtualenv:`
  runtime option the CLI passes through the protocol; without this variable it runs the program
  with the system `python3`, where neither the SDK nor the program is installed.
- PULUMI_SKIP_UPDATE_CHECK=1: no call to api.pulumi.com to ask for a newer CLI.
- PATH with the engine's bin first: the host finds `pulumi-language-python-exec` there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ENGINE_DIRNAME: Final = ".engine"
ENGINE_DIR_ENV: Final = "PROVISIONER_ENGINE_DIR"
PYTHON_CMD_ENV: Final = "PULUMI_PYTHON_CMD"


@dataclass(frozen=True)
class Engine:
    """A Pulumi CLI: `root` holds bin/pulumi (the Automation API's PulumiCommand root), or
    None for the `pulumi` found on PATH."""

    pulumi: str
    root: Path | None = None

    @property
    def bin_dir(self) -> Path:
        return Path(self.pulumi).parent

    def version(self, timeout: float = 30.0) -> str | None:
        """What `pulumi version` prints (v3.260.0), or None when it cannot run."""
        try:
            out = subprocess.run([self.pulumi, "version"], capture_output=True, text=True,
                                 timeout=timeout, env={**os.environ,
                                                       "PULUMI_SKIP_UPDATE_CHECK": "1"})
        except (OSError, subprocess.SubprocessError):
            return None
        text = out.stdout.strip()
        return text if out.returncode == 0 and text else None


def find_engine(project_dir: Path | None, environ: Mapping[str, str] | None = None
                ) -> Engine | None:
    """$PROVISIONER_ENGINE_DIR, else the project's .engine/, else `pulumi` on PATH."""
    env = os.environ if environ is None else environ
    candidates = [Path(env[ENGINE_DIR_ENV])] if env.get(ENGINE_DIR_ENV) else []
    if project_dir is not None:
        candidates.append(Path(project_dir) / ENGINE_DIRNAME)
    for root in candidates:
        exe = root / "bin" / "pulumi"
        if exe.is_file() and os.access(exe, os.X_OK):
            return Engine(str(exe.resolve()), root.resolve())
    found = shutil.which("pulumi") if environ is None else shutil.which(
        "pulumi", path=env.get("PATH"))
    return Engine(found) if found else None


def program_python(project_dir: Path, virtualenv: str | None) -> str:
    """The interpreter the program runs with: Pulumi.yaml's virtualenv when it has one, else
    the Python running this command (the one the provisioner is installed in)."""
    if virtualenv:
        venv = Path(virtualenv)
        python = (venv if venv.is_absolute() else project_dir / venv) / "bin" / "python"
        if python.is_file():
            return str(python.absolute())
    return sys.executable


def engine_env(engine: Engine | None, python: str,
               environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables every engine run is given (module docstring)."""
    env = os.environ if environ is None else environ
    out = {PYTHON_CMD_ENV: python, "PULUMI_SKIP_UPDATE_CHECK": "1"}
    if engine is not None:
        path = env.get("PATH", os.defpath)
        out["PATH"] = os.pathsep.join([str(engine.bin_dir), path]) if path else str(
            engine.bin_dir)
    return out
