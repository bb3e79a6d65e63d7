"""Printing helpers shared by the commands (stdlib only: imported at start-up)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from provisioner.errors import Finding


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, sort_keys=False, default=str)
    sys.stdout.write("\n")


def print_findings(findings: Iterable[Finding]) -> None:
    for f in findings:
        print(f, file=sys.stderr)


def is_terminal(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 error`, `2 errors`: the noun in the number's grammatical number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
