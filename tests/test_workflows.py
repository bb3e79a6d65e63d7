"""Rehearsals of .github/workflows/*.yml: every `run:` step in order, in fresh clones of a
reseller-like repository, with recording stand-ins for `pulumi` and `gh` (see
tests/workflow_rehearsal.py). What GitHub itself enforces (environment approvals, OIDC, the
concurrency queue) is checked as configuration, not executed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflow_rehearsal import Rehearsal, WorkflowRun

ROOT = Path(__file__).resolve().parent.parent
KMS = "awskms://alias/pulumi?region=us-east-1"
VARS = {
    "PULUMI_BACKEND_URL": "s3://acme-pulumi-state",
    "PULUMI_SECRETS_PROVIDER": KMS,
    "AWS_PLAN_ROLE_ARN": "arn:aws:iam::111111111111:role/tenants-plan",
    "AWS_APPLY_ROLE_ARN": "arn:aws:iam::111111111111:role/tenants-apply",
    "AWS_DRIFT_ROLE_ARN": "arn:aws:iam::111111111111:role/tenants-drift",
    "AWS_REGION": "us-east-1",
    "PROVISIONER_SHARDS": "2",
}
DEMO = {"contaapi", "nandu", "pruebademo"}
PRODUCTION = {"bodegaperez", "ferreteriaandina", "hotelsol"}
MARKER = "provisioner-applied"
VPC_RUNNER = {"PROVISIONER_RUNNER": "vpc"}
SKIP = ("bench/", "tests/", "docs/", ".ci/", "scripts/", "examples/")

pytestmark = pytest.mark.timeout(600)


def _reseller_repo(dest: Path) -> Path:
    """This checkout's code and workflows, with the examples as the reseller's specs at the
    root (as in a repository a reseller keeps)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    for rel in files:
        if not rel or rel.startswith(SKIP) or not (ROOT / rel).is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes((ROOT / rel).read_bytes())
    (dest / "reseller.yaml").write_bytes((ROOT / "examples" / "reseller.yaml").read_bytes())
    (dest / "tenants").mkdir()
    for spec in (ROOT / "examples" / "tenants").glob("*.yaml"):
        (dest / "tenants" / spec.name).write_bytes(spec.read_bytes())
    return dest


@pytest.fixture
def rehearsal(tmp_path: Path, request: pytest.FixtureRequest) -> Rehearsal:
    shards = getattr(request, "param", "1")
    # no passphrase secret: a KMS user; a self-hosted runner in the VPC (its .env says so:
    # docs/ci.md "Runner network"), which reaches the app's databases
    r = Rehearsal(tmp_path, vars={**VARS, "PROVISIONER_SHARDS": shards}, secrets={},
                  runner_env=VPC_RUNNER)
    r.init_origin(_reseller_repo(tmp_path / "seed"))
    return r


def _already_applied(r: Rehearsal) -> None:
    """As if an earlier run had applied main: every stack exists (made with the KMS
    provider, its Pulumi.<stack>.yaml left on that runner) and the marker is on main."""
    r.push()
    r.git(r.origin, "tag", MARKER, r.head())
    stacks = {s: {"provider": KMS, "resources": 3, "updates": 1} for s in DEMO | PRODUCTION}
    (r.state / "stacks.json").write_text(json.dumps(stacks))


def _push(r: Rehearsal, *, force: bool = False, **kw: Any) -> WorkflowRun:
    sha = r.push(force=force)
    return r.run("main.yml", {"event_name": "push", "ref": "refs/heads/main", "sha": sha,
                              "checkout_default": sha}, **kw)


def _edit(r: Rehearsal, name: str, line: str) -> dict[str, str]:
    text = (r.author / "tenants" / f"{name}.yaml").read_text()
    return {f"tenants/{name}.yaml": text + line}


def _ups(r: Rehearsal, since: int = 0) -> list[dict[str, Any]]:
    return [c for c in r.pulumi_calls()[since:] if c["cmd"] == "up"]


def _assert_engine_saw_a_ready_program(calls: list[dict[str, Any]],
                                       proxy: str | None = None) -> None:
    """What the engine checks before running the program, and the secrets it would use."""
    for call in calls:
        if call["cmd"] in ("preview", "up", "refresh"):
            assert call["program"] == "ok", call
            assert call["provisioner_file"].startswith(call["cwd"]), call  # the checkout's code
        if "secrets_manager" in call:
            assert call["secrets_manager"] == KMS, call  # never a default or empty passphrase
        assert call["passphrase"] == "unset", call
        assert call["backend"] == VARS["PULUMI_BACKEND_URL"]
        assert call["all_proxy"] == proxy, call


@pytest.mark.parametrize("rehearsal", ["2"], indirect=True)
def test_first_push_applies_every_tenant_waves_kept_then_moves_the_marker(
        rehearsal: Rehearsal) -> None:
    r = rehearsal
    assert r.tag_in_origin(MARKER) is None
    run = _push(r)
    assert run.result("list") == "success", run.log()
    assert [j.matrix["name"] for j in run.jobs["early"]] == ["early 1/2", "early 2/2"]
    assert [j.matrix["name"] for j in run.jobs["production"]] == ["production 1/2",
                                                                  "production 2/2"]
    assert run.result("marker") == "success", run.log()
    calls = r.pulumi_calls()
    _assert_engine_saw_a_ready_program(calls)
    ups = _ups(r)
    assert {c["stack"] for c in ups} == DEMO | PRODUCTION
    # waves across runners: every demo stack before any production stack
    order = [c["stack"] for c in ups]
    assert max(order.index(s) for s in DEMO) < min(order.index(s) for s in PRODUCTION)
    assert {c["role"] for c in ups} == {VARS["AWS_APPLY_ROLE_ARN"]}
    assert {c["environment"] for c in ups} == {"apply"}
    # stacks are created by apply, with the configured provider
    inits = [c for c in calls if c["cmd"] == "stack init"]
    assert sorted(c["stack"] for c in inits) == sorted(DEMO | PRODUCTION)
    assert all(c["argv"][-2:] == ["--secrets-provider", KMS] for c in inits)
    assert r.tag_in_origin(MARKER) == r.head()
    report = json.loads((run.jobs["early"][0].workdir / "apply.json").read_text())
    assert "first apply" in report["everything"]  # the base: no marker yet

    # a later push: only the edited tenant; its Pulumi.<stack>.yaml was written on another
    # runner, so the CLI reads the provider from the state (never the default passphrase)
    r.commit(_edit(r, "nandu", "# reviewed\n"), "edit nandu")
    since = len(r.pulumi_calls())
    run = _push(r)
    assert run.result("marker") == "success", run.log()
    assert [c["stack"] for c in _ups(r, since)] == ["nandu"]
    assert run.jobs["production"][0].result == "skipped"
    assert not [c for c in r.pulumi_calls()[since:] if c["cmd"] == "stack init"]
    _assert_engine_saw_a_ready_program(r.pulumi_calls()[since:])
    assert r.tag_in_origin(MARKER) == r.head()


def test_cancelled_run_then_new_push_applies_both(rehearsal: Rehearsal) -> None:
    r = rehearsal
    _already_applied(r)
    first = r.commit(_edit(r, "nandu", "# one\n"), "one")
    since = len(r.pulumi_calls())
    run = _push(r, cancel_after=["list"])  # cancelled before any shard ran
    assert run.result("early") == "cancelled" and run.result("marker") == "cancelled"
    assert r.tag_in_origin(MARKER) != first
    r.commit(_edit(r, "pruebademo", "# two\n"), "two")
    run = _push(r)
    assert run.result("marker") == "success", run.log()
    assert sorted(c["stack"] for c in _ups(r, since)) == ["nandu", "pruebademo"]
    report = json.loads((run.jobs["early"][0].workdir / "apply.json").read_text())
    assert report["base"].startswith("last applied ")  # the marker, not event.before
    assert r.tag_in_origin(MARKER) == r.head()


def test_failed_shard_keeps_the_marker_and_the_next_run_retries(rehearsal: Rehearsal) -> None:
    r = rehearsal
    _already_applied(r)
    applied = r.tag_in_origin(MARKER)
    r.commit({"tenants/nandu.yaml": "ruc: [not, valid\n"}, "broken spec")
    run = _push(r)
    assert run.result("list") == "success"
    assert "failure" in {run.result("early"), run.result("production"), run.result("list")}
    assert run.result("marker") == "skipped"
    assert r.tag_in_origin(MARKER) == applied


def test_force_push_reapplies_the_dropped_change_and_destroys_the_removed_tenant(
        rehearsal: Rehearsal) -> None:
    r = rehearsal
    _already_applied(r)
    r.commit(_edit(r, "nandu", "# applied, later dropped\n"), "nandu edit")
    _push(r)
    applied = r.tag_in_origin(MARKER)
    assert applied == r.head()
    r.git(r.author, "reset", "-q", "--hard", "HEAD~1")
    r.commit({"tenants/contaapi.yaml": None}, "remove contaapi")
    since = len(r.pulumi_calls())
    run = _push(r, force=True)
    assert run.result("marker") == "success", run.log()
    calls = r.pulumi_calls()[since:]
    assert [c["stack"] for c in calls if c["cmd"] == "up"] == ["nandu"]
    assert [c["stack"] for c in calls if c["cmd"] == "destroy"] == ["contaapi"]
    assert r.tag_in_origin(MARKER) == r.head()


def _pr(r: Rehearsal, number: int, files: dict[str, str | None]) -> WorkflowRun:
    base = r.git(r.author, "rev-parse", "origin/main")
    r.git(r.author, "checkout", "-q", "-B", f"pr{number}", base)
    head = r.commit(files, f"pr {number}")
    r.git(r.author, "push", "-q", "--force", "origin", f"HEAD:refs/pull/{number}/head")
    r.git(r.author, "checkout", "-q", "main")
    return r.run("pr.yml", {
        "event_name": "pull_request_target", "ref": "refs/heads/main", "base_ref": "main",
        "sha": base, "checkout_default": "refs/heads/main",
        "event": {"pull_request": {"number": number, "head": {"sha": head},
                                   "base": {"sha": base}}}})


def test_pull_requests_plan_spec_changes_at_once_and_code_after_approval(
        rehearsal: Rehearsal) -> None:
    r = rehearsal
    _already_applied(r)
    ran = r.state / "pr-code-ran"
    init = (r.author / "provisioner" / "__init__.py").read_text()
    evil = init + ("\nimport os as _os\nwith open(_os.environ['REHEARSAL_DIR'] + '/pr-code-ran', "
                   "'a') as _f:\n    _f.write(_os.environ.get('REHEARSAL_JOB', '?') + '\\n')\n")
    since = len(r.pulumi_calls())

    # a spec-only PR: planned at once, in `plan`, with main's code
    new = (r.author / "tenants" / "pruebademo.yaml").read_text()
    for old, value in (("pruebademo", "nuevo"), ("20123456789", "20123456780"),
                       ("Empresa de Prueba", "Otra Prueba"), ("demo@", "nuevo@")):
        new = new.replace(old, value)
    run = _pr(r, 7, {**_edit(r, "pruebademo", "# spec only\n"), "tenants/nuevo.yaml": new})
    assert run.jobs["list"][0].outputs["review"] == "false", run.log()
    assert {j.environment for j in run.jobs["plan"]} == {"plan"}
    assert run.result("comment") == "success", run.log()
    calls = r.pulumi_calls()[since:]
    _assert_engine_saw_a_ready_program(calls)
    assert {c["cmd"] for c in calls} <= {"version", "plugin install", "stack select",
                                         "preview"}  # never creates a stack
    assert {c["role"] for c in calls if c["cmd"] == "preview"} == {VARS["AWS_PLAN_ROLE_ARN"]}
    assert [c["stack"] for c in calls if c["cmd"] == "preview"] == ["pruebademo"]
    (comment,) = r.comments()
    assert comment["body"].startswith("<!-- provisioner-plan -->")
    assert "nuevo" in comment["body"] and "new stack" in comment["body"]
    assert "provisioner explain nuevo" in comment["body"]

    # a PR changing code: its code runs only in the plan job, in `plan-review` (approval)
    run = _pr(r, 7, {"provisioner/__init__.py": evil, **_edit(r, "nandu", "# code pr\n")})
    assert run.jobs["list"][0].outputs["review"] == "true"
    assert {j.environment for j in run.jobs["plan"]} == {"plan-review"}
    assert run.result("plan") == "success", run.log()
    jobs_that_ran_pr_code = set(ran.read_text().split("\n")) - {""}
    assert jobs_that_ran_pr_code and all(j.startswith("plan ") for j in jobs_that_ran_pr_code)
    (comment,) = r.comments()  # the same comment, edited
    assert "plan-review" in comment["body"]
    assert any("PATCH" in call for call in r.gh_calls())



def test_a_hosted_runner_without_a_way_to_the_databases_applies_nothing(
        tmp_path: Path) -> None:
    """On a runner that does not say it is in the VPC, with no SOCKS tunnel named, the apply
    shards stop before any engine call with one line (exit 2), no stack is created and the
    marker stays; naming the tunnel (the PROVISIONER_DB_PROXY variable) lets the same push
    through."""
    r = Rehearsal(tmp_path, vars=VARS, secrets={}, runner_env={})  # GitHub-hosted
    r.init_origin(_reseller_repo(tmp_path / "seed"))
    run = _push(r)
    assert run.result("early") == "failure", run.log()
    assert "reseller.yaml:35:1: app: in CI (CI=true)" in run.log()
    assert "set PROVISIONER_DB_PROXY=socks5://HOST:PORT" in run.log()
    assert not [c for c in r.pulumi_calls() if c["stack"]], r.pulumi_calls()
    assert r.stacks() == {}
    assert r.tag_in_origin(MARKER) is None
    r.vars["PROVISIONER_DB_PROXY"] = "socks5://127.0.0.1:1080"
    run = r.run("main.yml", {"event_name": "push", "ref": "refs/heads/main", "sha": r.head(),
                             "checkout_default": r.head()})
    assert run.result("marker") == "success", run.log()
    assert {c["stack"] for c in _ups(r)} == DEMO | PRODUCTION

def test_drift_and_validate_run_on_a_fresh_runner(rehearsal: Rehearsal) -> None:
    r = rehearsal
    sha = r.head()
    run = r.run("validate.yml", {"event_name": "pull_request", "sha": sha,
                                 "checkout_default": sha})
    assert run.result("validate") == "success", run.log()
    # production tenants were applied, demo ones never were
    stacks = {s: {"provider": KMS, "resources": 3, "updates": 1} for s in PRODUCTION}
    (r.state / "stacks.json").write_text(json.dumps(stacks))
    r.vars["PROVISIONER_DB_PROXY"] = "socks5://127.0.0.1:1080"  # a tunnel to a private database
    run = r.run("drift.yml", {"event_name": "schedule", "ref": "refs/heads/main", "sha": sha,
                              "checkout_default": sha})
    early, production = run.jobs["drift"]
    assert production.result == "success", run.log()
    assert early.result == "failure"  # exit 3: tenants in git without a stack
    assert "no stack yet: contaapi, nandu, pruebademo" in early.summary
    calls = r.pulumi_calls()
    assert not [c for c in calls if c["cmd"] == "stack init"]  # drift never creates stacks
    refreshed = [c for c in calls if c["cmd"] == "refresh"]
    assert {c["stack"] for c in refreshed} == PRODUCTION
    assert all("--preview-only" in c["argv"] for c in refreshed), refreshed[0]["argv"]
    assert {c["role"] for c in refreshed} == {VARS["AWS_DRIFT_ROLE_ARN"]}
    assert {c["environment"] for c in refreshed} == {"drift"}
    _assert_engine_saw_a_ready_program(refreshed, proxy="socks5://127.0.0.1:1080")


def test_workflow_rerun_of_an_older_run_after_a_newer_one_applied_changes_nothing(
        rehearsal: Rehearsal) -> None:
    """GitHub's "Re-run failed jobs" keeps the outputs of the jobs not re-run, so the old
    run's shards get its old commit: they stop at `--require-tip` and apply nothing, and the
    marker stays on the newer commit."""
    r = rehearsal
    _already_applied(r)
    r.commit(_edit(r, "nandu", "# older\n"), "older")
    old_sha = r.push()
    old_event = {"event_name": "push", "ref": "refs/heads/main", "sha": old_sha,
                 "checkout_default": old_sha}
    old = r.run("main.yml", old_event, cancel_after=["list"])
    assert old.result("early") == "cancelled"
    assert old.jobs["list"][0].outputs["sha"] == old_sha
    r.commit(_edit(r, "pruebademo", "# newer\n"), "newer")
    newer = _push(r)
    assert newer.result("marker") == "success", newer.log()
    applied = r.tag_in_origin(MARKER)
    assert applied == r.head()
    since = len(r.pulumi_calls())
    rerun = r.run("main.yml", old_event, rerun_failed_of=old)
    assert rerun.jobs["list"] is old.jobs["list"]  # not re-run: its old outputs are kept
    assert rerun.result("early") == "failure", rerun.log()
    assert "is no longer the tip of main" in rerun.log()
    assert not [c for c in r.pulumi_calls()[since:] if c["cmd"] in ("up", "destroy")]
    assert rerun.result("marker") == "skipped"
    assert r.tag_in_origin(MARKER) == applied


def test_workflow_marker_job_never_moves_the_marker_backwards(rehearsal: Rehearsal) -> None:
    """The marker job's own check: re-run alone with an old run's commit, it refuses."""
    r = rehearsal
    _already_applied(r)
    old_sha = r.head()
    r.commit(_edit(r, "nandu", "# newer\n"), "newer")
    assert _push(r).result("marker") == "success"
    applied = r.tag_in_origin(MARKER)
    old = r.run("main.yml", {"event_name": "push", "ref": "refs/heads/main", "sha": old_sha,
                             "checkout_default": old_sha}, cancel_after=["production"])
    # the old run's list job checked out the tip (nothing to apply): fake its old outputs
    old.jobs["list"][0].outputs = {**old.jobs["list"][0].outputs, "sha": old_sha,
                                   "any_early": "false", "any_production": "false"}
    rerun = r.run("main.yml", {"event_name": "push", "ref": "refs/heads/main",
                               "sha": old_sha, "checkout_default": old_sha},
                  rerun_failed_of=old)
    assert rerun.result("marker") == "failure", rerun.log()
    assert "no longer the tip of main" in rerun.log()
    assert r.tag_in_origin(MARKER) == applied


def test_workflow_spec_only_check_sees_renames_into_tenants(rehearsal: Rehearsal) -> None:
    """Moving a program file to tenants/x.yaml deletes code outside tenants/: with git's
    rename detection `--name-only` would report only the new path (spec-only)."""
    r = rehearsal
    _already_applied(r)
    code = (r.author / "provisioner" / "errors.py").read_text()
    run = _pr(r, 9, {"provisioner/errors.py": None, "tenants/errors.yaml": code})
    assert run.jobs["list"][0].outputs["review"] == "true", run.log()
    assert "needs review: provisioner/errors.py" in run.log()


def test_workflow_files_are_the_same_for_every_repository() -> None:
    """`provisioner init` copies them: nothing may name this repository, its paths or its
    account; settings come from repository variables."""
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        for needle in ("examples/", "wt-", "111111111111", "acme", "pip install -e"):
            assert needle not in text, (path.name, needle)
        data = yaml.safe_load(text)
        assert data.get("permissions") is not None, f"{path.name}: default token permissions"


def _standin(tmp: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run([sys.executable, str(ROOT / "tests" / "standins" / "pulumi.py"),
                           *args], cwd=tmp, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "REHEARSAL_DIR": str(tmp), **env})


def test_the_pulumi_standin_fails_where_the_engine_would(tmp_path: Path) -> None:
    """The checks the rehearsal relies on can fail: no .venv (the engine would make an empty
    one), and a stack without its settings file read with the default passphrase manager."""
    (tmp_path / "Pulumi.yaml").write_text(
        "name: t\nruntime: {name: python, options: {toolchain: pip, virtualenv: .venv}}\n"
        "main: infra/\n")
    (tmp_path / "stacks.json").write_text(json.dumps({"nandu": {"provider": KMS,
                                                                "resources": 3, "updates": 1}}))
    proc = _standin(tmp_path, ["preview", "--stack", "nandu"], {
        "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true"})
    assert proc.returncode == 1 and "Pulumi SDK has not been installed" in proc.stderr
    proc = _standin(tmp_path, ["up", "--yes", "--stack", "nandu"],
                    {"PULUMI_CONFIG_PASSPHRASE": ""})  # no fallback: default manager
    (call,) = [c for c in map(json.loads, (tmp_path / "pulumi.log").read_text().splitlines())
               if c["cmd"] == "up"]
    assert call["secrets_manager"] == "passphrase (default) EMPTY"
    with pytest.raises(AssertionError):
        _assert_engine_saw_a_ready_program([call])
