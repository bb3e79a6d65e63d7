"""What the engine test modules do to their world: the spec repository under git as a
reseller keeps it, and `provisioner ... --format json` as CI runs it, every line it printed
kept for the secret scan at the end of each module."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.engine_world import World


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.pe", "commit", "-qm", message)


def init_repository(repo: Path) -> None:
    """The reseller's repository: on main, one commit, the stacks' settings files not in git
    (their secrets are encrypted, but the test's commits should show specs only)."""
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text("Pulumi.*.yaml\n")
    commit(repo, "the reseller's repository")


def run_json(world: World, outputs: list[str], *args: str) -> tuple[int, dict[str, Any]]:
    """Exit code and JSON report of `provisioner ARGS --format json`; what it printed is
    added to `outputs`."""
    proc = world.provisioner(*args, "--format", "json")
    outputs.extend([proc.stdout, proc.stderr])
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"provisioner {' '.join(args)} printed no JSON report "
                             f"(exit {proc.returncode}):\n{proc.stdout[-2000:]}\n"
                             f"{proc.stderr[-4000:]}") from None
    return proc.returncode, report


def shown(report: dict[str, Any]) -> str:
    """A report whole, for an assertion's message (pytest cuts a dict's repr short, and the
    failed stack's error is at its end)."""
    return json.dumps(report, indent=1, ensure_ascii=False)


def by_stack(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["stack"]: r for r in report["results"]}


def secret_leaks(world: World, outputs: list[str], more: frozenset[str] = frozenset()
                 ) -> dict[str, tuple[list[str], bool]]:
    """Each secret value of the run (and `more`) found in a state file, the repository,
    Pulumi's home or what the commands printed: its first characters -> (the files,
    printed?). Empty: none."""
    printed = "\n".join(outputs)
    assert printed, "no command output was captured"
    leaks = {}
    for value in sorted(world.every_secret() | more):
        files = world.files_holding(value, world.state_dir, world.repo,
                                    world.base / "pulumi-home")
        if files or value in printed:
            leaks[value[:6] + "…"] = ([str(f.relative_to(world.base)) for f in files],
                                      value in printed)
    return leaks


def signs_in(world: World, user: str, password: str, database: str | None = None) -> bool:
    """Whether the world's MariaDB takes this login (the app's, hyn's, a master user's)."""
    import pymysql

    try:
        world.server.connect(database, user=user, password=password).close()
    except pymysql.MySQLError:
        return False
    return True
