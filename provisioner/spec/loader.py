"""Read tenant and reseller files and turn every problem into a located `Finding`.

Parsing uses libyaml's C loader; node positions are only computed (a second, slower
parse) for files that have problems, so a clean repository validates near parse speed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from provisioner.errors import Finding, SpecErrors, UsageError
from provisioner.spec import crossfile
from provisioner.spec.catalog import Catalog, build_catalog
from provisioner.spec.models import ResellerSpec, TenantSpec
from provisioner.spec.rules import close_matches
from provisioner.spec.semantics import PathIssue, check_tenant

MAX_FILE_BYTES = 1024 * 1024  # a tenant spec is well under 2 KiB
RESELLER_FILENAMES = ("reseller.yaml", "reseller.yml")
TENANTS_DIRNAME = "tenants"
YAML_SUFFIXES = (".yaml", ".yml")

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Source:
    """One file's text, with positions of its YAML nodes computed on first need."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self._root: yaml.Node | bool | None = False

    @property
    def name(self) -> str:
        return display_path(self.path)

    def _node(self) -> yaml.Node | None:
        if self._root is False:
            try:
                self._root = yaml.compose(self.text, Loader=_Loader)
            except yaml.YAMLError:
                self._root = None
        return self._root  # type: ignore[return-value]

    def locate(self, loc: Sequence[str | int], key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at `loc` (of its key when `key`), or of the
        deepest existing parent when the path does not exist."""
        node = self._node()
        if node is None:
            return 1, 1
        mark = node.start_mark
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if str(k.value) == str(part):
                        mark = k.start_mark if key and part == loc[-1] else v.start_mark
                        node = v
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(
                    node.value):
                node = node.value[part]
                mark = node.start_mark
            else:
                break
        return mark.line + 1, mark.column + 1

    def finding(self, loc: Sequence[str | int], message: str, severity: str = "error",
                key: bool = False) -> Finding:
        line, column = self.locate(loc, key=key)
        return Finding(self.name, line, column, dotted(loc), message, severity)


def display_path(path: Path) -> str:
    """Relative to the working directory when below it, as editors and CI annotate."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_source(path: Path) -> Source | Finding:
    """The file's text, or a finding that says why it cannot be read as a spec."""
    name = display_path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return Finding(name, 1, 1, "", f"file is {size:,} bytes; a spec file may be at most "
                           f"{MAX_FILE_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as exc:
        return Finding(name, 1, 1, "", f"cannot read file: {exc.strerror or exc}")
    if b"\x00" in data:
        return Finding(name, 1, 1, "", "binary file, not YAML text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Finding(name, line, 1, "", "not UTF-8 text (save the file as UTF-8)")
    return Source(path, text)


def parse_mapping(source: Source) -> dict[str, Any] | Finding:
    try:
        data = yaml.load(source.text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        return Finding(source.name, line, col, "", f"invalid YAML: {problem}")
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return Finding(source.name, 1, 1, "", f"invalid YAML: {exc}")
    if data is None:
        return Finding(source.name, 1, 1, "", "file is empty")
    if not isinstance(data, dict):
        return Finding(source.name, 1, 1, "",
                       f"expected a mapping of fields, found {type(data).__name__}")
    return data


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names valid where an unknown key was found, for 'did you mean'."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        ann = info.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        current = nested[0]
    return list(getattr(current, "model_fields", {}))


def validation_findings(source: Source, model: type[BaseModel],
                        exc: ValidationError) -> list[Finding]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        kind = err["type"]
        msg = err["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            hint = close_matches(str(loc[-1]), _fields_at(model, loc))
            out.append(source.finding(loc, f"unknown field{hint}", key=True))
        elif kind == "missing":
            out.append(source.finding(loc, "required field is missing"))
        elif kind == "string_pattern_mismatch":
            value = err.get("input")
            out.append(source.finding(loc, f"{value!r} does not match the expected format "
                                      f"{err['ctx']['pattern']}"))
        else:
            out.append(source.finding(loc, msg))
    return out


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
        for t in self.tenants:
            if name in (t.spec.subdomain, str(t.source.path), t.source.path.stem):
                return t
        raise UsageError(f"no valid tenant named {name!r} in {self.root / TENANTS_DIRNAME}")


def load_reseller(path: Path) -> tuple[ResellerSpec | None, Catalog | None, list[Finding]]:
    source = read_source(path)
    if isinstance(source, Finding):
        return None, None, [source]
    data = parse_mapping(source)
    if isinstance(data, Finding):
        return None, None, [data]
    try:
        reseller = ResellerSpec.model_validate(data)
    except ValidationError as exc:
        return None, None, validation_findings(source, ResellerSpec, exc)
    try:
        catalog = build_catalog(reseller.plans, reseller.modules, reseller.presets)
    except ValidationError as exc:
        msgs = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        return reseller, None, [source.finding(("presets",), msgs)]
    return reseller, catalog, []


def load_tenant(path: Path, reseller: ResellerSpec | None,
                catalog: Catalog | None) -> tuple[LoadedTenant | None, list[Finding]]:
    source = read_source(path)
    if isinstance(source, Finding):
        return None, [source]
    return parse_tenant(source, reseller, catalog)


def parse_tenant(source: Source, reseller: ResellerSpec | None,
                 catalog: Catalog | None) -> tuple[LoadedTenant | None, list[Finding]]:
    data = parse_mapping(source)
    if isinstance(data, Finding):
        return None, [data]
    try:
        spec = TenantSpec.model_validate(data)
    except ValidationError as exc:
        return None, validation_findings(source, TenantSpec, exc)
    findings: list[Finding] = []
    if source.path.suffix in YAML_SUFFIXES and source.path.stem != spec.subdomain:
        findings.append(source.finding(("subdomain",), (
            f"the file must be named {spec.subdomain}.yaml (a tenant's file, stack and "
            f"subdomain share one name); it is {source.path.name}")))
    if reseller is not None and catalog is not None:
        findings += issue_findings(source, check_tenant(spec, reseller, catalog))
    has_errors = any(f.severity == "error" for f in findings)
    return (None if has_errors else LoadedTenant(source, spec)), findings


def find_root(start: Path) -> Path:
    """The nearest directory, from `start` up, holding a reseller file."""
    start = start.resolve()
    for candidate in [start, *start.parents]:
        if any((candidate / n).is_file() for n in RESELLER_FILENAMES):
            return candidate
    return start


def _reseller_path(root: Path) -> Path | None:
    for n in RESELLER_FILENAMES:
        if (root / n).is_file():
            return root / n
    return None


def _tenant_files(paths: Iterable[Path]) -> tuple[list[Path], list[Finding]]:
    files: list[Path] = []
    problems: list[Finding] = []
    for p in paths:
        if p.is_dir():
            found = sorted(
                Path(d) / f for d, _, names in os.walk(p) for f in names
                if f.endswith(YAML_SUFFIXES) and f not in RESELLER_FILENAMES)
            if not found:
                problems.append(Finding(str(p), 1, 1, "", "no tenant files (*.yaml) here"))
            files += found
        elif p.exists():
            if p.name not in RESELLER_FILENAMES:
                files.append(p)
        else:
            problems.append(Finding(str(p), 1, 1, "", "no such file or directory"))
    return files, problems


def load_repository(root: Path | None = None, paths: Sequence[Path] = ()) -> Repository:
    """Load the reseller file and tenants (all of `root/tenants/`, or just `paths`)."""
    root = find_root(root or (paths[0].parent if paths else Path.cwd()))
    reseller_path = _reseller_path(root)
    repo = Repository(root, reseller_path, None, None)
    if reseller_path is None:
        repo.findings.append(Finding(str(root), 1, 1, "", (
            "no reseller file: create reseller.yaml (see examples/reseller.yaml)")))
    else:
        repo.reseller, repo.catalog, found = load_reseller(reseller_path)
        repo.findings += found
        repo.files_checked += 1
    files, problems = _tenant_files(paths or [root / TENANTS_DIRNAME])
    repo.findings += problems
    for path in files:
        loaded, found = load_tenant(path, repo.reseller, repo.catalog)
        repo.files_checked += 1
        repo.findings += found
        if loaded is not None:
            repo.tenants.append(loaded)
    repo.findings += crossfile.check_repository(repo.tenants, repo.reseller, reseller_path)
    repo.findings.sort(key=lambda f: (f.file, f.line, f.column, f.field))
    return repo
