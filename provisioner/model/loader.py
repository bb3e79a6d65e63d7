"""Read tenant and reseller files and turn every problem into a located `Finding`.

Parsing uses libyaml's C loader; node positions are only computed (a second, slower
parse) for files that have problems, so a clean repository validates near parse speed.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

import yaml
from pydantic import BaseModel, ValidationError

from provisioner.collector import collector_paused
from provisioner.errors import Finding, SpecErrors, UsageError
from provisioner.model import crossfile
from provisioner.model.catalog import DEFAULT_MODULES, Catalog, build_catalog
from provisioner.model.layout import (  # noqa: F401  (re-exported: the loader's callers)
    RESELLER_FILENAMES,
    SPEC_ROOT_ENV,
    TENANTS_DIRNAME,
    YAML_SUFFIXES,
    find_root,
    repository_root,
)
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.model.rules import SECRET_HINT, close_matches, looks_like_secret_name
from provisioner.model.semantics import PathIssue, check_tenant
from provisioner.safe_text import redact_userinfo

MAX_FILE_BYTES = 1024 * 1024  # a tenant spec is well under 2 KiB

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Fallback(Exception):
    """The document uses a YAML feature the fast constructor leaves to PyYAML's."""


_TAG = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"
_BOOL, _INT, _FLOAT = _TAG + "bool", _TAG + "int", _TAG + "float"

# A plain scalar that YAML 1.1 (PyYAML) and YAML 1.2 (editors' schema checks, most other
# tools) read as different things: `yes`/`no`/`on`/`off`/`y`/`n` are booleans only in 1.1,
# `0755` is octal only in 1.1, `1_000`, `0b101` and `1:30` are numbers only in 1.1. The loader
# reads them as the text they are and reports them (see `ambiguity_findings`).
_SAME_IN_YAML12: Final = {
    _BOOL: re.compile(r"true|True|TRUE|false|False|FALSE"),
    _INT: re.compile(r"[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+"),
    _FLOAT: re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"),
}


_YAML11_YN: Final = {"y": True, "Y": True, "n": False, "N": False}


@dataclass(frozen=True)
class Ambiguous:
    """A plain scalar read as text that YAML 1.1 would have read as `yaml11` (a bool or number)."""

    path: tuple[str | int, ...]
    text: str
    yaml11: Any
    is_key: bool


class _SpecLoader(_Loader):  # type: ignore[misc,valid-type]
    """The C loader, with two changes.

    Duplicate keys are recorded: PyYAML silently keeps the last one, which hides an edit gone
    wrong (two `plan:` lines, the first one forgotten).

    Plain documents (strings, numbers, booleans, nulls, lists and mappings; no anchors, tags or
    merge keys) are built by a direct walk of the node tree: PyYAML's generic constructor is
    half of the parse time and alone would put `validate` over 1.5x the parse floor. Anything
    else takes PyYAML's own constructor, so the result is always what `yaml.safe_load` gives.
    """

    _SCALARS: ClassVar[dict[str, Any]] = {
        _TAG + "int": _Loader.construct_yaml_int,
        _TAG + "bool": _Loader.construct_yaml_bool,
        _TAG + "null": _Loader.construct_yaml_null,
        _TAG + "float": _Loader.construct_yaml_float,
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, yaml.Mark, yaml.Mark]] = []
        self._seen: set[int] = set()
        self.ambiguous_texts: dict[str, str] = {}  # plain scalar text -> its YAML 1.1 tag
        self.root: yaml.Node | None = None

    def get_single_data(self) -> Any:
        node = self.root = self.get_single_node()
        if node is None:
            return None
        try:
            return self._build(node)
        except (_Fallback, RecursionError):
            self.duplicates.clear()
            return self.construct_document(node)

    def _build(self, node: yaml.Node) -> Any:
        cls = node.__class__
        if cls is yaml.ScalarNode:
            if node.tag == _STR:
                return node.value
            make = self._SCALARS.get(node.tag)
            if make is None:
                raise _Fallback
            return make(self, node)
        if id(node) in self._seen:  # an alias: PyYAML shares the object; let it
            raise _Fallback
        self._seen.add(id(node))
        if cls is yaml.SequenceNode and node.tag == _SEQ:
            return [self._build(child) for child in node.value]
        if cls is yaml.MappingNode and node.tag == _MAP:
            out: dict[Any, Any] = {}
            firsts: dict[Any, yaml.Node] | None = None
            for k, v in node.value:
                if k.__class__ is not yaml.ScalarNode:
                    raise _Fallback
                key = self._build(k)
                if key in out:
                    if firsts is None:  # once per mapping: thousands of duplicates stay linear
                        firsts = {}
                        for k2, _ in node.value:
                            if k2.__class__ is yaml.ScalarNode:  # others: _Fallback later
                                firsts.setdefault(self._build(k2), k2)
                    self.duplicates.append((k.value, k.start_mark, firsts[key].start_mark))
                out[key] = self._build(v)
            return out
        raise _Fallback

    # plain scalar -> (implicit tag, its YAML 1.1 tag when that differs), shared by all files
    _resolved: ClassVar[dict[str, tuple[str, str | None]]] = {}

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        """PyYAML's resolver with YAML 1.2's reading of the scalars where 1.1 differs (text),
        memoized for plain scalars: keys and enum values repeat across thousands of files, and
        the regex tests cost a tenth of the parse."""
        if kind is not yaml.ScalarNode or not implicit[0]:
            return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]
        found = self._resolved.get(value)
        if found is None:
            # y/n are YAML 1.1 booleans too, though PyYAML leaves them text
            tag = _BOOL if value in _YAML11_YN else super().resolve(kind, value, implicit)
            same = _SAME_IN_YAML12.get(tag)
            found = (_STR, tag) if same is not None and not same.fullmatch(value) else (tag, None)
            if len(value) < 64 and len(self._resolved) < 10_000:
                self._resolved[value] = found
        if found[1] is not None:
            self.ambiguous_texts[value] = found[1]
        return found[0]

    def ambiguous(self) -> list[Ambiguous]:
        """Where the plain scalars YAML 1.1 reads differently are, found in one walk."""
        if not self.ambiguous_texts or self.root is None:
            return []
        texts = self.ambiguous_texts
        out: list[Ambiguous] = []

        def check(node: yaml.Node, path: tuple[str | int, ...], is_key: bool) -> None:
            if (node.__class__ is yaml.ScalarNode and not node.style  # plain: None or ""
                    and node.tag == _STR and node.value in texts):
                out.append(Ambiguous(path, node.value, _yaml11_value(node.value), is_key))

        for node, path, entries in _walk(self.root):
            if len(out) > MAX_FINDINGS_PER_FILE:
                break
            for key, value, child in entries:
                if key is not None:
                    check(key, child, True)
                check(value, child, False)
            if path == () and not entries:
                check(node, (), False)
        return sorted(out, key=lambda a: (str(a.path), a.is_key))

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        pairs = node.value
        if len(pairs) > 1:  # before merge keys (<<) are flattened in: those may override
            seen: dict[str, yaml.Mark] = {}
            for key, _ in pairs:
                if isinstance(key, yaml.ScalarNode):
                    first = seen.setdefault(key.value, key.start_mark)
                    if first is not key.start_mark:
                        self.duplicates.append((key.value, key.start_mark, first))
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


MAX_EXPANDED_VALUES = 100_000  # after expanding aliases; a tenant spec has about 40
MAX_FINDINGS_PER_FILE = 50
# Lines plus commas (flow items) a spec file may have. A reseller file with a large catalog is
# a few hundred; the cap keeps a hostile 1 MiB file (130,000 duplicate keys) from costing
# seconds of node building before any rule runs.
MAX_ITEMS = 10_000


def _walk(root: yaml.Node) -> Iterator[tuple[yaml.Node, tuple[str | int, ...], list[
        tuple[yaml.Node | None, yaml.Node, tuple[str | int, ...]]]]]:
    """Each node below `root` once (an alias is walked where first met), depth first, with its
    path and its entries: (key node or None in a sequence, value node, the entry's path)."""
    stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        entries: list[tuple[yaml.Node | None, yaml.Node, tuple[str | int, ...]]] = []
        if isinstance(node, yaml.MappingNode):
            entries = [(k, v, (*path, k.value if isinstance(k, yaml.ScalarNode) else "?"))
                       for k, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            entries = [(None, v, (*path, i)) for i, v in enumerate(node.value)]
        yield node, path, entries
        stack.extend((value, child) for _key, value, child in entries)


def _yaml11_value(text: str) -> Any:
    """What YAML 1.1 makes of a plain scalar, for messages."""
    if text in _YAML11_YN:
        return _YAML11_YN[text]
    try:
        return yaml.load(text, Loader=_Loader)
    except Exception:  # only called on scalars PyYAML already resolved as bool or number
        return text


def _describe11(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def expanded_size(data: Any, limit: int = MAX_EXPANDED_VALUES) -> int | None:
    """How many values `data` holds once YAML aliases are expanded (saturating just above
    `limit`), or None when an alias makes it contain itself. Shared containers are counted
    once per reference but walked once, so an alias bomb costs its size in the file, not its
    expansion."""
    memo: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        obj, done = stack.pop()
        children = list(obj.values()) if isinstance(obj, dict) else obj
        oid = id(obj)
        if done:
            total = len(children) + sum(memo[id(c)] for c in children
                                        if isinstance(c, (dict, list)))
            memo[oid] = min(total, limit + 1)
            continue
        if oid in memo:
            continue
        if oid in entered:
            return None
        entered.add(oid)
        stack.append((obj, True))
        stack.extend((c, False) for c in children
                     if isinstance(c, (dict, list)) and id(c) not in memo)
    return memo.get(id(data), 0)


class Source:
    """One file's text, with positions of its YAML nodes computed on first need."""

    # `validate` keeps one per tenant file and reads them again after the parse (the rules,
    # the index): slots keep each one compact, its fields in the object itself
    __slots__ = ("_name", "_names", "_path", "_root", "ambiguous", "duplicates", "file", "stat",
                 "text", "unreported")

    def __init__(self, path: Path | str, text: str, name: str | None = None,
                 names: DisplayNames | None = None) -> None:
        # the path as a string; a Path made on first need (10,000 of them cost 2.5% of
        # `validate`, which only opens each file)
        self.file = os.fspath(path)
        self._path = path if isinstance(path, Path) else None
        self.text = text
        self._root: yaml.Node | bool | None = False
        self._name = name  # display_path(path), when the caller knows it already
        self._names = names  # else the memo that works it out for a load's many files
        self.duplicates: list[tuple[str, yaml.Mark, yaml.Mark]] = []
        self.ambiguous: list[Ambiguous] = []
        self.unreported = 0  # problems counted but not turned into findings (over the cap)
        # (mtime_ns, ctime_ns, size, inode) before it was read: the index cache's key
        self.stat: tuple[int, int, int, int] | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = Path(self.file)
        return self._path

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = display_path(self.file) if self._names is None else self._names(
                self.file)
        return self._name

    def _node(self) -> yaml.Node | None:
        if self._root is False:
            try:
                self._root = yaml.compose(self.text, Loader=_Loader)
            except Exception:  # any parse failure means "no positions"
                self._root = None
        return self._root  # type: ignore[return-value]

    def locate(self, loc: Sequence[str | int], key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at `loc` (of its key when `key`), or of the
        deepest existing parent when the path does not exist."""
        node = self._node()
        if node is None:
            return 1, 1
        mark = node.start_mark
        for n, part in enumerate(loc):
            last = n == len(loc) - 1
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        mark = k.start_mark if key and last else v.start_mark
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

    def path_of_key(self, mark: yaml.Mark) -> tuple[str | int, ...]:
        """The path of the mapping key that starts at `mark` (walks each node once)."""
        return self.paths_of_keys([mark]).get(mark.index, ())

    def paths_of_keys(self, marks: Sequence[yaml.Mark]) -> dict[int, tuple[str | int, ...]]:
        """The paths of the mapping keys that start at `marks`, by mark index, in one walk."""
        wanted = {m.index for m in marks}
        found: dict[int, tuple[str | int, ...]] = {}
        root = self._node()
        if root is None:
            return found
        for _node, _path, entries in _walk(root):
            if len(found) >= len(wanted):
                break
            for key, _value, child in entries:
                if key is not None and key.start_mark.index in wanted:
                    found.setdefault(key.start_mark.index, child)
        return found

    def finding(self, loc: Sequence[str | int], message: str, severity: str = "error",
                key: bool = False) -> Finding:
        line, column = self.locate(loc, key=key)
        return Finding(self.name, line, column, dotted(loc), message, severity)

    def duplicate_findings(self) -> list[Finding]:
        """The first duplicate keys as findings (the rest only counted): a hostile file with
        a million duplicates costs one walk, not one walk per duplicate."""
        shown = self.duplicates[:MAX_FINDINGS_PER_FILE + 1]
        self.unreported += len(self.duplicates) - len(shown)
        paths = self.paths_of_keys([mark for _, mark, _ in shown])
        return [
            Finding(self.name, mark.line + 1, mark.column + 1, dotted(paths.get(mark.index, ())),
                    f"duplicate key {short(key)} (first at line {first.line + 1}); YAML would "
                    "silently keep only this one")
            for key, mark, first in shown
        ]

    def ambiguity_findings(self, validated: BaseModel | None,
                           findings: list[Finding]) -> list[Finding]:
        """`findings` with each YAML-1.1-ambiguous scalar reported: an error where the value
        did not end up as text (a `yes` for a boolean, `0755` for a number), else a warning
        to quote it. Without a `validated` model, only where validation already failed."""
        if not self.ambiguous:
            return findings
        by_field = {f.field: i for i, f in enumerate(findings) if f.severity == "error"}
        out = list(findings)
        for amb in self.ambiguous:
            where = dotted(amb.path)
            was = _describe11(amb.yaml11)
            text = short(amb.text)
            if validated is None:
                if where in by_field and not amb.is_key:
                    out[by_field[where]] = self.finding(amb.path, _ambiguous_error(amb, was))
                continue
            value = _MISSING if amb.is_key else _value_at(validated, amb.path)
            if value is _MISSING and not amb.is_key:
                continue
            if amb.is_key or isinstance(value, str):
                out.append(self.finding(amb.path, (
                    f"{text} is read as text; YAML 1.1 tools read it as {was}: quote it "
                    f"('{amb.text}') to say it is text"), "warning", key=amb.is_key))
            else:
                out.append(self.finding(amb.path, _ambiguous_error(amb, was)))
        return out


_MISSING: Any = object()


def _value_at(obj: Any, path: Sequence[str | int]) -> Any:
    """The validated value at `path` (model fields, dict keys, list indexes), or _MISSING."""
    for part in path:
        if isinstance(obj, BaseModel) and isinstance(part, str):
            obj = getattr(obj, part, _MISSING) if part in type(obj).model_fields else _MISSING
        elif isinstance(obj, dict):
            obj = obj.get(part, _MISSING)
        elif isinstance(obj, list | tuple) and isinstance(part, int) and 0 <= part < len(obj):
            obj = obj[part]
        else:
            return _MISSING
    return obj


def _ambiguous_error(amb: Ambiguous, was: str) -> str:
    text = short(amb.text)
    if isinstance(amb.yaml11, bool):
        return (f"{text} is {was} in YAML 1.1 but text in YAML 1.2 (editors, other tools); "
                f"write {was}")
    return (f"{text} is the number {was} in YAML 1.1 (octal, binary, 1_000 or 1:30 forms) but "
            f"text in YAML 1.2; write the number in plain decimal, or quote it ('{amb.text}') "
            "if it is text such as a RUC")


def display_path(path: Path | str) -> str:
    """Relative to the working directory when below it, as editors and CI annotate.

    String operations only: resolving symlinks for each of 10,000 files cost 15% of `validate`.
    """
    full = os.path.abspath(path)
    cwd = os.getcwd()
    if full == cwd:
        return "."
    prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
    return _not_a_command(full[len(prefix):] if full.startswith(prefix) else str(Path(path)))


def _not_a_command(shown: str) -> str:
    """A shown path never starts a GitHub workflow command (`::error ...`)."""
    return f"./{shown}" if shown.startswith("::") else shown


class DisplayNames:
    """`display_path` for the many files of one load: each directory's shown form computed
    once (abspath and getcwd for each of 10,000 files cost 2.4% of `validate`)."""

    def __init__(self) -> None:
        self._dirs: dict[str, str] = {}

    def __call__(self, path: Path | str) -> str:
        head, sep, tail = os.fspath(path).rpartition(os.sep)
        if tail in ("", ".", "..") or (sep and not head.rstrip(os.sep)):  # rare: no memo
            return display_path(path)
        prefix = self._dirs.get(head)
        if prefix is None:
            shown = display_path(head)
            prefix = "" if shown == "." else shown if shown.endswith(os.sep) else shown + os.sep
            self._dirs[head] = prefix
        return _not_a_command(prefix + tail)


def short(value: object, limit: int = 60) -> str:
    """repr() cut to `limit` characters: a message must not echo a megabyte of input. repr
    escapes control characters; a URL's `user:password@` is removed before the cut."""
    text = redact_userinfo(repr(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dotted(loc: Sequence[object]) -> str:
    out = ""
    for part in loc:
        text = str(part)
        if len(text) > 40:
            text = text[:39] + "…"
        out += f"[{text}]" if isinstance(part, int) else (f".{text}" if out else text)
    return out


def read_source(path: Path | str, shown: str | None = None,
                names: DisplayNames | None = None) -> Source | Finding:
    """The file's text, or a finding that says why it cannot be read as a spec; `shown`: the
    path as `display_path` shows it, if known; `names`: the memo that shows it, if any."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
            return Finding(display_path(path), 1, 1, "", "not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            return Finding(display_path(path), 1, 1, "", (
                f"file is {st.st_size:,} bytes; a spec file may be at most "
                f"{MAX_FILE_BYTES:,} bytes"))
        with open(path, "rb") as fh:
            data = fh.read(st.st_size + 1)  # not read(): a file growing meanwhile stays bounded
    except OSError as exc:
        return Finding(display_path(path), 1, 1, "",
                       f"cannot read file: {exc.strerror or exc}")
    if b"\x00" in data:
        wide = _wide_encoding(data)
        if wide:
            return Finding(display_path(path), 1, 1, "",
                           f"{wide} text, not UTF-8 (save the file as UTF-8)")
        return Finding(display_path(path), 1, 1, "", "binary file, not YAML text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Finding(display_path(path), line, 1, "",
                       "not UTF-8 text (save the file as UTF-8)")
    source = Source(path, text, shown, names)
    source.stat = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
    return source


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32 (Windows editors save "Unicode" so), by BOM or by the NUL bytes that
    ASCII characters leave in every other (or three of four) positions."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    sample = data[:4096]
    if len(sample) >= 8:
        quarters = [sample[i::4].count(0) / len(sample[i::4]) for i in range(4)]
        if sum(q > 0.9 for q in quarters) == 3:
            return "UTF-32"
        if max(sample[0::2].count(0) / len(sample[0::2]),
               sample[1::2].count(0) / len(sample[1::2])) > 0.6:
            return "UTF-16"
    return None


def _yaml_error(source: Source, exc: Exception) -> Finding:
    """A parse failure as a finding at the place libyaml stopped."""
    line, col, problem = 1, 1, ""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line, col = mark.line + 1, mark.column + 1
        problem = exc.problem or exc.context or ""
    elif isinstance(exc, yaml.reader.ReaderError):
        pos = min(max(exc.position, 0), len(source.text))
        line = source.text.count("\n", 0, pos) + 1
        col = pos - (source.text.rfind("\n", 0, pos) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character or " ")
        problem = f"{exc.reason} (character #x{char:04x})"
    elif isinstance(exc, RecursionError):
        problem = "nested too deeply"
    if not problem:
        problem = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return Finding(source.name, line, col, "", f"invalid YAML: {problem}")


def parse_mapping(source: Source) -> dict[str, Any] | Finding:
    """The file's top-level mapping, or the one finding that stops it being read. Duplicate
    keys are left in `source.duplicates` for the caller to report with the other findings."""
    items = source.text.count("\n") + source.text.count(",")
    if items > MAX_ITEMS:  # before libyaml builds ~20 us of nodes per item: a hostile file
        return Finding(source.name, 1, 1, "", (
            f"{items:,} lines or flow items; a spec file holds at most {MAX_ITEMS:,} (a tenant "
            "spec has about 30): remove the repeated or generated lines"))
    loader = _SpecLoader(source.text)
    try:
        data = loader.get_single_data()
    except Exception as exc:  # untrusted text: any failure is a parse error
        return _yaml_error(source, exc)
    finally:
        loader.dispose()
    source.duplicates = loader.duplicates
    source.ambiguous = loader.ambiguous()
    if data is None:
        return Finding(source.name, 1, 1, "", "file is empty")
    if not isinstance(data, dict):
        return Finding(source.name, 1, 1, "",
                       f"expected a mapping of fields, found {_kind(data)}")
    if "*" in source.text:  # only aliases can make a small file expand to a huge one
        size = expanded_size(data)
        if size is None:
            return Finding(source.name, 1, 1, "", "an alias (*name) refers to a value that "
                           "contains it; spec files cannot be recursive")
        if size > MAX_EXPANDED_VALUES:
            return Finding(source.name, 1, 1, "", (
                f"aliases (*name) expand this file to more than {MAX_EXPANDED_VALUES:,} values;"
                " a spec file is small, write its values out"))
    return data


def _kind(value: object) -> str:
    return {"str": "text", "list": "a list", "int": "a number", "float": "a number",
            "bool": "true/false"}.get(type(value).__name__, type(value).__name__)


def _model_at(model: type[BaseModel], loc: Sequence[object]) -> type[BaseModel] | None:
    """The nested model that validates the value at `loc`, if that value is a model."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return None
        ann = info.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return None
        current = nested[0]
    return current  # type: ignore[no-any-return]


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names valid where an unknown key was found, for 'did you mean'."""
    found = _model_at(model, loc[:-1])
    return list(found.model_fields) if found is not None else []


_SECRET_HINT = SECRET_HINT


def _error_finding(source: Source, model: type[BaseModel], err: Any) -> Finding:
    loc: tuple[Any, ...] = tuple(
        p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    if "[key]" in loc:  # a dict key failed its own rule (labels): point at the key
        return source.finding(tuple(p for p in loc if p != "[key]"), f"key {_message(err)}",
                              key=True)
    if kind == "extra_forbidden":
        name = str(loc[-1])
        if looks_like_secret_name(name):
            return source.finding(loc, f"unknown field: {_SECRET_HINT}", key=True)
        return source.finding(
            loc, f"unknown field{close_matches(name[:100], _fields_at(model, loc))}", key=True)
    if kind == "missing":
        return source.finding(loc, "required field is missing")
    if kind == "invalid_key":
        return source.finding(loc[:-1], f"keys must be field names (text), not {short(loc[-1])}")
    if loc and loc[-1] == "admin_password" and kind == "literal_error":
        return source.finding(loc, f"must be 'generate' or 'stack_secret'; {_SECRET_HINT}")
    if kind == "string_pattern_mismatch":
        return source.finding(loc, _message(err))
    if kind == "value_error":
        # A model-level rule ("ose_url is required ..."): name the field it is about.
        nested = _model_at(model, loc)
        first = msg.split(" ", 1)[0].strip("'")
        if nested is not None and first in nested.model_fields:
            return source.finding((*loc, first), msg)
    return source.finding(loc, msg)


def _message(err: Any) -> str:
    if err["type"] == "string_pattern_mismatch":
        return (f"{short(err.get('input'))} does not match the expected format "
                f"{err['ctx']['pattern']}")
    return str(err["msg"]).removeprefix("Value error, ")


def validation_findings(source: Source, model: type[BaseModel],
                        exc: ValidationError) -> list[Finding]:
    """Every error pydantic found, located in the file (the first MAX_FINDINGS_PER_FILE; the
    rest counted in `source.unreported` for the one "and N more" line `_capped` writes)."""
    errors = exc.errors(include_url=False)
    source.unreported += max(0, len(errors) - MAX_FINDINGS_PER_FILE)
    return [_error_finding(source, model, err) for err in errors[:MAX_FINDINGS_PER_FILE]]


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
        found = source.ambiguity_findings(
            None, findings + validation_findings(source, TenantSpec, exc))
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
            "no reseller file: create reseller.yaml (see examples/reseller.yaml)")))
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
