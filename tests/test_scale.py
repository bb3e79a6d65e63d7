"""Behaviour that must hold at any repository size: bounded duplicate findings, the collector
restored after loading, one-tenant loads equal to a full validation for that tenant."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.pe import ruc as stdnum_ruc

from provisioner.model import crossfile
from provisioner.model.repository import load_repository

TENANT = """\
ruc: "{ruc}"
company_name: {company}
subdomain: {sub}
admin_email: admin@{sub}.example.pe
plan: pyme
soap:
  environment: demo
"""
def ruc_for(i: int) -> str:
    body = f"20{i:08d}"
    return body + stdnum_ruc.calc_check_digit(body)


RUCS = ["20601112222", "20456789014", "20512333797", "20100070970"]


def write_tenants(root: Path, tenants: list[tuple[str, str, str]]) -> None:
    for sub, ruc, company in tenants:
        (root / "tenants" / f"{sub}.yaml").write_text(
            TENANT.format(sub=sub, ruc=ruc, company=company), encoding="utf-8")


@pytest.fixture
def bare_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The examples' reseller.yaml with no tenants, as the working directory."""
    for f in (repo / "tenants").iterdir():
        f.unlink()
    monkeypatch.chdir(repo)
    return repo


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sharing=st.integers(2, 40))
def test_duplicate_findings_are_bounded_per_value(bare_repo: Path, sharing: int) -> None:
    """Files sharing a company name each get one finding naming at most MAX_NAMED others and
    a count of the rest: output grows linearly, not with the square of the group."""
    for f in (bare_repo / "tenants").iterdir():
        f.unlink()
    write_tenants(bare_repo, [(f"t{i:03d}", ruc_for(i), "Misma SAC") for i in range(sharing)])
    found = [f for f in load_repository(bare_repo).findings if f.field == "company_name"]
    assert len(found) == sharing
    for f in found:
        others = f.message.split(" already used by ", 1)[1]
        named = others.split(" and ")[0].split(", ")
        assert len(named) <= crossfile.MAX_NAMED
        assert f.file not in named
        assert named == sorted(named)
        if " and " in others:
            more = int(others.split(" and ")[1].split()[0].replace(",", ""))
            assert len(named) + more == len(found) - 1
        else:
            assert len(named) == len(found) - 1
        assert len(f.message) < 200


def test_duplicate_message_counts_the_rest() -> None:
    assert crossfile.duplicate_message("RUC", ["a.yaml"], 1) == "RUC already used by a.yaml"
    assert crossfile.duplicate_message("RUC", ["a", "b", "c"], 1002) == (
        "RUC already used by a, b, c and 999 more files")


def test_loading_restores_the_collector(bare_repo: Path) -> None:
    write_tenants(bare_repo, [("uno", RUCS[0], "Uno SAC")])
    assert gc.isenabled()
    load_repository(bare_repo)
    assert gc.isenabled()
    gc.disable()
    try:
        load_repository(bare_repo)
        assert not gc.isenabled()  # a caller's own choice is kept
    finally:
        gc.enable()
