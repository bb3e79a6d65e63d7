"""Where an apply starts from: the last-applied marker tag, not the push event's `before`."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from provisioner.orchestrate.git_repo import Git

APPLIED_MARKER: Final = "provisioner-applied"


@dataclass(frozen=True)
class BaseChoice:
    """Where an apply starts from: the commit last applied in full (`base`, compared tree to
    tree with HEAD), or None when nothing was ever applied (every tenant)."""

    base: str | None
    reason: str


def choose_applied_base(spec_root: Path, marker: str = APPLIED_MARKER,
                        head: str = "HEAD") -> BaseChoice:
    """The last-applied marker (a tag the workflow moves only after every shard of an apply
    succeeded) instead of the push event's `before`, which is all zeros on a first push,
    unreachable after a force-push, and skips the commits of cancelled or failed runs.
    The tag keeps its commit reachable, so after a force-push the two trees are still compared
    directly (`direct=True` in `detect_changes`): what was applied against what is wanted."""
    git = Git(spec_root)
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet",
                           f"refs/tags/{marker}^{{commit}}"], cwd=git.top, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        return BaseChoice(None, f"no {marker} tag yet (first apply): every tenant")
    sha = proc.stdout.strip()
    ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", sha, head], cwd=git.top,
                              capture_output=True, check=False).returncode == 0
    return BaseChoice(sha, f"last applied {sha[:12]} ({marker})" + (
        "" if ancestor else "; history was rewritten since: trees compared directly"))
