"""What the workflows ask of git before they trust a run: spec-only pull requests, and applies
that only move forward (the tip of the branch, never behind the last-applied marker)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from provisioner.errors import ProvisionerError
from provisioner.orchestrate.git_repo import Git, GitError

# git's modes (`git diff --raw`): a symbolic link and a gitlink (a submodule's commit)
SYMLINK: Final = "120000"
GITLINK: Final = "160000"
ZERO: Final = "000000"


class StaleRunError(ProvisionerError):
    """The run's commit is not the branch tip, or is behind what was applied already."""

    exit_code = 4


@dataclass(frozen=True)
class ReviewReason:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _spec_path(path: str) -> bool:
    parts = path.split("/")
    return (len(parts) == 2 and parts[0] == "tenants" and not parts[1].startswith(".")
            and parts[1].endswith((".yaml", ".yml")))


def review_reasons(root: Path, base: str, head: str) -> list[ReviewReason]:
    """Every change between `base` and `head` that is not a plain tenant spec file.

    `--no-renames`: with rename detection (git's default for `git diff` since 2.9,
    `diff.renames`) a file moved to `tenants/x.yaml` is reported by its new path only, so
    moving a program file there would delete code outside tenants/ unreviewed; without it the
    move is a deletion of the old path plus an addition. `--raw` gives both modes: a symbolic
    link (120000) could point a spec at any file of the checkout and a gitlink (160000) brings
    a submodule, so neither is a spec even under tenants/ (git-diff(1), "Raw output format")."""
    git = Git(root)
    git.verify(base, head)
    out = git.run("diff", "--raw", "--no-renames", "--no-ext-diff", "-z", base, head, "--")
    fields = out.split("\0")
    reasons: list[ReviewReason] = []
    i = 0
    while i + 1 < len(fields) and fields[i]:
        meta, path = fields[i], fields[i + 1]
        i += 2
        old_mode, new_mode = meta.lstrip(":").split(" ")[:2]
        modes = {old_mode, new_mode} - {ZERO}
        if not _spec_path(path):
            reasons.append(ReviewReason(path, "not a tenant spec (tenants/*.yaml)"))
        elif SYMLINK in modes:
            reasons.append(ReviewReason(path, "a symbolic link, not a spec file"))
        elif GITLINK in modes:
            reasons.append(ReviewReason(path, "a submodule, not a spec file"))
    return reasons


def _remote_commit(git: Git, remote: str, ref: str) -> str | None:
    """The commit `ref` names on `remote` now (a tag peeled), or None when it has no such ref."""
    proc = subprocess.run(["git", "ls-remote", "--exit-code", remote, ref, f"{ref}^{{}}"],
                          cwd=git.top, capture_output=True, text=True, check=False)
    if proc.returncode == 2:
        return None
    if proc.returncode != 0:
        raise GitError(f"git ls-remote {remote} {ref} failed: {proc.stderr.strip()}")
    found = dict(reversed(line.split("\t", 1)) for line in proc.stdout.splitlines() if line)
    return found.get(f"{ref}^{{}}") or found.get(ref)


def _is_ancestor(git: Git, older: str, newer: str) -> bool:
    proc = subprocess.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=git.top,
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise GitError(f"git merge-base {older[:12]} {newer[:12]} failed: "
                       f"{proc.stderr.strip()} (fetch the history: fetch-depth: 0)")
    return proc.returncode == 0


@dataclass(frozen=True)
class Forward:
    """A run that may apply: its commit is the tip; `marker` is the applied commit (or None)."""

    sha: str
    marker: str | None
    note: str


def require_forward(root: Path, sha: str, *, branch: str = "main",
                    marker_tag: str = "provisioner-applied", remote: str = "origin") -> Forward:
    """Refuse a run whose commit is no longer the tip of `branch` on `remote`, or whose commit
    the marker already contains (applying it would move the applied state backwards).

    Why this is needed: GitHub's "Re-run failed jobs" re-runs those jobs with the outputs of
    the jobs that are not re-run (docs.github.com, "Re-running workflows and jobs": "the
    re-run ... will use the same GITHUB_SHA ... outputs of jobs that are not re-run are kept"),
    so an old run's shards would apply its old commit after a newer run applied a newer one.
    A history rewritten by a force-push leaves the marker on no ancestor of the tip; that run
    is the tip, so it goes ahead and compares the applied tree with the new one directly
    (applied_base.choose_applied_base)."""
    git = Git(root)
    full = git.run("rev-parse", "--verify", f"{sha}^{{commit}}").strip()
    tip = _remote_commit(git, remote, f"refs/heads/{branch}")
    if tip is None:
        raise StaleRunError(f"{remote} has no branch {branch}: nothing to apply")
    if tip != full:
        raise StaleRunError(f"{full[:12]} is no longer the tip of {branch} ({tip[:12]}): a "
                            "newer run applies it; this run changes nothing")
    applied = _remote_commit(git, remote, f"refs/tags/{marker_tag}")
    if applied is None:
        return Forward(full, None, f"no {marker_tag} yet: first apply")
    if subprocess.run(["git", "cat-file", "-e", f"{applied}^{{commit}}"], cwd=git.top,
                      capture_output=True, check=False).returncode != 0:
        git.run("fetch", "--no-tags", "--quiet", remote,
                f"+refs/tags/{marker_tag}:refs/tags/{marker_tag}")
    if applied == full or _is_ancestor(git, applied, full):
        return Forward(full, applied, f"{marker_tag} {applied[:12]} is an ancestor")
    if _is_ancestor(git, full, applied):
        raise StaleRunError(f"{full[:12]} is behind {marker_tag} ({applied[:12]}): applying "
                            "it would move the applied state backwards")
    return Forward(full, applied, f"history rewritten: {marker_tag} {applied[:12]} is not an "
                                  "ancestor; trees compared directly")


def move_marker(root: Path, sha: str, *, branch: str = "main",
                marker_tag: str = "provisioner-applied", remote: str = "origin") -> Forward:
    """Move the marker to `sha` after `require_forward`, with a lease on the value it read: a
    marker moved by someone else in between makes the push fail instead of being overwritten
    (git-push(1) `--force-with-lease=<refname>:<expect>`; an empty expect means "must not
    exist yet")."""
    forward = require_forward(root, sha, branch=branch, marker_tag=marker_tag, remote=remote)
    git = Git(root)
    ref = f"refs/tags/{marker_tag}"
    if forward.marker == forward.sha:
        return forward
    git.run("push", "--quiet", f"--force-with-lease={ref}:{forward.marker or ''}", remote,
            f"{forward.sha}:{ref}")
    return forward
