"""Company names compare as the app's database compares them (utf8mb4_unicode_ci: case,
accents and trailing spaces ignored), in `validate` and `new` alike; a subdomain with a stray
space gets a message about the subdomain."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from provisioner.model.crossfile import same_name_key

Run = Callable[..., tuple[int, str, str]]
EXISTING = "Ferretería Andina S.A."  # examples/tenants/ferreteriaandina.yaml
NEW = ("--no-input", "--no-lookup", "--ruc", "20131312955", "--email", "ti@example.pe",
       "--plan", "pyme")
# letters company names are written with: ASCII, Latin-1 and Latin Extended-A (accents, ñ)
LETTERS = st.characters(min_codepoint=0x20, max_codepoint=0x17F).filter(
    lambda c: unicodedata.category(c)[0] in "LNZ" or c in ".,&-'")


def _spellings(name: str) -> st.SearchStrategy[str]:
    """`name` with letters' case flipped, accents added or dropped, spaces added at the end."""
    def respell(flips: list[bool], accents: list[int], tail: str) -> str:
        out = []
        for ch, flip, accent in zip(name, flips, accents, strict=True):
            base = "".join(c for c in unicodedata.normalize("NFD", ch)
                           if not unicodedata.combining(c))
            if accent and base.isalpha():
                base = unicodedata.normalize("NFC", base + "\u0301\u0303\u0308"[accent - 1])
            out.append(base.swapcase() if flip else base)
        return "".join(out) + tail
    n = len(name)
    return st.builds(respell, st.lists(st.booleans(), min_size=n, max_size=n),
                     st.lists(st.integers(0, 3), min_size=n, max_size=n),
                     st.sampled_from(["", " ", "  "]))


@settings(max_examples=150, deadline=None)
@given(_spellings(EXISTING))
@example("FERRETERIA ANDINA S.A.")
@example("ferreteria andina s.a. ")
def test_a_respelling_has_the_same_key(name: str) -> None:
    assert same_name_key(name) == same_name_key(EXISTING)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_spellings(EXISTING))
@example("FERRETERIA ANDINA S.A.")
@example("Ferreteria Andina S.A.")
def test_new_refuses_a_name_the_app_would_hold_as_the_same(repo: Path, run_cli: Run,
                                                           name: str) -> None:
    before = sorted(p.name for p in (repo / "tenants").iterdir())
    code, _out, err = run_cli("--repo", repo, "new", *NEW, "--company-name", name,
                              "--subdomain", "aduanas")
    assert code == 1, err
    assert "company name already used by" in err and "ferreteriaandina" in err
    assert sorted(p.name for p in (repo / "tenants").iterdir()) == before


def test_validate_refuses_the_same_pair(repo: Path, run_cli: Run) -> None:
    path = repo / "tenants" / "nandu.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('company_name: Ñandú "El Gaucho" S.A.C.',
                                 "company_name: PEREZ QUISPE JUAN"), encoding="utf-8")
    code, _out, err = run_cli("--repo", repo, "validate")
    assert code == 1
    assert "company name already used" in err and "bodegaperez" in err


@pytest.mark.parametrize("subdomain", ["aduanas ", " aduanas", "adu nas", "aduanas/x",
                                       "aduanas\n"])
def test_a_subdomain_with_a_stray_character_is_named_as_a_subdomain(
        repo: Path, run_cli: Run, subdomain: str) -> None:
    code, _out, err = run_cli("--repo", repo, "new", *NEW, "--company-name", "Aduanas SAC",
                              "--subdomain", subdomain)
    assert code == 2  # a flag's value: a usage error, as for any other bad --subdomain
    first = err.strip().splitlines()[0]
    assert first.startswith("provisioner new: --subdomain") or "--subdomain" in first
    assert "letters and digits" in first and ".yaml" not in first
    assert not any(p.name.startswith("aduanas") for p in (repo / "tenants").iterdir())


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=st.text(LETTERS, min_size=1, max_size=12), data=st.data())
@example(a="Perú", data=None)
def test_names_mariadb_holds_as_equal_have_one_key(mariadb_server, a: str, data) -> None:  # type: ignore[no-untyped-def]
    """The direction that matters: whatever utf8mb4_unicode_ci says is the same name, the key
    says so too (the key may be stricter: runs of spaces)."""
    b = a.upper() if data is None else data.draw(_spellings(a))
    (row,) = mariadb_server.execute(
        "SELECT CONVERT(%s USING utf8mb4) COLLATE utf8mb4_unicode_ci"
        " = CONVERT(%s USING utf8mb4) COLLATE utf8mb4_unicode_ci", (a, b))
    if row[0]:
        assert same_name_key(a) == same_name_key(b), (a, b)
