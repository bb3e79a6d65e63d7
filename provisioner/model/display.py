"""How findings show a file, a value and a field path: short, safe to print, as CI annotates."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from provisioner.safe_text import redact_userinfo


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
