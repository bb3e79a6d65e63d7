"""Splitting stacks over CI runners (`plan --list --shards N`): property tests, and the CLI on a
real git repository."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.orchestrate.changes import StackChange
from provisioner.orchestrate.shards import EARLY, LATE, MAX_SHARDS, split, wave_of
from tests.test_orchestrate_changes import commit, gitrepo  # noqa: F401  (fixture)

ENVS = ("demo", "internal", "production")


def _text(env: str) -> str:
    return f"soap:\n  environment: {env}\n"


@st.composite
def change_sets(draw: Any) -> list[StackChange]:
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), unique=True,
                          max_size=120))
    out = []
    for name in names:
        env = draw(st.sampled_from(ENVS))
        if draw(st.booleans()) and draw(st.booleans()):
            out.append(StackChange(name, "destroy", "removed", old_text=_text(env)))
        else:
            out.append(StackChange(name, "up", "changed", new_text=_text(env)))
    return out


@settings(max_examples=200, deadline=None)
@given(change_sets(), st.integers(min_value=1, max_value=40), st.randoms())
def test_every_stack_once_waves_kept_balanced_deterministic(changes: list[StackChange],
                                                            n: int, rnd: random.Random) -> None:
    shards = split(changes, n)
    placed = [s for shard in shards for s in shard.stacks]
    assert sorted(placed) == sorted(c.stack for c in changes)  # every stack exactly once
    # waves kept: every early shard comes before every production shard, and production
    # tenants (and production destroys) are never in an early shard
    kinds = [s.wave for s in shards]
    assert kinds == sorted(kinds, key=(EARLY, LATE).index)
    by_name = {c.stack: c for c in changes}
    for shard in shards:
        assert all(wave_of(by_name[s]) == shard.wave for s in shard.stacks)
        assert shard.stacks and shard.count <= n
    for wave in (EARLY, LATE):
        sizes = [len(s.stacks) for s in shards if s.wave == wave]
        if sizes:
            assert max(sizes) - min(sizes) <= 1  # balanced
            assert [s.index for s in shards if s.wave == wave] == list(range(1, len(sizes) + 1))
    shuffled = list(changes)
    rnd.shuffle(shuffled)
    assert split(shuffled, n) == shards  # deterministic, whatever the input order


def test_unknown_environment_counts_as_production() -> None:
    up = StackChange("x", "up", "platform change")  # no text, no environment known
    assert wave_of(up) == LATE
    assert wave_of(up, {"x": "demo"}) == EARLY
    assert wave_of(StackChange("y", "destroy", "removed")) == LATE  # unreadable: production


@pytest.mark.parametrize("n", [0, MAX_SHARDS + 1])
def test_shard_count_bounds(n: int) -> None:
    with pytest.raises(ValueError):
        split([], n)


def test_plan_list_shards_on_a_platform_change(gitrepo: Path, run_cli: Any) -> None:  # noqa: F811
    """A platform change touches every tenant; their environments come from git at HEAD."""
    (gitrepo / "infra" / "__main__.py").write_text("# program v2\n")
    commit(gitrepo, "platform")
    code, out, err = run_cli("--repo", gitrepo, "plan", "--list", "--base", "base",
                             "--shards", "2", "--format", "json")
    assert code == 0, err
    include = json.loads(out)["include"]
    assert [(s["wave"], s["shard"], s["shards"]) for s in include] == [
        ("early", 1, 2), ("early", 2, 2), ("production", 1, 2), ("production", 2, 2)]
    early = {n for s in include if s["wave"] == "early" for n in s["stacks"].split()}
    late = {n for s in include if s["wave"] == "production" for n in s["stacks"].split()}
    assert early == {"nandu", "contaapi", "pruebademo"}
    assert late == {"bodegaperez", "ferreteriaandina", "hotelsol"}
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--list", "--base", "base",
                           "--shards", "2")
    assert code == 0 and out.splitlines()[0].startswith("early 1/2: ")


def test_stacks_cuts_the_change_set_and_refuses_strangers(gitrepo: Path,  # noqa: F811
                                                          run_cli: Any) -> None:
    (gitrepo / "infra" / "__main__.py").write_text("# program v2\n")
    commit(gitrepo, "platform")
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--list", "--base", "base",
                           "--stacks", "nandu,hotelsol", "--format", "json")
    assert code == 0
    assert {i["stack"] for i in json.loads(out)["include"]} == {"nandu", "hotelsol"}
    code, _, err = run_cli("--repo", gitrepo, "plan", "--list", "--base", "base",
                           "--stacks", "nandu ghost")
    assert code == 2 and "ghost" in err
    code, _, err = run_cli("--repo", gitrepo, "plan", "--base", "base", "--shards", "2")
    assert code == 2 and "--list" in err
