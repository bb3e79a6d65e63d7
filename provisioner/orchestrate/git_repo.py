"""git as a subprocess: the blobs, listings and diffs of any revision, read without a checkout."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from provisioner.errors import ProvisionerError, UsageError

# Up to this many files are read as `REV:path`; more are read by object id (see Git.blobs).
DIRECT_READS: Final = 64


class GitError(ProvisionerError):
    """git failed; the message says what to check (a shallow clone, an unknown ref)."""


class Git:
    """A thin subprocess wrapper run at the repository's top level."""

    def __init__(self, cwd: Path) -> None:
        try:
            top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd,
                                 capture_output=True, text=True, check=False)
        except FileNotFoundError as exc:
            if shutil.which("git") is not None:  # git is there: the directory is not
                raise UsageError(f"{cwd}: no such directory") from exc
            raise UsageError("git is not installed; change detection needs it") from exc
        if top.returncode != 0:
            raise UsageError(f"{cwd} is not inside a git repository: change detection compares "
                             "commits (run `git init` or pass the repository with --repo)")
        self.top = Path(top.stdout.strip()).resolve()
        self._listings: dict[tuple[str, str], dict[str, str]] = {}

    def run(self, *args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=self.top, capture_output=True, check=False)
        if proc.returncode != 0:
            msg = proc.stderr.decode("utf-8", "replace").strip()
            raise GitError(f"git {' '.join(args[:3])} failed: {msg}")
        return proc.stdout.decode("utf-8", "surrogateescape")

    def verify(self, *refs: str) -> None:
        """Every ref names a commit (one `git rev-parse` when they all do)."""
        if not any(r.startswith("-") for r in refs):  # never read as options
            proc = subprocess.run(["git", "rev-parse", "--quiet",
                                   *(f"{r}^{{commit}}" for r in refs)],
                                  cwd=self.top, capture_output=True, check=False)
            if proc.returncode == 0:
                return
        for ref in refs:
            proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                                  cwd=self.top, capture_output=True, check=False)
            if proc.returncode != 0:
                raise UsageError(self._unknown(ref))

    def _unknown(self, ref: str) -> str:
        """Why `ref` names no commit, with what to do next."""
        head = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
                              cwd=self.top, capture_output=True, check=False)
        if head.returncode != 0:
            return ("nothing committed yet: change detection compares commits; commit the "
                    "repository first (git add -A && git commit -m 'tenant repository')")
        if ref.startswith("origin/"):
            return (f"unknown git revision {ref!r} (not pushed or not fetched yet): pass --base "
                    "REF (a branch, tag or commit, e.g. --base HEAD~1), or --all for every "
                    "tenant; in CI fetch it first, e.g. actions/checkout with fetch-depth: 0")
        return (f"unknown git revision {ref!r}: pass --base REF (a branch, tag or commit; in CI "
                "fetch it first, e.g. actions/checkout with fetch-depth: 0)")

    def prefix(self, path: Path) -> str:
        """`path` relative to the top level, as git spells it ("" or "dir/")."""
        try:
            rel = path.resolve().relative_to(self.top)
        except ValueError as exc:
            raise UsageError(f"{path} is outside the git repository {self.top}") from exc
        return "" if str(rel) == "." else f"{rel.as_posix()}/"

    def blobs(self, specs: Sequence[str]) -> dict[str, str | None]:
        """`REV:path` → text (None when absent), all through one `git cat-file --batch`.

        A file below the top level is read by its object id, found in one listing of its
        directory at that revision: `cat-file` resolving `REV:tenants/x.yaml` itself walks the
        directory's entries for every file, which at 10,000 tenants made reading them all
        quadratic. A few files are still read by path: listing a large directory
        costs more than resolving a handful of names in it."""
        if not specs:
            return {}
        by_id = len(specs) > DIRECT_READS
        names = [self._object_name(s) if by_id else s for s in specs]
        wanted = list(dict.fromkeys(n for n in names if n is not None))
        texts = self._cat(wanted)
        return {spec: (texts.get(name) if name is not None else None)
                for spec, name in zip(specs, names, strict=True)}

    def _object_name(self, spec: str) -> str | None:
        """The blob id of `REV:dir/file` (None when the file is absent at REV); a file at the
        top level keeps its `REV:path` name (the top tree is small)."""
        rev, sep, path = spec.partition(":")
        directory, slash, _name = path.rpartition("/")
        if not sep or not slash:
            return spec
        return self.listing(rev, directory).get(path)

    def listing(self, rev: str, directory: str) -> dict[str, str]:
        """path → blob id of the files directly in `directory` at `rev`, one `git ls-tree`
        per (rev, directory), cached for this Git's life."""
        key = (rev, directory)
        found = self._listings.get(key)
        if found is None:
            found = parse_ls_tree(self.run("ls-tree", "-z", "--full-tree", rev, "--",
                                           f"{directory}/"))
            self._listings[key] = found
        return found

    def tree(self, rev: str, directory: str) -> list[str]:
        """Every file below `directory` at `rev`."""
        return list(self.ids_below(rev, directory))

    def ids_below(self, rev: str, directory: str) -> dict[str, str]:
        """path → blob id of every file below `directory` at `rev` (one `git ls-tree -r`); the
        per-directory listings are kept, so reading these files next needs no other listing."""
        found = parse_ls_tree(self.run("ls-tree", "-r", "-z", "--full-tree", rev, "--",
                                       f"{directory}/"))
        listings: dict[tuple[str, str], dict[str, str]] = {(rev, directory): {}}
        for path, blob in found.items():
            listings.setdefault((rev, path.rpartition("/")[0]), {})[path] = blob
        for key, listing in listings.items():
            self._listings.setdefault(key, listing)
        return found

    def _cat(self, names: Sequence[str]) -> dict[str, str | None]:
        if not names:
            return {}
        proc = subprocess.run(["git", "cat-file", "--batch"], cwd=self.top, check=False,
                              input="".join(f"{n}\n" for n in names).encode(),
                              capture_output=True)
        if proc.returncode != 0:
            raise GitError(f"git cat-file failed: {proc.stderr.decode(errors='replace')}")
        out: dict[str, str | None] = {}
        data, pos = proc.stdout, 0
        for name in names:
            end = data.index(b"\n", pos)
            header = data[pos:end].decode("utf-8", "replace").split()
            pos = end + 1
            if len(header) < 3 or header[-1] in ("missing", "ambiguous"):
                out[name] = None
                continue
            size = int(header[2])
            out[name] = data[pos:pos + size].decode("utf-8-sig", "replace")
            pos += size + 1
        return out


def parse_ls_tree(out: str) -> dict[str, str]:
    """`git ls-tree -z` output → path → blob id (trees and submodules left out)."""
    found: dict[str, str] = {}
    for entry in out.split("\0"):
        meta, tab, path = entry.partition("\t")
        parts = meta.split()
        if tab and len(parts) == 3 and parts[1] == "blob":
            found[path] = parts[2]
    return found


def parse_name_status(out: str) -> list[tuple[str, str, str | None]]:
    """`git diff --name-status -z` → (status letter, path, new path for renames/copies)."""
    fields = out.split("\0")
    entries: list[tuple[str, str, str | None]] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        if status[0] in "RC":
            entries.append((status[0], fields[i + 1], fields[i + 2]))
            i += 3
        else:
            entries.append((status[0], fields[i + 1], None))
            i += 2
    return entries
