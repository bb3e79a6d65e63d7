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
from provisioner.spec.crossfile import same_name_key
from provisioner.spec.loader import DisplayNames, display_path

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
def test_company_name_key_skips_nfkc_only_where_it_changes_nothing(name: str) -> None:
    assert same_name_key(name) == " ".join(
        unicodedata.normalize("NFKC", name).casefold().split())


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


def test_objects_frozen_by_the_caller_stay_frozen() -> None:
    gc.collect()
    kept = _Cycle()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            _Cycle()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        del kept
        gc.collect()


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
