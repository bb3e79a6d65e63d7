"""Which tenant stacks a change touches, from `git diff --name-status -M BASE...HEAD`.

Fast by construction: only the changed files' blobs are read (one `git cat-file --batch`
process), tenant files are never all parsed unless a catalog-only reseller edit needs to know
who is on the changed plans, modules or presets; "every tenant" comes from `git ls-tree`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final, Literal

from provisioner.collector import collector_paused
from provisioner.model.layout import RESELLER_FILENAMES, TENANTS_DIRNAME, YAML_SUFFIXES
from provisioner.orchestrate.git_repo import Git, GitError, parse_name_status
from provisioner.orchestrate.spec_blobs import parsed, reseller_catalog, subdomain_of

Action = Literal["up", "destroy"]
CATALOG_KEYS: Final = frozenset({"plans", "modules", "presets"})
TEMPLATES_DIRNAME: Final = "tenant_templates"
# Paths below the Pulumi project directory whose change can alter every tenant's resources.
PLATFORM_PREFIXES: Final = ("infra/", "provisioner/", f"{TEMPLATES_DIRNAME}/")
PLATFORM_FILES: Final = ("Pulumi.yaml", "Pulumi.yml", "pyproject.toml", "requirements.txt")


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
    head_reseller_data = parsed(next((blobs[s] for s in head_resellers if blobs.get(s)), None))
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
        old, new = parsed(blobs.get(f"{base}:{path}")), parsed(blobs.get(f"{head}:{path}"))
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
                before, after = reseller_catalog(old), reseller_catalog(new)
            except Exception:  # an invalid catalog: validation reports it; be conservative
                changeset.everything = f"reseller catalog changed: {path}"
                return
        tenant_paths = _tenant_paths(git, layout, head)
        texts = git.blobs([f"{head}:{p}" for p in tenant_paths])
        for p in tenant_paths:
            data = parsed(texts.get(f"{head}:{p}"))
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
