"""A number typed at the CLI or a prompt is ASCII digits or nothing: `int()` also reads
full-width, Arabic-Indic and other Unicode digits, so `--smtp-port ５８７` used to pass."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provisioner.numbers import (
    address_type,
    int_type,
    parse_address,
    parse_decimal,
    parse_int,
    parse_port,
)

Run = Callable[..., tuple[int, str, str]]
UNICODE_DIGITS = st.characters(whitelist_categories=("Nd",)).filter(lambda c: not c.isascii())


@settings(max_examples=300, deadline=None)
@given(digits=st.text(st.sampled_from("0123456789"), min_size=1, max_size=4),
       foreign=UNICODE_DIGITS, at=st.integers(0, 4))
@example(digits="587", foreign="５", at=0)
@example(digits="3306", foreign="٣", at=3)
def test_one_unicode_digit_anywhere_is_refused(digits: str, foreign: str, at: int) -> None:
    text = digits[:at] + foreign + digits[at:]
    assert int(text) >= 0  # what Python alone would accept
    for parse in (parse_int, parse_port, parse_decimal,
                  lambda t: parse_address(f"db.local:{t}")):
        with pytest.raises(ValueError, match="ASCII digits"):
            parse(text)
    with pytest.raises(argparse.ArgumentTypeError):
        int_type()(text)
    with pytest.raises(argparse.ArgumentTypeError):
        address_type(f"127.0.0.1:{text}")


@given(st.text(max_size=8))
@example(" 5")
@example("1_000")
@example("+5")
def test_only_plain_ascii_integers_parse(text: str) -> None:
    plain = text.isascii() and (text[1:] if text.startswith("-") else text).isdigit() \
        and text not in {"", "-"}
    try:
        value = parse_int(text)
    except ValueError:
        assert not plain
    else:
        assert plain and value == int(text)


def test_ports_keep_their_bounds() -> None:
    assert parse_port("1") == 1 and parse_port("65535") == 65535
    for bad in ("0", "65536", "-1"):
        with pytest.raises(ValueError):
            parse_port(bad)


@pytest.mark.parametrize("argv", [
    ("init", "{dir}", "--no-input", "--base-domain", "f.acme.pe", "--max-accounts", "５０"),
    ("init", "{dir}", "--no-input", "--base-domain", "f.acme.pe",
     "--shared-database-port", "３３０６"),
    ("--repo", "{repo}", "new", "--no-input", "--smtp-port", "５８７"),
    ("--repo", "{repo}", "doctor", "--mysql-via", "127.0.0.1:３３０６"),
    ("--repo", "{repo}", "plan", "--parallel", "８"),
    ("--repo", "{repo}", "check-sol", "nandu", "--retries", "３"),
    ("--repo", "{repo}", "check-sol", "nandu", "--timeout", "３0"),
])
def test_every_numeric_flag_refuses_unicode_digits(argv: tuple[str, ...], repo: Path,
                                                   tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "new-repo"
    args = [a.format(dir=target, repo=repo) for a in argv]
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    code, _out, err = run_cli(*args)
    assert code == 2, err
    assert "ASCII digits" in err and "Traceback" not in err
    assert not target.exists()
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before


@given(st.text(max_size=8))
@example("1e3")
@example("inf")
@example("nan")
@example("1_0")
@example("٣.5")
def test_decimals_are_plain_ascii(text: str) -> None:
    try:
        value = parse_decimal(text)
    except ValueError:
        return
    assert text.isascii() and all(c in "0123456789.-" for c in text)
    assert value == float(text)


@settings(deadline=None)
@given(digit=UNICODE_DIGITS)
@example(digit="５")
def test_the_smtp_port_prompt_refuses_unicode_digits(digit: str) -> None:
    from provisioner.newtenant import _port_problem

    assert _port_problem(f"5{digit}7") is not None
    assert _port_problem("587") is None
