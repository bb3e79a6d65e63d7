"""docs/environment.md lists every environment variable the code names, and no stale one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the prefixes of the variables the code reads or sets for the engine
NAME = re.compile(r"^(PROVISIONER|PULUMI|AWS|XDG)_[A-Z0-9_]+$")


def _named_in_code() -> set[str]:
    """Every string constant of provisioner/ that is a variable name: read through
    os.environ/getenv directly or through a constant (`INDEX_ENV = "PROVISIONER_..."`)."""
    names = set()
    for path in (ROOT / "provisioner").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    NAME.match(node.value):
                names.add(node.value)
    return names


def _listed() -> set[str]:
    text = (ROOT / "docs" / "environment.md").read_text(encoding="utf-8")
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", text))


def test_every_variable_in_the_code_is_on_the_page() -> None:
    named = _named_in_code()
    assert len(named) > 20
    assert sorted(named - _listed()) == []


def test_every_provisioner_variable_on_the_page_is_in_the_code() -> None:
    stale = {n for n in _listed() if n.startswith("PROVISIONER_")} - _named_in_code()
    assert sorted(stale) == []
