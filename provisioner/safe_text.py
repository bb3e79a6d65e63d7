"""Text that came from outside (spec files, file names, SUNAT's answers, lookup services) made
safe to store and to print.

One rule each, used everywhere:
- `printable_problem`: names and other free text hold no control, format, private-use,
  unassigned or line-separator characters (NUL, ESC, CR, U+2028, U+202E...): they break
  `tenant.env`, terminals and logs, and never belong in a company name.
- `escape_controls`: anything user-controlled that is printed goes through it, keys and file
  names included, so a value can neither start a new log line (`::error ...` GitHub workflow
  commands) nor send a terminal control sequence.
- `shorten`: a foreign message is redacted FIRST, then escaped, whitespace-normalised and cut:
  normalising or cutting first can turn a secret into a form the redactor no longer finds.
- `redact_userinfo`: `scheme://user:password@host` loses its `user:password@`.
- `shell_quote`, `command_line`: a command printed for the user to paste, each word quoted
  (`shlex.quote`; a word with a newline or another unprintable character as bash's `$'...'`,
  so the line stays one line and pastes as the same word).

Stdlib only: imported by `provisioner.errors`, which the CLI loads at start-up.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Callable
from typing import Final

# Unicode general categories that are never part of printable text: Cc control, Cf format
# (bidi overrides, zero-width), Cs surrogate, Co private use, Cn unassigned, Zl/Zp line and
# paragraph separators (U+2028/U+2029 end a line for many readers).
UNPRINTABLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

_USERINFO: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s@]*@")


def unprintable_chars(text: str) -> list[str]:
    """The characters of `text` that printable text may not hold, in order of appearance."""
    if text.isprintable():  # fast path: str.isprintable already excludes all but Zs spaces
        return []
    return [c for c in text if unicodedata.category(c) in UNPRINTABLE_CATEGORIES
            or (not c.isprintable() and c != " " and unicodedata.category(c) != "Zs")]


def printable_problem(text: str) -> str | None:
    """Why `text` is not printable text (naming the first bad character), or None."""
    bad = unprintable_chars(text)
    if not bad:
        return None
    first = bad[0]
    name = unicodedata.name(first, "") or unicodedata.category(first)
    return (f"contains a control or invisible character (U+{ord(first):04X} {name}) at "
            f"position {text.index(first) + 1}; names and text fields must be printable")


_NAMED_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(c: str) -> str:
    named = _NAMED_ESCAPES.get(c)
    if named:
        return named
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000
                                                  else f"\\U{code:08x}")


def escape_controls(text: str) -> str:
    """`text` with every unprintable character written as a backslash escape (\\n, \\x1b,
    \\u2028) and a backslash kept as is; printable text (accents, ñ) is unchanged."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else _escape_char(c) for c in text)


def safe_line(text: str) -> str:
    """One printable line that cannot be read as a GitHub workflow command (those start a line
    with `::`); for anything printed whole on its own line."""
    text = escape_controls(text)
    return f" {text}" if text.startswith("::") else text


def redact_userinfo(text: str) -> str:
    """`https://user:pass@host/...` → `https://***@host/...`, anywhere in `text`."""
    if "@" not in text:
        return text
    return _USERINFO.sub(r"\1***@", text)


def shorten(text: str | None, limit: int = 200,
            redact: Callable[[str], str] | None = None) -> str:
    """A foreign message fit to print: redacted, then escaped, whitespace-collapsed and cut to
    `limit` characters, in that order."""
    text = text or ""
    if redact is not None:
        text = redact(text)
    text = redact_userinfo(text)
    text = " ".join(text.split())  # before escaping: newlines and tabs become one space
    text = escape_controls(text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def shell_quote(word: str) -> str:
    """`word` as one shell word: `shlex.quote`, or `$'...'` with backslash escapes when it holds
    a character a terminal would not show as itself (a newline would end the pasted command)."""
    if word.isprintable():
        return shlex.quote(word)
    body = "".join("\\\\" if c == "\\" else "\\'" if c == "'" else
                   (c if c.isprintable() else _bash_escape(c)) for c in word)
    return f"$'{body}'"


def _bash_escape(c: str) -> str:
    """bash's `$'...'` escapes: `\\xHH` is a byte, so only below 0x80; above, `\\u`/`\\U`
    (bash 4.2+, written in the locale's encoding: the character itself in UTF-8)."""
    code = ord(c)
    if code < 0x80:
        return _NAMED_ESCAPES.get(c) or f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def command_line(*words: str) -> str:
    """A command to print for pasting: each word quoted, URLs in it without credentials."""
    return " ".join(shell_quote(redact_userinfo(w)) for w in words)
