"""A new tenant file committed on a new branch and pushed, with git's plumbing only: the
user's working tree, index and current branch are never touched.

The blob and tree go into the object store (`hash-object -w`; `read-tree` and `update-index`
on a temporary index named by GIT_INDEX_FILE; `write-tree`), the commit is `commit-tree` on
top of the remote's base branch, and it is pushed straight to the new branch's ref. The local
branch is created (`update-ref` with an empty old value: never over an existing one) only
after the push went through, so a refused push leaves no branch behind.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from provisioner.errors import ProvisionerError
from provisioner.safe_text import shorten

GIT_TIMEOUT: Final = 120.0
BRANCH_PREFIX: Final = "new-tenant/"


class GitError(ProvisionerError):
    """A git command failed; the message says which and what git said (credentials masked)."""


def _git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # a push never waits on a password prompt
    env.pop("GIT_INDEX_FILE", None)
    env.update(extra or {})
    return env


def git(cwd: Path, *args: str, stdin: bytes | None = None,
        env: dict[str, str] | None = None, what: str | None = None) -> str:
    """`git ARGS` in `cwd`; its stdout, or a GitError quoting its (masked) stderr."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True,
                              env=_git_env(env), timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took over {GIT_TIMEOUT:g} s; nothing was changed"
                       ) from None
    if done.returncode != 0:
        said = shorten(done.stderr.decode("utf-8", "replace"), 400) or (
            f"exit status {done.returncode}")
        raise GitError(f"{what or 'git ' + args[0]} failed: {said}")
    return done.stdout.decode("utf-8", "replace").strip()


def _ok(cwd: Path, *args: str) -> bool:
    try:
        git(cwd, *args)
    except GitError:
        return False
    return True


@dataclass(frozen=True)
class Target:
    """Where the pull request's branch goes: a git work tree, its remote and base branch."""

    toplevel: Path  # the work tree's top directory
    prefix: str  # the spec repository's directory inside it ("" or "specs/")
    remote: str
    base: str  # the branch the pull request is opened against

    def remote_url(self) -> str:
        return git(self.toplevel, "remote", "get-url", self.remote)


def find_target(spec_root: Path, remote: str, base: str | None) -> Target:
    """The git repository holding `spec_root`; its remote and base branch (default: the
    remote's default branch, else the current one). Refuses what cannot be pushed."""
    if not _ok(spec_root, "rev-parse", "--is-inside-work-tree"):
        raise GitError(f"{spec_root} is not inside a git work tree; the form commits the "
                       "tenant file on a new branch of the reseller's repository")
    top = Path(git(spec_root, "rev-parse", "--show-toplevel"))
    prefix = git(spec_root, "rev-parse", "--show-prefix")
    if remote not in git(top, "remote").split():
        raise GitError(f"no git remote named {remote!r} in {top} (choose one with --remote)")
    if base is None:
        head = ""
        if _ok(top, "symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD"):
            head = git(top, "symbolic-ref", "--short", f"refs/remotes/{remote}/HEAD")
        base = head.removeprefix(f"{remote}/") if head else git(
            top, "symbolic-ref", "--short", "HEAD", what="finding the current branch")
    if not _ok(top, "check-ref-format", "--branch", base):
        raise GitError(f"{base!r} is not a branch name")
    return Target(top, prefix, remote, base)


def author_defaults(target: Target) -> tuple[str, str]:
    """user.name and user.email from git config, or empty."""
    def value(key: str) -> str:
        try:
            return git(target.toplevel, "config", "--get", key)
        except GitError:
            return ""

    return value("user.name"), value("user.email")


def branch_name(subdomain: str) -> str:
    return f"{BRANCH_PREFIX}{subdomain}"


@dataclass(frozen=True)
class Proposal:
    """One new file for one new branch."""

    path: str  # relative to the spec repository (tenants/<subdomain>.yaml)
    text: str
    branch: str
    message: str
    author_name: str
    author_email: str


@dataclass(frozen=True)
class Published:
    commit: str
    base_commit: str
    branch: str
    path: str  # inside the git repository


def _refuse_existing(target: Target, proposal: Proposal, base_commit: str, path: str) -> None:
    top, branch = target.toplevel, proposal.branch
    if not _ok(top, "check-ref-format", "--branch", branch):
        raise GitError(f"{branch!r} is not a valid branch name")
    if _ok(top, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}"):
        raise GitError(f"branch {branch} already exists in {top}; a pull request for this "
                       "subdomain may be open already (delete the branch or choose another "
                       "subdomain)")
    remote_has = git(top, "ls-remote", "--heads", target.remote, f"refs/heads/{branch}",
                     what=f"asking {target.remote} for its branches")
    if remote_has:
        raise GitError(f"branch {branch} already exists on {target.remote}; a pull request "
                       "for this subdomain may be open already")
    if _ok(top, "cat-file", "-e", f"{base_commit}:{path}"):
        raise GitError(f"{path} already exists on {target.remote}/{target.base}; the form "
                       "never replaces a tenant")


def publish(target: Target, proposal: Proposal) -> Published:
    """Commit `proposal.text` at `proposal.path` on a new branch off the remote's base and
    push it. Every refusal (branch or file exists, base missing) comes before the push; a
    refused push leaves nothing but unreachable objects (git gc removes them)."""
    top = target.toplevel
    git(top, "fetch", "--quiet", "--no-tags", target.remote, f"refs/heads/{target.base}",
        what=f"fetching {target.base} from {target.remote}")
    base_commit = git(top, "rev-parse", "--verify", "FETCH_HEAD^{commit}")
    path = f"{target.prefix}{proposal.path}"
    _refuse_existing(target, proposal, base_commit, path)
    blob = git(top, "hash-object", "-w", "--stdin", stdin=proposal.text.encode("utf-8"))
    with tempfile.TemporaryDirectory(prefix="provisioner-form-") as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(top, "read-tree", base_commit, env=index)
        git(top, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
        tree = git(top, "write-tree", env=index)
    who = {"GIT_AUTHOR_NAME": proposal.author_name, "GIT_AUTHOR_EMAIL": proposal.author_email,
           "GIT_COMMITTER_NAME": proposal.author_name,
           "GIT_COMMITTER_EMAIL": proposal.author_email}
    commit = git(top, "commit-tree", tree, "-p", base_commit, "-F", "-",
                 stdin=proposal.message.encode("utf-8"), env=who)
    git(top, "push", "--quiet", "--porcelain", target.remote,
        f"{commit}:refs/heads/{proposal.branch}",
        what=f"pushing {proposal.branch} to {target.remote} (the push was refused; no branch "
             "was created)")
    # only now the local branch, never over one made meanwhile (empty old value)
    git(top, "update-ref", "-m", "provisioner form", f"refs/heads/{proposal.branch}", commit, "",
        what=f"creating the local branch {proposal.branch}")
    return Published(commit, base_commit, proposal.branch, path)


def withdraw(target: Target, published: Published) -> list[str]:
    """Undo `publish` (the pull request could not be opened): delete the pushed branch and
    the local one. Returns what could not be undone, to be said."""
    left: list[str] = []
    try:
        git(target.toplevel, "push", "--quiet", target.remote,
            f"--force-with-lease=refs/heads/{published.branch}:{published.commit}",
            f":refs/heads/{published.branch}")
    except GitError as exc:
        left.append(f"the branch {published.branch} on {target.remote} ({exc})")
    try:
        git(target.toplevel, "update-ref", "-d", f"refs/heads/{published.branch}",
            published.commit)
    except GitError as exc:
        left.append(f"the local branch {published.branch} ({exc})")
    return left
