""""Guardar" against a bare repository on disk and a loopback GitHub stand-in: the branch and
its one file, the pull request as GitHub documents it, every refusal before anything is
pushed, and nothing left behind when the push or the pull request fails."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.form.checks import evaluate
from provisioner.form.github import GitHub, GitHubError, repository_of
from provisioner.form.gitwrite import GitError, find_target
from provisioner.form.saving import save
from provisioner.model.repository import load_repository
from tests.form_env import GITHUB_REPO, TOKEN, GitHubStandIn, GitRepos, git, make_repos

PAYLOAD = {
    "ruc": "20131312955", "company_name": "Aduanas del Perú S.A.", "subdomain": "aduanas",
    "email": "ti@aduanas.example.pe", "plan": "pyme", "admin_password": "generate",
    "user_type": "admin", "limit_emission": True, "preset": "basico",
    "modules": ["dashboard", "documents", "pos", "items", "persons", "configuration",
                "establishments"],
    "levels": [], "send": "sunat", "environment": "production", "sol_user": "ADUANA01",
    "sol_password": True, "allow_production_switch": False,
    "author_name": "Ana Admin", "author_email": "ana@reseller.example.pe",
}


@pytest.fixture
def repos(tmp_path: Path) -> GitRepos:
    return make_repos(tmp_path)


@pytest.fixture
def github(repos: GitRepos) -> Iterator[GitHubStandIn]:
    stand_in = GitHubStandIn(repos.bare).start()
    yield stand_in
    stand_in.stop()


def client(stand_in: GitHubStandIn, token: str = TOKEN) -> GitHub:
    return GitHub(GITHUB_REPO, token, stand_in.url)


def saved_by(repos: GitRepos, stand_in: GitHubStandIn, payload: dict[str, object] = PAYLOAD,
             token: str = TOKEN):  # type: ignore[no-untyped-def]
    repo = load_repository(repos.work)
    ev = evaluate(payload, repo, for_save=True)
    assert ev.ok, ev.as_dict()
    return save(ev, find_target(repos.work, "origin", None), client(stand_in, token))


def test_guardar_pushes_one_file_on_a_new_branch_and_opens_the_pull_request(
        repos: GitRepos, github: GitHubStandIn) -> None:
    before = repos.state()
    result = saved_by(repos, github)

    assert result.pull_request.url == f"https://github.com/{GITHUB_REPO}/pull/1"
    branch = "new-tenant/aduanas"
    assert repos.remote_branches() == ["main", branch]
    changed = git(repos.bare, "diff", "--name-status", "main", branch)
    assert changed == "A\ttenants/aduanas.yaml"  # one file added, nothing else
    assert git(repos.bare, "rev-parse", f"{branch}^") == git(repos.bare, "rev-parse", "main")
    author = git(repos.bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>", branch)
    assert author == "Ana Admin <ana@reseller.example.pe>|Ana Admin <ana@reseller.example.pe>"
    assert "Nuevo cliente: Aduanas del Perú S.A. (aduanas)" in git(
        repos.bare, "log", "-1", "--format=%B", branch)
    # the user's checkout: same HEAD, branch, status and index; the new branch beside it
    assert repos.state() == before
    assert repos.local_branches() == ["main", branch]
    assert git(repos.work, "rev-parse", branch) == git(repos.bare, "rev-parse", branch)

    assert github.problems == []
    (pull,) = github.pulls
    assert pull["headers"]["Accept"] == "application/vnd.github+json"
    assert pull["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert pull["headers"]["X-Github-Api-Version"] == "2022-11-28"
    body = pull["body"]
    assert (body["title"], body["head"], body["base"]) == (
        "Nuevo cliente: Aduanas del Perú S.A. (aduanas)", branch, "main")
    assert "pulumi config set --secret --stack aduanas solPassword" in body["body"]
    assert [r["method"] for r in github.requests] == ["GET", "POST"]  # the token checked first


def test_the_committed_file_is_what_validate_accepts_and_holds_no_secret(
        repos: GitRepos, github: GitHubStandIn, tmp_path: Path) -> None:
    hostile = dict(PAYLOAD, sol_password="Real-Password-Typed", smtp=True,
                   smtp_host="smtp.gmail.com", smtp_port="465",
                   smtp_username="ti@aduanas.example.pe",
                   smtp_password="Another-Secret")  # values, not "given": never used
    result = saved_by(repos, github, hostile)
    clone = tmp_path / "review"
    git(tmp_path, "clone", "--quiet", "--branch", result.branch, str(repos.bare), str(clone))
    assert load_repository(clone).errors == []
    history = git(repos.bare, "log", "-p", "--all")
    for secret in ("Real-Password-Typed", "Another-Secret"):
        assert secret not in history and secret not in str(github.requests)
        assert secret not in result.text


def test_a_branch_that_exists_here_or_on_the_remote_is_refused_before_any_push(
        repos: GitRepos, github: GitHubStandIn) -> None:
    git(repos.work, "branch", "new-tenant/aduanas")
    with pytest.raises(GitError, match="branch new-tenant/aduanas already exists in"):
        saved_by(repos, github)
    assert repos.remote_branches() == ["main"] and github.pulls == []

    git(repos.work, "branch", "-D", "new-tenant/aduanas")
    git(repos.work, "push", "--quiet", "origin", "main:refs/heads/new-tenant/aduanas")
    with pytest.raises(GitError, match="already exists on origin"):
        saved_by(repos, github)
    assert repos.local_branches() == ["main"] and github.pulls == []


def test_a_tenant_file_already_on_the_base_branch_is_refused(
        repos: GitRepos, github: GitHubStandIn, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(repos.bare), str(other))
    (other / "tenants" / "aduanas.yaml").write_text((other / "tenants" / "nandu.yaml").read_text())
    git(other, "add", "-A")
    git(other, "-c", "user.name=x", "-c", "user.email=x@example.pe", "commit", "-qm", "x")
    git(other, "push", "--quiet", "origin", "main")
    with pytest.raises(GitError, match=r"tenants/aduanas\.yaml already exists on origin/main"):
        saved_by(repos, github)
    assert repos.local_branches() == ["main"] and github.pulls == []


def test_a_refused_push_says_so_and_leaves_no_branch(
        repos: GitRepos, github: GitHubStandIn) -> None:
    hook = repos.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected: pushes need review' >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    before = repos.state()
    with pytest.raises(GitError) as caught:
        saved_by(repos, github)
    message = str(caught.value)
    assert "the push was refused; no branch was created" in message
    assert "protected: pushes need review" in message
    assert repos.local_branches() == ["main"] and repos.remote_branches() == ["main"]
    assert repos.state() == before and github.pulls == []


def test_a_pull_request_github_refuses_takes_its_branch_back(
        repos: GitRepos, github: GitHubStandIn) -> None:
    github.pulls_status = 422
    with pytest.raises(GitHubError) as caught:
        saved_by(repos, github)
    assert "GitHub answered 422 opening the pull request" in str(caught.value)
    assert "A pull request already exists" in str(caught.value)
    assert "was removed again" in str(caught.value)
    assert repos.remote_branches() == ["main"] and repos.local_branches() == ["main"]


def test_a_refused_token_stops_before_anything_is_pushed(
        repos: GitRepos, github: GitHubStandIn) -> None:
    with pytest.raises(GitHubError, match=r"401.*Bad credentials.*GITHUB_TOKEN was refused"):
        saved_by(repos, github, token="ghp_wrong")
    assert repos.remote_branches() == ["main"] and repos.local_branches() == ["main"]
    assert github.pulls == []


def test_a_credential_in_the_remote_url_is_never_in_a_message(
        repos: GitRepos, github: GitHubStandIn) -> None:
    git(repos.work, "remote", "set-url", "origin",
        "https://user:Sup3rSecretPAT@127.0.0.1:9/nowhere.git")
    with pytest.raises(GitError) as caught:
        saved_by(repos, github)
    assert "Sup3rSecretPAT" not in str(caught.value)
    assert "fetching main from origin failed" in str(caught.value)


@pytest.mark.parametrize(("url", "expected"), [
    ("git@github.com:reseller/tenants.git", "reseller/tenants"),
    ("https://github.com/reseller/tenants", "reseller/tenants"),
    ("https://x-access-token:abc@github.com/reseller/tenants.git", "reseller/tenants"),
    ("ssh://git@github.com/reseller/tenants.git/", "reseller/tenants"),
    ("/srv/git/tenants.git", None),
])
def test_the_github_repository_is_read_from_the_remote_url(url: str,
                                                          expected: str | None) -> None:
    assert repository_of(url) == expected


def test_the_target_defaults_to_the_remotes_default_branch(repos: GitRepos) -> None:
    git(repos.work, "checkout", "--quiet", "-b", "work")
    assert find_target(repos.work, "origin", None).base == "work"  # no origin/HEAD: current
    git(repos.work, "remote", "set-head", "origin", "main")
    assert find_target(repos.work, "origin", None).base == "main"
    with pytest.raises(GitError, match="no git remote named 'upstream'"):
        find_target(repos.work, "upstream", None)
    assert os.environ.get("GIT_INDEX_FILE") is None


def test_a_spec_repository_in_a_subdirectory_gets_its_file_there(tmp_path: Path) -> None:
    import shutil

    from tests.form_env import EXAMPLES

    bare, work = tmp_path / "origin.git", tmp_path / "platform"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    shutil.copytree(EXAMPLES, work / "specs")
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "add", "-A")
    git(work, "-c", "user.name=x", "-c", "user.email=x@example.pe", "commit", "-qm", "specs")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "--quiet", "origin", "main")
    stand_in = GitHubStandIn(bare).start()
    try:
        ev = evaluate(PAYLOAD, load_repository(work / "specs"), for_save=True)
        result = save(ev, find_target(work / "specs", "origin", None), client(stand_in))
    finally:
        stand_in.stop()
    assert result.path == "specs/tenants/aduanas.yaml"
    assert git(bare, "diff", "--name-only", "main", result.branch) == result.path
    assert "`specs/tenants/aduanas.yaml`" in stand_in.pulls[0]["body"]["body"]
