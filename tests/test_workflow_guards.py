"""The workflows' git checks (`provisioner ci`), on real repositories with a bare origin:
spec-only pull requests (renames, symlinks, submodules) and applies that only move forward."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provisioner.orchestrate.ci_guards import (
    StaleRunError,
    _spec_path,
    move_marker,
    require_forward,
    review_reasons,
)

MARKER = "provisioner-applied"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    (work / "tenants").mkdir(parents=True)
    (work / "provisioner").mkdir()
    (work / "tenants" / "nandu.yaml").write_text("subdomain: nandu\n")
    (work / "provisioner" / "code.py").write_text("print('trusted')\n" * 20)
    git(work, "init", "-q", "-b", "main")
    git(work, "config", "user.email", "t@example.pe")
    git(work, "config", "user.name", "t")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "base")
    git(work, "tag", "base")
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(tmp_path / "origin.git")],
                   check=True)
    git(work, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(work, "fetch", "-q", "origin")
    return work


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def _reasons(repo: Path) -> dict[str, str]:
    return {r.path: r.reason for r in review_reasons(repo, "base", "HEAD")}


def test_workflow_spec_only_accepts_spec_edits_additions_and_removals(repo: Path) -> None:
    (repo / "tenants" / "nandu.yaml").write_text("subdomain: nandu\n# edited\n")
    (repo / "tenants" / "nuevo.yml").write_text("subdomain: nuevo\n")
    _commit(repo, "specs")
    assert _reasons(repo) == {}
    (repo / "tenants" / "nuevo.yml").unlink()
    _commit(repo, "remove")
    assert _reasons(repo) == {}


def test_workflow_spec_only_sees_a_program_file_renamed_into_tenants(repo: Path) -> None:
    git(repo, "mv", "provisioner/code.py", "tenants/code.yaml")
    _commit(repo, "move")
    # what the old check read: rename detection reports only the new path, a "spec"
    assert git(repo, "-c", "diff.renames=true", "diff", "--name-only", "base",
               "HEAD") == "tenants/code.yaml"
    assert _reasons(repo) == {"provisioner/code.py": "not a tenant spec (tenants/*.yaml)"}


def test_workflow_spec_only_refuses_symlinks_under_tenants(repo: Path) -> None:
    os.symlink("../provisioner/code.py", repo / "tenants" / "evil.yaml")
    _commit(repo, "symlink")
    assert _reasons(repo) == {"tenants/evil.yaml": "a symbolic link, not a spec file"}
    # a symlink replaced by a file is still a change of type to review
    (repo / "tenants" / "evil.yaml").unlink()
    (repo / "tenants" / "evil.yaml").write_text("subdomain: evil\n")
    _commit(repo, "file again")
    assert review_reasons(repo, "HEAD~1", "HEAD")[0].reason == "a symbolic link, not a spec file"


def test_workflow_spec_only_refuses_submodules_under_tenants(repo: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    git(sub, "-c", "user.email=t@e.pe", "-c", "user.name=t", "commit", "-q",
        "--allow-empty", "-m", "x")
    sha = git(sub, "rev-parse", "HEAD")
    # a gitlink entry as `git submodule add` records it (mode 160000)
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{sha},tenants/sub.yaml")
    git(repo, "commit", "-q", "-m", "submodule")
    assert _reasons(repo) == {"tenants/sub.yaml": "a submodule, not a spec file"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["tenants", "infra", "a", ".", "..", "x.yaml", "t.yml",
                                 ".hidden.yaml", "x.yaml.j2", "TENANTS"]),
                min_size=1, max_size=4))
@example(["tenants", "x.yaml"])
@example(["tenants", "sub", "x.yaml"])
@example(["tenants", ".x.yaml"])
def test_workflow_spec_path_is_exactly_one_spec_file_in_tenants(parts: list[str]) -> None:
    path = "/".join(parts)
    expected = (len(parts) == 2 and parts[0] == "tenants"
                and parts[1] in ("x.yaml", "t.yml"))
    assert _spec_path(path) is expected


def test_workflow_spec_only_cli_prints_the_output_line(repo: Path, run_cli: Any) -> None:
    (repo / "provisioner" / "code.py").write_text("print('changed')\n")
    _commit(repo, "code")
    code, out, err = run_cli("--repo", repo, "ci", "spec-only", "--base", "base",
                             "--head", "HEAD")
    assert (code, out) == (0, "review=true\n")
    assert "needs review: provisioner/code.py" in err


def _push(repo: Path, *, force: bool = False) -> str:
    git(repo, "push", "-q", *(["--force"] if force else []), "origin", "HEAD:main")
    return git(repo, "rev-parse", "HEAD")


def _marker(repo: Path) -> str | None:
    out = subprocess.run(["git", "ls-remote", "origin", f"refs/tags/{MARKER}"], cwd=repo,
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0] if out else None


def test_workflow_marker_moves_forward_only(repo: Path) -> None:
    first = _push(repo)
    assert move_marker(repo, first).marker is None  # first apply
    assert _marker(repo) == first
    (repo / "tenants" / "nandu.yaml").write_text("subdomain: nandu\n# two\n")
    second = _commit(repo, "two")
    # not pushed yet: not the tip
    with pytest.raises(StaleRunError, match="no longer the tip"):
        require_forward(repo, second)
    _push(repo)
    assert move_marker(repo, second).marker == first
    assert _marker(repo) == second
    # an old run re-run after the newer one applied: refused, marker kept
    with pytest.raises(StaleRunError, match="no longer the tip"):
        move_marker(repo, first)
    assert _marker(repo) == second


def test_workflow_marker_never_moves_behind_what_was_applied(repo: Path) -> None:
    """Even as the tip: main reset to an older commit (the marker's ancestor) is refused;
    a rewritten history (marker on no ancestor, tip not behind it) goes ahead."""
    base = _push(repo)
    (repo / "tenants" / "nandu.yaml").write_text("subdomain: nandu\n# applied\n")
    applied = _commit(repo, "applied")
    _push(repo)
    move_marker(repo, applied)
    git(repo, "reset", "-q", "--hard", base)
    _push(repo, force=True)
    with pytest.raises(StaleRunError, match="move the applied state backwards"):
        move_marker(repo, base)
    assert _marker(repo) == applied
    (repo / "tenants" / "nandu.yaml").write_text("subdomain: nandu\n# rewritten\n")
    rewritten = _commit(repo, "rewritten")
    _push(repo, force=True)
    forward = move_marker(repo, rewritten)
    assert "history rewritten" in forward.note
    assert _marker(repo) == rewritten


def test_workflow_marker_push_has_a_lease(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A marker moved by another job between our check and our push is not overwritten."""
    import provisioner.orchestrate.ci_guards as guards
    from provisioner.orchestrate.git_repo import GitError

    first = _push(repo)
    move_marker(repo, first)
    (repo / "tenants" / "nandu.yaml").write_text("subdomain: nandu\n# two\n")
    second = _commit(repo, "two")
    (repo / "tenants" / "nandu.yaml").write_text("subdomain: nandu\n# three\n")
    third = _commit(repo, "three")
    _push(repo)
    checked = require_forward(repo, third)
    assert checked.marker == first
    # meanwhile another job moves the marker to `second`
    git(repo, "push", "-q", "--force", "origin", f"{second}:refs/tags/{MARKER}")
    monkeypatch.setattr(guards, "require_forward", lambda *a, **kw: checked)
    with pytest.raises(GitError, match=r"stale info|rejected"):
        guards.move_marker(repo, third)
    assert _marker(repo) == second
