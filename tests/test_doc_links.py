"""Messages send an installed user to pages that exist: URLs built by doc_url, never a bare
`docs/...` or `examples/...` path, which an installed tool does not have beside it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from provisioner import __version__
from provisioner.doc_links import REPOSITORY, doc_url

ROOT = Path(__file__).resolve().parent.parent


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string constant but docstrings and doc_url's arguments (what a user is shown)."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    linked = {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call)
              and getattr(node.func, "id", None) == "doc_url" for arg in node.args}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docstrings | linked]


def test_no_message_points_at_a_path_of_the_checkout() -> None:
    bare = re.compile(r"(^|[\s(])(docs|examples|scripts)/[\w.-]+")
    found = []
    for path in sorted((ROOT / "provisioner").rglob("*.py")):
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if bare.search(text):
                found.append(f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}")
    assert found == []


def test_every_linked_page_and_heading_exists() -> None:
    links = []
    for path in (ROOT / "provisioner").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "doc_url":
                args = [a.value for a in node.args if isinstance(a, ast.Constant)]
                links.append((args[0], args[1] if len(args) > 1 else None))
    assert len(links) >= 8
    for page, section in links:
        assert (ROOT / page).is_file(), page
        if section:
            headings = [line.lstrip("#").strip() for line in
                        (ROOT / page).read_text(encoding="utf-8").splitlines()
                        if line.startswith("#")]
            assert section in headings, (page, section)


def test_the_url_is_the_versions_page_with_githubs_anchor() -> None:
    assert doc_url("docs/data-safety.md", "Local mode: MySQL 8, not MariaDB") == (
        f"{REPOSITORY}/blob/v{__version__}/docs/data-safety.md#local-mode-mysql-8-not-mariadb")
