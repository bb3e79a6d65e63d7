"""A spec repository loaded: reseller file, tenant files, rules between accounts, as findings."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provisioner.collector import collector_paused
from provisioner.doc_links import doc_url
from provisioner.errors import Finding, SpecErrors, UsageError
from provisioner.model import crossfile
from provisioner.model.catalog import DEFAULT_MODULES, Catalog, build_catalog
from provisioner.model.display import DisplayNames, display_path, short
from provisioner.model.layout import RESELLER_FILENAMES, TENANTS_DIRNAME, YAML_SUFFIXES, find_root
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.model.pydantic_findings import validation_findings
from provisioner.model.rules import close_matches
from provisioner.model.semantics import PathIssue, check_tenant, check_tenant_parts
from provisioner.model.yaml_parse import MAX_FINDINGS_PER_FILE
from provisioner.model.yaml_source import Source, parse_mapping, read_source


def _capped(source: Source, findings: list[Finding]) -> list[Finding]:
    """A file with thousands of problems is one problem: show the first ones and a count.
    Called once per file, on all of its findings."""
    total = len(findings) + source.unreported
    if total <= MAX_FINDINGS_PER_FILE:
        return findings
    kept = sorted(findings)[:MAX_FINDINGS_PER_FILE]
    return [*kept, Finding(source.name, kept[-1].line, kept[-1].column, "", (
        f"... and {total - len(kept):,} more problems in this file (not shown)"))]


def issue_findings(source: Source, issues: Iterable[PathIssue]) -> list[Finding]:
    return [source.finding(i.path, i.message, i.severity) for i in issues]


@dataclass
class LoadedTenant:
    source: Source
    spec: TenantSpec


@dataclass
class Repository:
    """Everything `validate` checked: the reseller file, its catalog, the valid tenants."""

    root: Path
    reseller_path: Path | None
    reseller: ResellerSpec | None
    catalog: Catalog | None
    tenants: list[LoadedTenant] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files_checked: int = 0
    tenant_files: int = 0  # every tenant file, valid or not: what counts against max_accounts
    # every loaded tenant file in the rules between accounts, valid or not
    members: list[crossfile.Member] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def raise_for_errors(self) -> None:
        if self.errors:
            raise SpecErrors(sorted(self.errors))

    def tenant(self, name: str) -> LoadedTenant:
        """A tenant by subdomain or by file path."""
        full = os.path.abspath(name)  # a file named relative to the working directory
        for t in self.tenants:
            if name in (t.spec.subdomain, str(t.source.path), t.source.path.stem) or (
                    full == os.path.abspath(t.source.path)):
                return t
        # the tenant exists but is invalid: its problems, not "no tenant" (exit 1, not 2)
        wanted = Path(name).stem if name.endswith(YAML_SUFFIXES) else name
        own = [f for f in self.errors
               if os.path.basename(f.file).rsplit(".", 1)[0] == wanted or f.file == name]
        if own:
            raise SpecErrors(sorted(own))
        raise UsageError(f"no valid tenant named {name!r} in {self.root / TENANTS_DIRNAME}")


def load_reseller(path: Path) -> tuple[ResellerSpec | None, Catalog | None, list[Finding]]:
    reseller, catalog, findings, _ = _load_reseller(path)
    return reseller, catalog, findings


def _load_reseller(path: Path) -> tuple[
        ResellerSpec | None, Catalog | None, list[Finding], Source | None]:
    source = read_source(path)
    if isinstance(source, Finding):
        return None, None, [source], None
    data = parse_mapping(source)
    if isinstance(data, Finding):
        return None, None, [data], source
    findings = source.duplicate_findings()
    try:
        reseller = ResellerSpec.model_validate(data)
    except ValidationError as exc:
        found = source.ambiguity_findings(
            None, findings + validation_findings(source, ResellerSpec, exc))
        return None, None, _capped(source, found), source
    findings = source.ambiguity_findings(reseller, findings)
    findings += _defined_twice(source, reseller)
    findings += _shared_in_the_app(source, reseller)
    known = {m.value for m in [*DEFAULT_MODULES, *reseller.modules]}
    for preset, values in reseller.presets.items():
        for i, value in enumerate(values):
            if value not in known:
                findings.append(source.finding(("presets", preset, i), (
                    f"unknown module {short(value)}{close_matches(value, known)}")))
    if any(f.severity == "error" for f in findings):
        return reseller, None, _capped(source, findings), source
    try:
        catalog = build_catalog(reseller.plans, reseller.modules, reseller.presets)
    except ValidationError as exc:
        msgs = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        return reseller, None, [*findings, source.finding(("presets",), msgs)], source
    return reseller, catalog, _capped(source, findings), source


def _defined_twice(source: Source, reseller: ResellerSpec) -> list[Finding]:
    """A plan or module named twice in the reseller file: the catalog would silently keep the
    last one."""
    out: list[Finding] = []
    for key, attr, what in (("plans", "name", "plan"), ("modules", "value", "module")):
        first: dict[str, int] = {}
        for i, item in enumerate(getattr(reseller, key)):
            name = getattr(item, attr)
            if name in first:
                out.append(source.finding((key, i, attr), (
                    f"{what} {short(name)} is defined twice (first at {key}[{first[name]}]); "
                    "give each one definition")))
            else:
                first[name] = i
    return out


def _shared_in_the_app(source: Source, reseller: ResellerSpec) -> list[Finding]:
    """Two modules with one app id (`modules.id`: "Guardar" would give the tenant's users the
    other module), or two plans with one label (onboarding finds the plan in the app's `plans`
    table by its label, compared as the app's collation compares: `same_name_key`), among the
    catalog the reseller's entries make with the defaults."""
    from provisioner.model.catalog import DEFAULT_PLANS

    out: list[Finding] = []
    reseller_modules = {m.value: i for i, m in enumerate(reseller.modules)}
    merged_modules = {m.value: m for m in [*DEFAULT_MODULES, *reseller.modules]}
    owner: dict[int, str] = {}
    for value, module in merged_modules.items():
        if module.app_id is None:
            continue
        first = owner.setdefault(module.app_id, value)
        if first != value:
            clash = value if value in reseller_modules else first
            if clash in reseller_modules:
                other = first if clash == value else value
                out.append(source.finding(("modules", reseller_modules[clash], "app_id"), (
                    f"app id {module.app_id} is also module {short(other)}'s; each module "
                    "has its own row in the app's modules table")))
    reseller_plans = {p.name: i for i, p in enumerate(reseller.plans)}
    merged_plans = {p.name: p for p in [*DEFAULT_PLANS, *reseller.plans]}
    labels: dict[str, str] = {}
    for name, plan in merged_plans.items():
        key = crossfile.same_name_key(plan.label or plan.name)
        first = labels.setdefault(key, name)
        if first != name:
            clash = name if name in reseller_plans else first
            if clash in reseller_plans:
                other = first if clash == name else name
                field = "label" if merged_plans[clash].label else "name"
                out.append(source.finding(("plans", reseller_plans[clash], field), (
                    f"plan {short(clash)} has the label of plan {short(other)} "
                    f"({short(plan.label or plan.name)}); the app finds a plan by its label, "
                    "so each needs its own")))
    return out


def check_templates_dir(root: Path, reseller: ResellerSpec,
                        source: Source | None) -> list[Finding]:
    """templates_dir names a directory inside the spec repository: templates outside it
    would be read from wherever the path leads (a symlink, `../..`) on every CI run."""
    if reseller.templates_dir is None:
        return []
    where = ("templates_dir",)
    base = root.resolve()
    target = (base / reseller.templates_dir).resolve()
    if not target.is_relative_to(base):
        message = "must be a directory inside the spec repository (no absolute path, `..` " \
                  "or symlink leading out of it)"
    elif not target.is_dir():
        message = f"{short(reseller.templates_dir)}: no such directory in the repository"
    else:
        return []
    if source is None:
        return [Finding(display_path(root), 1, 1, "templates_dir", message)]
    return [source.finding(where, message)]


def load_tenant(path: Path, reseller: ResellerSpec | None,
                catalog: Catalog | None) -> tuple[LoadedTenant | None, list[Finding]]:
    loaded, _, findings = load_tenant_keyed(path, reseller, catalog)
    return loaded, findings


def load_tenant_keyed(path: Path | str, reseller: ResellerSpec | None, catalog: Catalog | None,
                      shown: str | None = None
                      ) -> tuple[LoadedTenant | None, crossfile.Member | None, list[Finding]]:
    """A tenant file, and what it takes into the rules between accounts (None: it holds no
    readable mapping, so no subdomain, RUC or company name); `shown`: its display_path."""
    source = read_source(path, shown)
    if isinstance(source, Finding):
        return None, None, [source]
    return parse_tenant_keyed(source, reseller, catalog)


def parse_tenant(source: Source, reseller: ResellerSpec | None,
                 catalog: Catalog | None) -> tuple[LoadedTenant | None, list[Finding]]:
    """Validate one tenant file's text; every problem comes back as a Finding."""
    loaded, _, findings = parse_tenant_keyed(source, reseller, catalog)
    return loaded, findings


def parse_tenant_keyed(source: Source, reseller: ResellerSpec | None, catalog: Catalog | None
                       ) -> tuple[LoadedTenant | None, crossfile.Member | None, list[Finding]]:
    return _judge_tenant(source, _parse_tenant(source), reseller, catalog)


# A tenant file after the parse and the model: its spec, the mapping that failed the model
# (and why), or the one finding that stopped it being read as a mapping.
_Parsed = TenantSpec | tuple[dict[str, Any], ValidationError] | Finding


def _parse_tenant(source: Source) -> _Parsed:
    data = parse_mapping(source)
    if isinstance(data, Finding):
        return data
    try:
        return TenantSpec.model_validate(data)
    except ValidationError as exc:
        return data, exc


def _judge_tenant(source: Source, parsed: _Parsed, reseller: ResellerSpec | None,
                  catalog: Catalog | None
                  ) -> tuple[LoadedTenant | None, crossfile.Member | None, list[Finding]]:
    """Every rule of one file beyond its parse and model: the semantic rules, the file's
    name, YAML 1.1 ambiguities; and what it takes into the rules between accounts."""
    if isinstance(parsed, Finding):
        return None, None, [parsed]
    findings = source.duplicate_findings() if source.duplicates else []
    if isinstance(parsed, tuple):
        data, exc = parsed
        findings += validation_findings(source, TenantSpec, exc)
        if reseller is not None and catalog is not None:  # the rest of the file's problems too
            failed = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
            findings += issue_findings(source, check_tenant_parts(data, failed, reseller,
                                                                  catalog))
        found = source.ambiguity_findings(None, findings)
        member = crossfile.Member(crossfile.keys_of_data(data), source)
        return None, member, _capped(source, found)
    spec = parsed
    member = crossfile.Member(crossfile.keys_of_spec(spec), source)
    findings = source.ambiguity_findings(spec, findings)
    if not source.file.endswith(f"{os.sep}{spec.subdomain}.yaml"):  # else named as it must be
        findings += _misnamed(source, spec)
    if reseller is not None and catalog is not None and (
            issues := check_tenant(spec, reseller, catalog)):
        findings += issue_findings(source, issues)
    has_errors = any(f.severity == "error" for f in findings)
    return (None if has_errors else LoadedTenant(source, spec)), member, _capped(source, findings)


def _misnamed(source: Source, spec: TenantSpec) -> list[Finding]:
    """A tenant file whose name is not its subdomain's (a .yml is named so too)."""
    basename = source.file.rpartition(os.sep)[2]
    stem, _, suffix = basename.rpartition(".")
    if stem != spec.subdomain and stem and "." + suffix in YAML_SUFFIXES:  # as Path.stem
        return [source.finding(("subdomain",), (
            f"the file must be named {spec.subdomain}.yaml (a tenant's file, stack and "
            f"subdomain share one name); it is {short(basename)}"))]
    return []


def load_tenant_files(repo: Repository, paths: Iterable[Path | str]) -> list[crossfile.Member]:
    """Validate each tenant file into `repo` (its tenants, findings, count of files checked);
    returns what each file takes into the rules between accounts.

    Two passes: every file read, parsed and through the model first, then every file's other
    rules. Interleaved, the rules' code and data left the CPU's caches between files while
    libyaml and pydantic ran, and cost twice what they cost in one pass after (at 10,000
    tenants, ~10% of `validate`; bench/validate_bench.py)."""
    members: list[crossfile.Member] = []
    shown = DisplayNames()
    parsed: list[tuple[Source, _Parsed] | Finding] = []
    for path in paths:
        source = read_source(path, names=shown)
        parsed.append(source if isinstance(source, Finding)
                      else (source, _parse_tenant(source)))
    reseller, catalog = repo.reseller, repo.catalog
    for item in parsed:
        repo.files_checked += 1
        if isinstance(item, Finding):
            repo.findings.append(item)
            continue
        loaded, member, found = _judge_tenant(*item, reseller, catalog)
        repo.findings += found
        if loaded is not None:
            repo.tenants.append(loaded)
        if member is not None:
            members.append(member)
    return members


def tenant_keys(path: Path | str) -> crossfile.Keys | None:
    """What `load_tenant_keyed` gives the rules between accounts for this file, without
    validating the rest of it (the one-tenant commands' index of the other tenants)."""
    source = read_source(path)
    if isinstance(source, Finding):
        return None
    data = parse_mapping(source)
    return None if isinstance(data, Finding) else crossfile.keys_of_data(data)


def _reseller_name_findings(root: Path) -> list[Finding]:
    """reseller.yaml beside reseller.yml, or a reseller file in other letter case: one would
    be silently ignored."""
    try:
        names = [n for n in os.listdir(root) if n.lower() in RESELLER_FILENAMES]
    except OSError:
        return []
    out = []
    exact = [n for n in RESELLER_FILENAMES if n in names]
    if len(exact) > 1:
        out.append(Finding(display_path(root / exact[1]), 1, 1, "", (
            f"{exact[0]} and {exact[1]} both exist; only {exact[0]} is read: keep one")))
    for n in sorted(set(names) - set(exact)):
        out.append(Finding(display_path(root / n), 1, 1, "", (
            "not read: the reseller file must be named reseller.yaml (lower case)")))
    return out


def _wrong_case(name: str) -> bool:
    """x.YAML or x.Yml: a YAML file git and CI would carry but the loader would skip."""
    lowered = name.lower()
    return lowered.endswith(YAML_SUFFIXES) and not name.endswith(YAML_SUFFIXES) and (
        lowered not in RESELLER_FILENAMES)


def _files_below(top: str) -> list[os.DirEntry[str]]:
    """What os.walk(top) calls files, at any depth (a symlinked directory is neither listed
    nor followed, as os.walk's default; an unreadable directory is skipped). scandir's entries
    carry their path joined in C: os.walk and os.path.join for each name cost twice the
    floor's one listdir (bench/validate_bench.py)."""
    files: list[os.DirEntry[str]] = []
    pending = [top]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        files.append(entry)
                    elif not entry.is_symlink():
                        pending.append(entry.path)
        except OSError:
            continue
    return files


def _reseller_path(root: Path) -> Path | None:
    for n in RESELLER_FILENAMES:
        if (root / n).is_file():
            return root / n
    return None


def _tenant_files(paths: Sequence[Path], default: bool = False) -> tuple[
        list[str], list[Finding]]:
    """The tenant files under `paths` (as strings: see `Source`); `default`: the repository's
    own tenants/, which may be empty or absent (a new reseller's first pull request)."""
    files: list[str] = []
    problems: list[Finding] = []
    seen: set[str] = set()
    for p in paths:
        if default and not p.exists():
            continue
        if p.is_dir():
            found = []
            for entry in _files_below(os.fspath(p)):
                name = entry.name
                if name.endswith(YAML_SUFFIXES) and name not in RESELLER_FILENAMES:
                    found.append(entry.path)
                elif _wrong_case(name):
                    problems.append(Finding(display_path(entry.path), 1, 1, "", (
                        "not read: tenant files end in .yaml or .yml, in lower case; "
                        "rename it")))
            found.sort()
            if not found and not default:
                problems.append(Finding(display_path(p), 1, 1, "",
                                        "no tenant files (*.yaml, *.yml) here", "warning"))
        elif p.exists():
            if _wrong_case(p.name):
                problems.append(Finding(display_path(p), 1, 1, "", (
                    "not read: tenant files end in .yaml or .yml, in lower case; rename it")))
                continue
            found = [] if p.name in RESELLER_FILENAMES else [os.fspath(p)]
        else:
            problems.append(Finding(display_path(p), 1, 1, "", "no such file or directory"))
            continue
        if len(paths) == 1:  # one directory's walk, or one file: nothing named twice
            files = found
            continue
        for f in found:  # a file named twice, or inside a directory also named, counts once
            key = os.path.abspath(f)
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files, problems


def load_repository(root: Path | None = None, paths: Sequence[Path] = ()) -> Repository:
    """Load the reseller file and tenants (all of `root/tenants/`, or just `paths`).

    With `paths`, the repository's other tenants are still read so that the cross-file rules
    (unique subdomain, RUC and company name; max_accounts) see every account, but only the
    named files' own problems are reported."""
    with collector_paused():
        return _load_repository(root, paths)


def start_repository(root: Path) -> tuple[Repository, Source | None]:
    """A repository with its reseller file loaded and checked (name, model, catalog,
    templates_dir), no tenant yet; and the reseller file's source, for located findings."""
    reseller_path = _reseller_path(root)
    repo = Repository(root, reseller_path, None, None)
    reseller_source: Source | None = None
    repo.findings += _reseller_name_findings(root)
    if reseller_path is None:
        repo.findings.append(Finding(display_path(root), 1, 1, "", (
            "no reseller file: create reseller.yaml (`provisioner init` writes one; an example: "
            f"{doc_url('examples/reseller.yaml')})")))
    else:
        repo.reseller, repo.catalog, found, reseller_source = _load_reseller(reseller_path)
        repo.findings += found
        repo.files_checked += 1
        if repo.reseller is not None:
            repo.findings += check_templates_dir(root, repo.reseller, reseller_source)
    return repo, reseller_source


def _load_repository(root: Path | None, paths: Sequence[Path]) -> Repository:
    if root is not None:  # named explicitly (--repo): that directory, never a parent
        root = root.resolve()
    else:
        start = (paths[0] if paths[0].is_dir() else paths[0].parent) if paths else Path.cwd()
        root = find_root(start)
    repo, reseller_source = start_repository(root)
    reseller_path = repo.reseller_path
    tenants_dir = root / TENANTS_DIRNAME
    if not paths and tenants_dir.exists() and not tenants_dir.is_dir():
        files, problems = [], [Finding(display_path(tenants_dir), 1, 1, "", (
            f"{TENANTS_DIRNAME} must be a directory holding one <subdomain>.yaml per tenant"))]
    else:
        files, problems = _tenant_files(paths or [tenants_dir], default=not paths)
    repo.findings += problems
    members: list[crossfile.Member] = []
    started = time.time_ns()
    members += load_tenant_files(repo, files)
    accounts = len(files)
    if paths and tenants_dir.is_dir():
        named = {os.path.abspath(f) for f in files}
        for path in _tenant_files([tenants_dir])[0]:
            if os.path.abspath(path) not in named:  # only counted and named: not reported on
                accounts += 1
                keys = tenant_keys(path)
                if keys is not None:
                    members.append(crossfile.Member(keys, None, display_path(path)))
    repo.tenant_files = accounts
    repo.members = [m for m in members if m.source is not None]
    if not paths and files:  # what one-tenant commands need next: the index, warm
        from provisioner.model.index import save_loaded

        save_loaded(tenants_dir, repo.members, started)
    repo.findings += crossfile.check_repository(
        members, repo.reseller, reseller_path, reseller_source=reseller_source,
        account_count=accounts)
    repo.findings.sort(key=lambda f: (f.file, f.line, f.column, f.field))
    return repo
