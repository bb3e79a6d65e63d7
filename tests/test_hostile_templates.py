"""App command templates hold bare placeholder names only: a format spec, a conversion or an
attribute/index is refused where reseller.yaml is validated, with file:line:column, and
`expand` never hands anything else to `str.format`."""

from __future__ import annotations

import string
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provisioner.app.app_commands import expand
from provisioner.app.connection import AppError
from provisioner.model.models import APP_COMMAND_PLACEHOLDERS, template_problem
from provisioner.model.repository import load_reseller

Run = Callable[..., tuple[int, str, str]]
NAMES = sorted(APP_COMMAND_PLACEHOLDERS)
VALUES = {name: f"<{name}>" for name in NAMES}


def _set_migrate(repo: Path, arg: str) -> int:
    """reseller.yaml with migrate's last argument replaced; returns that argument's line."""
    path = repo / "reseller.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "tenancy:migrate" in line:
            quoted = "'" + arg.replace("'", "''") + "'"
            lines[i] = line.replace('"--website_id={website_id}"', quoted)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return i + 1
    raise AssertionError("no migrate line")


@pytest.mark.parametrize("arg", [
    "{uuid:>999999999999}", "{uuid!r}", "{uuid.__class__}", "{uuid[0]}", "{uuid:{fqdn}}",
    "{}", "{0}", "{nope}", "--x={website_id!s:>5}",
])
def test_anything_but_a_bare_name_is_refused_with_its_location(repo: Path, arg: str) -> None:
    line = _set_migrate(repo, arg)
    reseller, _catalog, findings = load_reseller(repo / "reseller.yaml")
    assert reseller is None
    found = [f for f in findings if f.severity == "error"]
    assert found and "app.commands.migrate" in found[0].field
    assert found[0].line == line and found[0].column > 0
    assert str(found[0]).startswith(f"{repo / 'reseller.yaml'}:{line}:")


def test_format_spec_never_reaches_a_dry_run(repo: Path, run_cli: Run) -> None:
    _set_migrate(repo, "{uuid:>999999999999}")
    code, _out, err = run_cli("--repo", repo, "onboard", "bodegaperez", "--dry-run")
    assert code == 1
    assert "format spec" in err and "reseller.yaml:" in err and "Traceback" not in err


PIECES = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=5),
    st.sampled_from([f"{{{n}}}" for n in NAMES]),
    st.sampled_from(["{", "}", "{{", "}}", ":", "!", ".", "[", "]", "0", ">9", "r"]),
    st.sampled_from(NAMES))


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=8).map("".join))
@example("{uuid:>999999999999}")
@example("{uuid!r}")
@example("{website_id[0]}")
def test_validation_and_expansion_agree(arg: str) -> None:
    """Whatever validates expands to exactly its literal text with each bare name replaced;
    whatever does not is refused by `expand` too (never formatted)."""
    problem = template_problem(arg)
    if problem is not None:
        with pytest.raises(AppError):
            expand([arg], VALUES)
        return
    parts = list(string.Formatter().parse(arg))
    assert all(not spec and conv is None and (name is None or name in APP_COMMAND_PLACEHOLDERS)
               for _lit, name, spec, conv in parts)
    (out,) = expand([arg], VALUES)
    assert out == arg.format_map(VALUES)
    assert len(out) <= len(arg) + sum(len(v) for v in VALUES.values()) * arg.count("{")
