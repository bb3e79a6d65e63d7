"""One spec file read within limits and parsed, its problems located by line and column.

Parsing uses libyaml's C loader; node positions are only computed (a second, slower
parse) for files that have problems, so a clean repository validates near parse speed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from provisioner.errors import Finding
from provisioner.model.display import DisplayNames, display_path, dotted, short
from provisioner.model.yaml_parse import (
    MAX_FINDINGS_PER_FILE,
    Ambiguous,
    SpecLoader,
    compose,
    describe_yaml11,
    walk,
)

MAX_FILE_BYTES = 1024 * 1024  # a tenant spec is well under 2 KiB
MAX_EXPANDED_VALUES = 100_000  # after expanding aliases; a tenant spec has about 40
# Lines plus commas (flow items) a spec file may have. A reseller file with a large catalog is
# a few hundred; the cap keeps a hostile 1 MiB file (130,000 duplicate keys) from costing
# seconds of node building before any rule runs.
MAX_ITEMS = 10_000


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
                self._root = compose(self.text)
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
        for _node, _path, entries in walk(root):
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
            was = describe_yaml11(amb.yaml11)
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
    loader = SpecLoader(source.text)
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
