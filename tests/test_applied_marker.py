"""The last-applied marker (`--since-applied`): first push, force-push, cancelled runs, on real
git repositories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provisioner.orchestrate.applied_base import choose_applied_base
from tests.test_orchestrate_changes import ALL, commit, git, gitrepo  # noqa: F401  (fixture)
from tests.test_orchestrate_run import fake  # noqa: F401  (fixture)

MARKER = "provisioner-applied"


def _listed(run_cli: Any, repo: Path) -> dict[str, str]:
    code, out, err = run_cli("--repo", repo, "plan", "--list", "--since-applied",
                             "--format", "json")
    assert code == 0, err
    return {i["stack"]: i["action"] for i in json.loads(out)["include"]}


def _edit(repo: Path, name: str, line: str) -> None:
    path = repo / "tenants" / f"{name}.yaml"
    path.write_text(path.read_text() + line)


def test_first_apply_without_a_marker_covers_every_tenant(gitrepo: Path,  # noqa: F811
                                                          run_cli: Any) -> None:
    choice = choose_applied_base(gitrepo, MARKER)
    assert choice.base is None and "first apply" in choice.reason
    assert _listed(run_cli, gitrepo) == dict.fromkeys(ALL, "up")


def test_marker_compares_what_was_applied_with_head(gitrepo: Path,  # noqa: F811
                                                    run_cli: Any) -> None:
    git(gitrepo, "tag", MARKER, "base")
    _edit(gitrepo, "nandu", "# one\n")
    commit(gitrepo, "one")
    assert _listed(run_cli, gitrepo) == {"nandu": "up"}


def test_a_cancelled_run_is_covered_by_the_next(gitrepo: Path, run_cli: Any) -> None:  # noqa: F811
    """The run for the first push never finished, so the marker did not move: the run for the
    second push applies both (event.before would have skipped the first)."""
    git(gitrepo, "tag", MARKER, "base")
    _edit(gitrepo, "nandu", "# first push\n")
    commit(gitrepo, "first")
    before = git(gitrepo, "rev-parse", "HEAD").strip()
    _edit(gitrepo, "pruebademo", "# second push\n")
    commit(gitrepo, "second")
    assert _listed(run_cli, gitrepo) == {"nandu": "up", "pruebademo": "up"}
    _, out, _ = run_cli("--repo", gitrepo, "plan", "--list", "--base", before, "--format",
                           "json")
    assert {i["stack"] for i in json.loads(out)["include"]} == {"pruebademo"}  # what it missed


def test_force_push_compares_trees_not_the_merge_base(gitrepo: Path,  # noqa: F811
                                                      run_cli: Any) -> None:
    """Applied: hotelsol's edit. Then main is rewritten without it, and contaapi removed. The
    applied tree and the wanted tree differ in both: hotelsol must be re-applied back."""
    _edit(gitrepo, "hotelsol", "# applied then dropped\n")
    commit(gitrepo, "applied")
    git(gitrepo, "tag", MARKER)
    git(gitrepo, "reset", "-q", "--hard", "base")
    (gitrepo / "tenants" / "contaapi.yaml").unlink()
    commit(gitrepo, "rewritten")
    choice = choose_applied_base(gitrepo, MARKER)
    assert choice.base and "rewritten" in choice.reason
    assert _listed(run_cli, gitrepo) == {"hotelsol": "up", "contaapi": "destroy"}
    # the merge base (what `marker...HEAD` would use) misses hotelsol
    _, out, _ = run_cli("--repo", gitrepo, "plan", "--list", "--base", MARKER, "--format",
                           "json")
    assert {i["stack"] for i in json.loads(out)["include"]} == {"contaapi"}


def test_apply_alone_creates_stacks(gitrepo: Path, run_cli: Any, fake: Any) -> None:  # noqa: F811
    _edit(gitrepo, "nandu", "# x\n")
    commit(gitrepo, "x")
    assert run_cli("--repo", gitrepo, "plan", "--base", "base")[0] == 0
    assert run_cli("--repo", gitrepo, "apply", "--base", "base")[0] == 0
    assert run_cli("--repo", gitrepo, "drift", "nandu")[0] == 3  # the fake reports a change
    assert fake.created == [False, True, False]
