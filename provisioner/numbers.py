"""Numbers people type (CLI flags, prompts, HOST:PORT) read as ASCII digits only.

`int()` and `str.isdigit()` also accept full-width (５８７), Arabic-Indic (٣) and other Unicode
digits, and `int()` takes `1_000` and surrounding whitespace: a port, a count or a RUC typed that
way would pass, then be written back in another spelling. Every numeric flag and prompt goes
through `parse_int` (argparse: `int_type`). Stdlib only: the CLI loads it at start-up.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Final

_INTEGER: Final = re.compile(r"-?[0-9]+")
_DECIMAL: Final = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
PORT_RANGE: Final = (1, 65535)


def is_ascii_digits(text: str, length: int | None = None) -> bool:
    """Only 0-9 (at least one), optionally exactly `length` of them."""
    return (bool(text) and text.isascii() and text.isdigit()
            and (length is None or len(text) == length))


def parse_int(text: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """`text` as a whole number written in ASCII digits (a leading `-` only when `minimum`
    allows negatives), within the bounds; ValueError with one readable reason otherwise."""
    if not isinstance(text, str) or not _INTEGER.fullmatch(text) or (
            text.startswith("-") and minimum is not None and minimum >= 0):
        raise ValueError(f"{text!r} is not a whole number in ASCII digits (0-9)")
    value = int(text)
    if minimum is not None and value < minimum:
        raise ValueError(f"{text} is below {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{text} is above {maximum}")
    return value


def parse_decimal(text: str) -> float:
    """`text` as a decimal number in ASCII digits (`1`, `0.5`, `.5`); `float()` alone also
    takes Unicode digits, `1_0`, `inf`, `nan` and exponents."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise ValueError(f"{text!r} is not a number in ASCII digits (0-9, one '.')")
    return float(text)


def parse_port(text: str) -> int:
    return parse_int(text, *PORT_RANGE)


def parse_address(value: str) -> tuple[str, int]:
    """`HOST:PORT` (the port in ASCII digits, 1-65535)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    try:
        return host, parse_port(port)
    except ValueError:
        raise ValueError(f"expected HOST:PORT with a port 1-65535 in ASCII digits, got "
                         f"{value!r}") from None


def int_type(minimum: int | None = None,
             maximum: int | None = None) -> Callable[[str], int]:
    """An argparse `type=` for a numeric flag."""
    def convert(text: str) -> int:
        try:
            return parse_int(text, minimum, maximum)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = "integer"  # argparse names it in "invalid integer value"
    return convert


def address_type(text: str) -> tuple[str, int]:
    try:
        return parse_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
