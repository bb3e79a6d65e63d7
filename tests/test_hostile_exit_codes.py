"""One table of exit codes (provisioner/cli/exit_codes.py): every command's --help shows its
rows, docs/exit-codes.md holds the same table, check-sol's rows are SUNAT's verdicts' codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from provisioner.cli import COMMANDS
from provisioner.cli.exit_codes import TABLE, markdown

Run = Callable[..., tuple[int, str, str]]
DOCS = Path(__file__).resolve().parent.parent / "docs" / "exit-codes.md"


def _commands() -> list[str]:
    out = []
    for name, _module, _help in COMMANDS:
        out += ["ruc import", "ruc lookup"] if name == "ruc" else [name]
    return out


def test_every_command_has_rows_and_no_row_names_a_missing_command() -> None:
    assert sorted(TABLE) == sorted(_commands())


@pytest.mark.parametrize("command", _commands())
def test_help_shows_the_tables_rows(run_cli: Run, command: str) -> None:
    code, out, _ = run_cli(*command.split(), "--help")
    assert code == 0
    flat = " ".join(out.split())
    for number, meaning in TABLE[command]:
        assert f"{number} {' '.join(meaning.split())}" in flat, (command, number)
    assert "70 internal error" in flat


def test_the_docs_page_is_the_table() -> None:
    assert markdown() in DOCS.read_text(encoding="utf-8")


def test_check_sol_rows_are_the_verdicts_codes() -> None:
    from provisioner.sunat.classify import EXIT_CODES, EXIT_NO_PASSWORD

    own = {code for code, _ in TABLE["check-sol"]} - {0, 1, 2}
    assert own == (set(EXIT_CODES.values()) | {EXIT_NO_PASSWORD}) - {0}


def test_the_shared_meanings_agree() -> None:
    for command, rows in TABLE.items():
        codes = dict(rows)
        assert 0 in codes and 1 in codes, command
        assert 2 in codes, command
