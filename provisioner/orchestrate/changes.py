"""Which tenant stacks a change touches, from `git diff --name-status -M BASE...HEAD`.

Fast by construction: only the changed files' blobs are read (one `git cat-file --batch`
process), tenant files are never all parsed unless a catalog-only reseller edit needs to know
who is on the changed plans, modules or presets; "every tenant" comes from `git ls-tree`.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final, Literal

import yaml

from provisioner.collector import collector_paused
from provisioner.errors import ProvisionerError, UsageError
from provisioner.model.layout import RESELLER_FILENAMES, TENANTS_DIRNAME, YAML_SUFFIXES

Action = Literal["up", "destroy"]
CATALOG_KEYS: Final = frozenset({"plans", "modules", "presets"})
TEMPLATES_DIRNAME: Final = "tenant_templates"
# Paths below the Pulumi project directory whose change can alter every tenant's resources.
PLATFORM_PREFIXES: Final = ("infra/", "provisioner/", f"{TEMPLATES_DIRNAME}/")
PLATFORM_FILES: Final = ("Pulumi.yaml", "Pulumi.yml", "pyproject.toml", "requirements.txt")
# Up to this many files are read as `REV:path`; more are read by object id (see Git.blobs).
DIRECT_READS: Final = 64
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class GitError(ProvisionerError):
    """git failed; the message says what to check (a shallow clone, an unknown ref)."""


@dataclass(frozen=True)
class StackChange:
    """One stack to update or destroy, with the spec text at BASE and HEAD when known."""

    stack: str
    action: Action
    reason: str
    path: str | None = None
    old_path: str | None = None
    old_text: str | None = field(default=None, repr=False, compare=False)
    new_text: str | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, str]:
        return {"stack": self.stack, "action": self.action, "reason": self.reason}


@dataclass
class ChangeSet:
    base: str
    head: str
    changes: list[StackChange] = field(default_factory=list)
    everything: str | None = None  # why every tenant is affected, when it is

    def by_action(self, action: Action) -> list[StackChange]:
        return [c for c in self.changes if c.action == action]

    def get(self, stack: str) -> StackChange | None:
        return next((c for c in self.changes if c.stack == stack), None)

    def matrix(self) -> dict[str, list[dict[str, str]]]:
        """The shape a CI job matrix takes: `strategy.matrix: ${{ fromJSON(...) }}`."""
        return {"include": [{"stack": c.stack, "action": c.action} for c in self.changes]}


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
                raise UsageError(f"unknown git revision {ref!r}: pass --base REF (a branch, tag or "
                                 "commit; in CI fetch it first, e.g. actions/checkout with "
                                 "fetch-depth: 0)")

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
        quadratic (issue 12). A few files are still read by path: listing a large directory
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


def _load(text: str | None) -> Any:
    """The parsed text, None when absent or not YAML. Read only, never mutated: a change's text
    is asked for its subdomain, environment and catalog use by several callers, and parsing
    it once (cached by content) is what keeps a catalog edit at 10,000 tenants linear."""
    return None if text is None else _parse(text)


@functools.lru_cache(maxsize=1 << 17)
def _parse(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return None


def subdomain_of(text: str | None, path: str) -> str:
    """The subdomain a tenant file declares (falls back to the file name, which validation
    requires to match)."""
    data = _load(text)
    if isinstance(data, dict) and isinstance(data.get("subdomain"), str) and data["subdomain"]:
        return data["subdomain"].strip().lower()
    return PurePosixPath(path).stem.lower()


def environment_of(text: str | None) -> str | None:
    """soap.environment of a tenant file's text ("demo" when absent, as the model defaults)."""
    data = _load(text)
    if not isinstance(data, dict):
        return None
    soap = data.get("soap")
    env = soap.get("environment", "demo") if isinstance(soap, dict) else "demo"
    return str(env)


def acknowledges_demo_history(text: str | None) -> bool:
    data = _load(text)
    return isinstance(data, dict) and data.get("acknowledge_demo_history") is True


@dataclass
class _Layout:
    spec: str  # prefix of the spec root (reseller.yaml, tenants/)
    project: str  # prefix of the Pulumi project directory
    templates: tuple[str, ...] = ()

    def is_tenant(self, path: str) -> bool:
        if not path.startswith(f"{self.spec}{TENANTS_DIRNAME}/"):
            return False
        name = PurePosixPath(path).name
        return name.endswith(YAML_SUFFIXES) and name not in RESELLER_FILENAMES

    def is_reseller(self, path: str) -> bool:
        return path in {f"{self.spec}{n}" for n in RESELLER_FILENAMES}

    def platform_reason(self, path: str) -> str | None:
        roots = {self.spec, self.project}
        for root in roots:
            rel = path[len(root):] if path.startswith(root) else None
            if rel is None:
                continue
            if rel.startswith(PLATFORM_PREFIXES) or rel in PLATFORM_FILES:
                return f"platform change: {path}"
        if any(path.startswith(t) for t in self.templates):
            return f"template change: {path}"
        return None

    def stack_config(self, path: str) -> str | None:
        """`Pulumi.<stack>.yaml` next to Pulumi.yaml: that stack's own config."""
        if not path.startswith(self.project):
            return None
        rel = path[len(self.project):]
        parts = rel.split(".")
        if "/" not in rel and len(parts) == 3 and parts[0] == "Pulumi" and parts[2] in (
                "yaml", "yml"):
            return parts[1]
        return None


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


class _Collector:
    """Merges stack changes: `up` wins over `destroy` (the tenant still exists at HEAD)."""

    def __init__(self) -> None:
        self.changes: dict[str, StackChange] = {}

    def add(self, change: StackChange) -> None:
        current = self.changes.get(change.stack)
        if current is None or (current.action == "destroy" and change.action == "up"):
            if current is not None and current.old_text and change.old_text is None:
                change = StackChange(change.stack, change.action, change.reason, change.path,
                                     current.old_path, current.old_text, change.new_text)
            self.changes[change.stack] = change


def every_tenant(tenants: Iterable[tuple[str, Path, str]]) -> ChangeSet:
    """Every valid tenant as an `up`, for a first provisioning or a recovery: no diff, so no
    destroys and no demo-to-production transitions to detect. `tenants` are (stack, file, text).
    """
    changeset = ChangeSet("(none)", "working tree", everything="--all: every valid tenant")
    changeset.changes = [StackChange(stack, "up", "--all", path=str(path), new_text=text)
                         for stack, path, text in sorted(tenants)]
    return changeset


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


def detect_changes(spec_root: Path, base: str, head: str = "HEAD",
                   project_dir: Path | None = None, *, direct: bool = False) -> ChangeSet:
    """The stacks to up or destroy for the commits between `base` and `head`: from their merge
    base (a pull request's own changes), or with `direct` from `base`'s tree itself (the
    last-applied commit, which need not be an ancestor after a force-push)."""
    with collector_paused():  # a catalog edit parses every tenant: see provisioner.collector
        return _detect_changes(spec_root, base, head, project_dir, direct)


def _detect_changes(spec_root: Path, base: str, head: str, project_dir: Path | None,
                    direct: bool) -> ChangeSet:
    git = Git(spec_root)
    git.verify(base, head)
    layout = _Layout(git.prefix(spec_root), git.prefix(project_dir or spec_root))
    try:
        diff = git.run("diff", "--name-status", "-M", "-z", "--no-ext-diff",
                       f"{base}{'..' if direct else '...'}{head}")
    except GitError as exc:
        if "no merge base" not in str(exc):
            raise
        raise GitError(f"{base} and {head} have no common commit in this clone, so the change "
                       "cannot be computed: in a shallow clone fetch the history (`git fetch "
                       "--unshallow`, or actions/checkout with fetch-depth: 0)") from None
    entries = parse_name_status(diff)
    changeset = ChangeSet(base, head)

    reseller_paths = [p for e in entries for p in (e[1], e[2]) if p and layout.is_reseller(p)]
    head_resellers = [f"{head}:{layout.spec}{n}" for n in RESELLER_FILENAMES]
    wanted = []
    for status, old, new in entries:
        path_now = new or old
        if layout.is_tenant(old) and status != "A":
            wanted.append(f"{base}:{old}")
        if layout.is_tenant(path_now) and status != "D":
            wanted.append(f"{head}:{path_now}")
    for p in reseller_paths:
        wanted += [f"{base}:{p}", f"{head}:{p}"]
    blobs = git.blobs(list(dict.fromkeys([*wanted, *head_resellers])))
    head_reseller_data = _load(next((blobs[s] for s in head_resellers if blobs.get(s)), None))
    if isinstance(head_reseller_data, dict) and isinstance(
            head_reseller_data.get("templates_dir"), str):
        layout.templates = (f"{layout.spec}{head_reseller_data['templates_dir'].strip('/')}/",)

    found = _Collector()
    catalog_paths: list[str] = []
    for status, old, new in entries:
        if status in "RC" and new is not None:
            _rename(found, layout, blobs, base, head, status, old, new)
            continue
        if layout.is_tenant(old):
            if status == "D":
                text = blobs.get(f"{base}:{old}")
                found.add(StackChange(subdomain_of(text, old), "destroy", "tenant file removed",
                                      None, old, text, None))
            else:
                old_text = blobs.get(f"{base}:{old}") if status != "A" else None
                new_text = blobs.get(f"{head}:{old}")
                stack = subdomain_of(new_text, old)
                if old_text is not None and subdomain_of(old_text, old) != stack:
                    found.add(StackChange(subdomain_of(old_text, old), "destroy",
                                          "subdomain changed", None, old, old_text, None))
                    old_text = None
                reason = "tenant file added" if status == "A" else "tenant file changed"
                found.add(StackChange(stack, "up", reason, old, old if old_text else None,
                                      old_text, new_text))
            continue
        if layout.is_reseller(old):
            catalog_paths.append(old)
            continue
        stack = layout.stack_config(old)
        if stack is not None and status != "D":
            found.add(StackChange(stack, "up", f"stack config changed: {old}", None))
            continue
        reason = layout.platform_reason(old)
        if reason and changeset.everything is None:
            changeset.everything = reason

    if catalog_paths and changeset.everything is None:
        _catalog_change(found, changeset, git, layout, blobs, base, head, catalog_paths)
    if changeset.everything is not None:
        for path in _tenant_paths(git, layout, head):
            stack = PurePosixPath(path).stem.lower()
            if stack not in found.changes:
                found.add(StackChange(stack, "up", changeset.everything, path))
    changeset.changes = sorted(found.changes.values(), key=lambda c: (c.action, c.stack))
    return changeset


def _rename(found: _Collector, layout: _Layout, blobs: dict[str, str | None], base: str,
            head: str, status: str, old: str, new: str) -> None:
    old_is, new_is = layout.is_tenant(old), layout.is_tenant(new)
    old_text = blobs.get(f"{base}:{old}") if old_is else None
    new_text = blobs.get(f"{head}:{new}") if new_is else None
    old_stack = subdomain_of(old_text, old) if old_is else None
    new_stack = subdomain_of(new_text, new) if new_is else None
    if old_is and status == "R" and old_stack != new_stack:
        found.add(StackChange(old_stack or "", "destroy",
                              f"tenant file renamed to {new}" if new_is else "tenant file moved",
                              None, old, old_text, None))
    if new_is and new_stack:
        same = old_stack == new_stack
        found.add(StackChange(new_stack, "up", f"tenant file renamed from {old}" if same else (
            "tenant file copied" if status == "C" else "tenant file added (renamed)"),
            new, old if same else None, old_text if same else None, new_text))


def _tenant_paths(git: Git, layout: _Layout, head: str) -> list[str]:
    return [p for p in git.tree(head, f"{layout.spec}{TENANTS_DIRNAME}") if layout.is_tenant(p)]


def _catalog(data: dict[str, Any]) -> Any:
    from provisioner.model.catalog import ModuleDef, Plan, build_catalog

    return build_catalog([Plan.model_validate(p) for p in data.get("plans") or []],
                         [ModuleDef.model_validate(m) for m in data.get("modules") or []],
                         data.get("presets") or {})


def _changed(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def _entries(data: dict[str, Any], section: str, key: str) -> dict[str, Any] | None:
    """A catalog section as {name: entry} straight from the YAML (None when it is not a list
    of mappings with unique string names: then the models decide)."""
    items = data.get(section)
    if section == "presets":
        return dict(items or {}) if isinstance(items or {}, dict) else None
    items = items or []
    if not isinstance(items, list):
        return None
    out: dict[str, Any] = {}
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get(key), str)) or item[key] in out:
            return None
        out[item[key]] = item
    return out


def _raw_changes(old: dict[str, Any], new: dict[str, Any]
                 ) -> tuple[set[str], set[str], set[str]] | None:
    """The plans, modules and presets whose reseller entries differ, compared as parsed YAML:
    an entry added, removed or edited changes that name (a removed override falls back to the
    default, which differs too). Without the models, so `plan --list` starts without pydantic;
    a cosmetic edit (69 vs "69") counts as a change, which only previews one more stack."""
    found = []
    for section, key in (("plans", "name"), ("modules", "value"), ("presets", "")):
        before, after = _entries(old, section, key), _entries(new, section, key)
        if before is None or after is None:
            return None
        found.append(_changed(before, after))
    return found[0], found[1], found[2]


def _catalog_change(found: _Collector, changeset: ChangeSet, git: Git, layout: _Layout,
                    blobs: dict[str, str | None], base: str, head: str,
                    paths: Iterable[str]) -> None:
    """A reseller file edit that only touches plans/modules/presets affects only the tenants on
    them; anything else in the file (domain, platform, prefix) affects every tenant."""
    for path in paths:
        old, new = _load(blobs.get(f"{base}:{path}")), _load(blobs.get(f"{head}:{path}"))
        if not (isinstance(old, dict) and isinstance(new, dict)):
            changeset.everything = f"reseller file changed: {path}"
            return
        strip = lambda d: {k: v for k, v in d.items() if k not in CATALOG_KEYS}  # noqa: E731
        if strip(old) != strip(new):
            changeset.everything = f"reseller settings changed: {path}"
            return
        changed = _raw_changes(old, new)
        if changed is None:  # not the shape the models take: validation reports it
            changeset.everything = f"reseller catalog changed: {path}"
            return
        plans, modules, presets = changed
        if not (plans or modules or presets):
            continue
        before = after = None
        if modules:  # which modules a preset names: only the merged catalogs know
            try:
                before, after = _catalog(old), _catalog(new)
            except Exception:  # an invalid catalog: validation reports it; be conservative
                changeset.everything = f"reseller catalog changed: {path}"
                return
        tenant_paths = _tenant_paths(git, layout, head)
        texts = git.blobs([f"{head}:{p}" for p in tenant_paths])
        for p in tenant_paths:
            data = _load(texts.get(f"{head}:{p}"))
            why = _catalog_reason(data, plans, modules, presets, before, after)
            if why:
                text = texts.get(f"{head}:{p}")
                found.add(StackChange(subdomain_of(text, p), "up", why, p, new_text=text))


def _catalog_reason(data: Any, plans: set[str], modules: set[str], presets: set[str],
                    before: Any, after: Any) -> str | None:
    if not isinstance(data, dict):
        return "catalog changed (tenant file unreadable)"
    plan = data.get("plan")
    if isinstance(plan, str) and plan in plans:
        return f"plan {plan!r} changed"
    mods = data.get("modules") if isinstance(data.get("modules"), dict) else {"preset": "basico"}
    preset = mods.get("preset")
    if isinstance(preset, str) and preset in presets:
        return f"preset {preset!r} changed"
    if not modules or before is None or after is None:
        return None
    names: set[str] = set()
    if isinstance(mods.get("include"), list):
        names.update(map(str, mods["include"]))
    if isinstance(preset, str):
        names.update(before.presets.get(preset, []))
        names.update(after.presets.get(preset, []))
    for key in ("add", "remove"):
        if isinstance(mods.get(key), list):
            names.update(map(str, mods[key]))
    if isinstance(mods.get("levels"), dict):
        names.update(map(str, mods["levels"]))
    hit = sorted(names & modules)
    return f"module {hit[0]!r} changed" if hit else None
