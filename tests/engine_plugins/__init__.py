"""Stand-ins for the provider plugins (aws, mysql, random) that the real Pulumi engine runs in
the engine tests and the demo: gRPC ResourceProvider servers backed by moto's server, the test
MariaDB and the `secrets` module. `install(bin_dir)` writes their `pulumi-resource-<name>`
launchers; the engine uses a plugin found on PATH before its plugin cache (pulumi/pulumi
sdk/go/common/workspace/plugins.go `getPluginInfoAndPath`, unless PULUMI_IGNORE_AMBIENT_PLUGINS
is set), so putting `bin_dir` first on the engine's PATH is all it takes, and nothing is
installed outside the run."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PLUGINS = {"aws": "aws_plugin", "mysql": "mysql_plugin", "random": "random_plugin"}


def install(bin_dir: Path, python: str = sys.executable) -> Path:
    """Write the three launchers into `bin_dir`; return it (put it first on PATH)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, module in PLUGINS.items():
        launcher = bin_dir / f"pulumi-resource-{name}"
        launcher.write_text(
            "#!/bin/sh\n# stand-in provider plugin (tests/engine_plugins)\n"
            f"PYTHONPATH={shlex.quote(str(ROOT))} exec {shlex.quote(python)} -u -m "
            f"tests.engine_plugins.{module} \"$@\"\n")
        launcher.chmod(0o755)
    return bin_dir
