"""The shortcuts `validate` takes at 10,000 tenants give the results of the plain code."""

from __future__ import annotations

import gc
import os
import unicodedata
import weakref
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.collector import collector_paused
from provisioner.model.crossfile import same_name_key
from provisioner.model.display import DisplayNames, display_path

parts = st.sampled_from(["tenants", "a", "::x", "..", ".", "", "t.yaml", "b c", "ñandú.yml"])
paths = st.builds(
    lambda absolute, names, last: ("/" if absolute else "") + "/".join([*names, last]),
    st.booleans(), st.lists(parts, max_size=4),
    st.sampled_from(["acme.yaml", "::odd.yml", ".", "..", "x.yaml", "/"]))


@settings(max_examples=300, deadline=None)
@given(names=st.lists(paths, min_size=1, max_size=6), as_path=st.booleans())
def test_display_names_are_display_path(names: list[str], as_path: bool, tmp_path_factory
                                        ) -> None:
    """One DisplayNames over many files, with its per-directory memo, shows each file as
    `display_path` would: below the working directory, above it, absolute, `..`, `::`."""
    work = tmp_path_factory.mktemp("cwd")
    (work / "tenants").mkdir(exist_ok=True)
    before = os.getcwd()
    os.chdir(work)
    try:
        shown = DisplayNames()
        for name in names:
            path = Path(name) if as_path else name
            assert shown(path) == display_path(path), name
    finally:
        os.chdir(before)


@given(st.text(max_size=40))
def test_company_name_key_skips_normalizing_only_where_it_changes_nothing(name: str) -> None:
    full = "".join(c for c in unicodedata.normalize("NFKD", name.casefold())
                   if not unicodedata.combining(c))
    assert same_name_key(name) == " ".join(full.split())


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_garbage_made_while_paused_is_still_collected() -> None:
    """The load's objects go straight to the oldest generation, not to the permanent one: a
    cycle left over from the load is freed by the next full collection."""
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        ref = weakref.ref(_Cycle())
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert ref() is not None  # only the cyclic collector can free it
    gc.collect()
    assert ref() is None


FROZEN_BY_THE_CALLER = """
import gc
from provisioner.collector import collector_paused

class Cycle:
    def __init__(self):
        self.me = self

gc.collect()
kept = Cycle()
gc.freeze()
frozen = gc.get_freeze_count()
with collector_paused():
    Cycle()
assert gc.get_freeze_count() == frozen, (gc.get_freeze_count(), frozen)
"""


def test_objects_frozen_by_the_caller_stay_frozen() -> None:
    """In an interpreter of its own: the freeze count is the process's, and a thread another
    test left running (a server's) may load a repository, and so pause the collector, at any
    time in this one."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", FROZEN_BY_THE_CALLER], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collectors_state_is_restored(enabled: bool) -> None:
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            pass
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_a_long_run_keeps_what_was_loaded_out_of_reach_and_gives_it_back() -> None:
    from provisioner.collector import kept_out_of_reach

    gc.collect()
    loaded = _Cycle()
    with kept_out_of_reach():
        assert gc.get_freeze_count() > 0
        with kept_out_of_reach():  # nested: the outer freeze stays
            pass
        assert gc.get_freeze_count() > 0
        ref = weakref.ref(_Cycle())  # garbage the run makes is collected during the run
        gc.collect()
        assert ref() is None
    assert gc.get_freeze_count() == 0
    ref = weakref.ref(loaded)
    del loaded
    gc.collect()
    assert ref() is None


# --- the semantic rules' shortcuts (model/semantics.py) ---------------------------------------

# Small universes, so that two draws of a field often differ in one module or level only.
FEW_MODULES = st.lists(st.sampled_from(["pos", "hotels", "nope"]), max_size=2)
SELECTION_FIELDS = {
    "preset": st.sampled_from(["basico", "nada"]),
    "include": FEW_MODULES,
    "add": FEW_MODULES,
    "remove": FEW_MODULES,
    "levels": st.dictionaries(st.sampled_from(["pos", "nope"]),
                              st.lists(st.sampled_from(["pos", "cash", "bogus"]), max_size=2),
                              max_size=2),
}


@settings(max_examples=300, deadline=None)
@given(st.booleans(), st.fixed_dictionaries(SELECTION_FIELDS),
       st.lists(st.sampled_from(sorted(SELECTION_FIELDS)), min_size=1, max_size=8), st.data())
def test_module_issues_remembered_per_selection_are_the_rules_own(
        by_preset: bool, first: dict[str, object], edits: list[str], data: st.DataObject
) -> None:
    """Through the same remembered rules, one selection after another, each differing from
    the one before in one field, gets the issues the module rules give it alone: no two
    selections share a remembered answer."""
    from pydantic import ValidationError

    from provisioner.model.catalog import DEFAULT_CATALOG
    from provisioner.model.models import Modules, ResellerSpec
    from provisioner.model.semantics import _check_modules, _TenantRules

    rules = _TenantRules(ResellerSpec.model_validate({"base_domain": "x.example.pe"}),
                         DEFAULT_CATALOG)
    selection = dict(first)
    for field in [None, *edits]:
        if field is not None:
            selection[field] = data.draw(SELECTION_FIELDS[field])
        mode = ({"include": None} if by_preset  # one of the two modes, as Modules requires
                else {"preset": None, "add": [], "remove": []})
        try:
            sel = Modules.model_validate({**selection, **mode})
        except ValidationError:
            continue
        assert rules.module_issues(sel) == tuple(_check_modules(sel, DEFAULT_CATALOG))


def test_the_remembered_selection_covers_every_field_of_modules() -> None:
    """`_TenantRules.module_issues` keys its memory on these fields: a new field of Modules
    must join that key, or two selections differing only in it would share issues."""
    from provisioner.model.models import Modules

    assert set(Modules.model_fields) == {"preset", "include", "add", "remove", "levels"}


def test_rules_follow_the_catalog_and_reseller_they_are_given() -> None:
    """Two catalogs (two repositories in one process, or a test after another) never share
    remembered issues; nor two reseller files their limits."""
    from provisioner.model.catalog import DEFAULT_CATALOG
    from provisioner.model.models import ResellerSpec, TenantSpec
    from provisioner.model.semantics import check_tenant

    tenant = TenantSpec.model_validate({
        "ruc": "20100066603", "company_name": "Acme S.A.", "subdomain": "acme",
        "admin_email": "a@acme.example.pe", "plan": "pyme",
        "modules": {"preset": "basico", "add": ["hotels"]}, "soap": {"environment": "demo"},
        "allow_production_switch": False})
    plain = ResellerSpec.model_validate({"base_domain": "x.example.pe"})
    assert check_tenant(tenant, plain, DEFAULT_CATALOG) == []
    smaller = DEFAULT_CATALOG.model_copy(update={"modules": {
        k: v for k, v in DEFAULT_CATALOG.modules.items() if k != "hotels"}})
    assert [i.path for i in check_tenant(tenant, plain, smaller)] == [("modules", "add", 0)]
    assert check_tenant(tenant, plain, DEFAULT_CATALOG) == []
    reserving = ResellerSpec.model_validate({"base_domain": "x.example.pe",
                                             "reserved_subdomains": ["ACME"]})
    assert [i.path for i in check_tenant(tenant, reserving, DEFAULT_CATALOG)] == [
        ("subdomain",)]
    many_tags = ResellerSpec.model_validate({"base_domain": "x.example.pe", "tags": {
        f"t{i}": "x" for i in range(45)}})  # the most a reseller file may set
    assert check_tenant(tenant, many_tags, DEFAULT_CATALOG) == []
    labelled = tenant.model_copy(update={"labels": {"vendedor": "lucia"}})
    found = check_tenant(labelled, many_tags, DEFAULT_CATALOG)
    assert [i.path for i in found] == [("labels",)] and "51 tags" in found[0].message


# --- the loader's two passes (model/repository.py load_tenant_files) --------------------------

_TENANT = """\
ruc: "{ruc}"
company_name: Empresa {i} S.A.C.
subdomain: {sub}
admin_email: admin@empresa{i}.example.pe
plan: pyme
modules:
  preset: basico
  add: [{module}]
soap:
  environment: {env}
allow_production_switch: {switch}
"""
FILE_KINDS = {
    "valid": lambda i, ruc: _TENANT.format(i=i, ruc=ruc, sub=f"t{i}", module="inventory",
                                           env="demo", switch="false"),
    "warning": lambda i, ruc: _TENANT.format(i=i, ruc=ruc, sub=f"t{i}", module="inventory",
                                             env="demo", switch="true"),
    "semantic error": lambda i, ruc: _TENANT.format(i=i, ruc=ruc, sub=f"t{i}", module="nope",
                                                    env="demo", switch="false"),
    "model error": lambda i, ruc: _TENANT.format(i=i, ruc=ruc, sub=f"t{i}", module="inventory",
                                                 env="staging", switch="false"),
    "ambiguous": lambda i, ruc: _TENANT.format(i=i, ruc=ruc, sub=f"t{i}", module="inventory",
                                               env="demo", switch="no"),
    "wrong name": lambda i, ruc: _TENANT.format(i=i, ruc=ruc, sub=f"other{i}",
                                                module="inventory", env="demo", switch="false"),
    "duplicate key": lambda i, ruc: _TENANT.format(i=i, ruc=ruc, sub=f"t{i}",
                                                   module="inventory", env="demo",
                                                   switch="false") + "plan: pyme\n",
    "yaml error": lambda i, ruc: f"ruc: [{ruc}\n",
    "not a mapping": lambda i, ruc: f"- {ruc}\n",
    "binary": lambda i, ruc: "\0\1\2",
}


@settings(max_examples=60, deadline=None)
@given(kinds=st.lists(st.sampled_from(sorted(FILE_KINDS)), min_size=1, max_size=12))
def test_a_repository_reports_each_file_as_that_file_alone(kinds: list[str],
                                                           tmp_path_factory) -> None:
    """`validate` reads, parses and models every file first, then applies the other rules to
    each: every file still gets exactly the findings (and the same valid spec) it gets when
    loaded alone, in any mix of valid, warned, invalid and unreadable files."""
    from stdnum.pe import ruc as stdnum_ruc

    from provisioner.model.repository import load_repository, load_tenant_keyed

    root = tmp_path_factory.mktemp("repo")
    (root / "reseller.yaml").write_text("base_domain: x.example.pe\n", encoding="utf-8")
    (root / "tenants").mkdir()
    for i, kind in enumerate(kinds):
        body = f"20{i:08d}"
        (root / "tenants" / f"t{i}.yaml").write_text(
            FILE_KINDS[kind](i, body + stdnum_ruc.calc_check_digit(body)), encoding="utf-8")
    repo = load_repository(root)
    alone_findings, alone_specs = [], []
    for name in sorted(os.listdir(root / "tenants")):  # as validate reads them
        loaded, _, found = load_tenant_keyed(root / "tenants" / name, repo.reseller,
                                             repo.catalog)
        alone_findings += found
        if loaded is not None:
            alone_specs.append(loaded.spec)
    assert repo.findings == sorted(alone_findings, key=lambda f: (f.file, f.line, f.column,
                                                                  f.field))
    assert [t.spec for t in repo.tenants] == alone_specs
    assert repo.files_checked == len(kinds) + 1
    assert {f.severity for f in repo.findings} <= {"error", "warning"}
    assert bool(repo.findings) == any(k != "valid" for k in kinds)
