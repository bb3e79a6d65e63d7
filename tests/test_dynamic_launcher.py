"""The dynamic provider starts the way the engine starts it, for this repository and init's.

The engine runs `pulumi-resource-pulumi-python` with the program directory (`main: infra/`) as
its cwd and the Pulumi.yaml runtime options as PULUMI_RUNTIME_* variables, unchanged
(pulumi/pulumi pkg/engine/project.go `getPwdMain`, pkg/resource/plugin/plugin.go `ExecPlugin`,
pkg/resource/plugin/provider_plugin.go `NewProvider`). This reproduces that launch with the real
launcher script: it must print a port (the provider is serving), not "doesn't exist".
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = "pulumi-resource-pulumi-python"


def _launcher() -> Path:
    """The launcher the setup copied into .engine/bin/, else the one in the Go module cache of
    the SDK version this environment pins (only if already downloaded: nothing is fetched)."""
    built = ROOT / ".engine" / "bin" / LAUNCHER
    if built.is_file():
        return built
    go = shutil.which("go")
    if go:
        cache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True,
                               timeout=60).stdout.strip()
        version = metadata.version("pulumi")
        cached = (Path(cache) / "github.com" / "pulumi" / "pulumi" / f"sdk/v3@v{version}"
                  / "python" / "dist" / LAUNCHER) if cache else None
        if cached and cached.is_file():
            return cached
    pytest.skip(f"no {LAUNCHER}: neither .engine/bin/ (scripts/setup.sh builds the engine "
                "there) nor the Go module cache of github.com/pulumi/pulumi/sdk/v3 has it")


def _engine_launch(project: Path, scratch: Path) -> tuple[int | None, str, str]:
    """Start the launcher as the engine does; (port or None, stdout, stderr)."""
    settings = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8"))
    runtime = settings["runtime"]
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PULUMI_RUNTIME_", "VIRTUAL_ENV"))}
    env.update({f"PULUMI_RUNTIME_{k.upper()}": str(v) for k, v in options.items()})
    env["PATH"] = "/usr/bin:/bin"  # no virtualenv on PATH: only the option may find it
    program_dir = project / str(settings.get("main") or ".")
    # the launcher is copied to a private file: the module cache's copy may not be executable
    script = scratch / LAUNCHER
    shutil.copyfile(_launcher(), script)
    # its own process group: the shell runs python as a child, and both must stop
    proc = subprocess.Popen(["/bin/sh", str(script), "127.0.0.1:1"], cwd=program_dir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        if first.isdigit():
            return int(first), first, ""
        _, err = proc.communicate(timeout=60)
        return None, first, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.communicate(timeout=30)


def test_this_repository_starts_the_dynamic_provider_from_infra(tmp_path: Path) -> None:
    if not (ROOT / ".venv" / "bin" / "python").is_file():
        pytest.skip("no .venv at the repository root (scripts/setup.sh makes it)")
    port, out, err = _engine_launch(ROOT, tmp_path)
    assert port, f"the provider did not start: {out!r} {err!r}"


def test_an_init_repository_starts_the_dynamic_provider_from_infra(
        tmp_path: Path, run_cli) -> None:
    target = tmp_path / "acme"
    code, _, err = run_cli("init", target, "--base-domain", "facturador.example.pe",
                           "--no-input")
    assert code == 0, err
    # the workflows and the engine make .venv at the root; the test's own venv stands in
    (target / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    port, out, err = _engine_launch(target, tmp_path)
    assert port, f"the provider did not start: {out!r} {err!r}"
