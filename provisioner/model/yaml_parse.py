"""libyaml's C loader made strict: duplicate keys kept, YAML 1.1-only scalars read as text, fast."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FINDINGS_PER_FILE = 50  # findings shown for one file; the rest are only counted


class _Fallback(Exception):
    """The document uses a YAML feature the fast constructor leaves to PyYAML's."""


_TAG = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"
_BOOL, _INT, _FLOAT = _TAG + "bool", _TAG + "int", _TAG + "float"

# A plain scalar that YAML 1.1 (PyYAML) and YAML 1.2 (editors' schema checks, most other
# tools) read as different things: `yes`/`no`/`on`/`off`/`y`/`n` are booleans only in 1.1,
# `0755` is octal only in 1.1, `1_000`, `0b101` and `1:30` are numbers only in 1.1. The loader
# reads them as the text they are and reports them (yaml_source's `Source.ambiguity_findings`).
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


class SpecLoader(_Loader):  # type: ignore[misc,valid-type]
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

        for node, path, entries in walk(self.root):
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


def walk(root: yaml.Node) -> Iterator[tuple[yaml.Node, tuple[str | int, ...], list[
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


def describe_yaml11(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def compose(text: str) -> yaml.Node | None:
    """The node tree of `text` by the plain C loader (positions; raises on a parse failure)."""
    return yaml.compose(text, Loader=_Loader)
