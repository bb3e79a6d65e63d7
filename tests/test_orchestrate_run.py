"""Scheduling, failure isolation, waves, guards and reports, with fake stacks (no Pulumi CLI)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from provisioner.orchestrate.changes import ChangeSet, StackChange
from provisioner.orchestrate.policy import apply_waves, review
from provisioner.orchestrate.report import COMMENT_LIMIT, MARKER, RunReport, markdown_comment
from provisioner.orchestrate.results import StackResult, Step, StepCallback
from provisioner.orchestrate.scheduler import Job, Wave, run_jobs, run_waves
from provisioner.redaction import Redactor
from provisioner.secrets import MASK
from tests.test_orchestrate_changes import commit, git, gitrepo  # noqa: F401  (fixture)

SECRET = "s3cr3t-Pa55word-XYZ"


class FakeRunner:
    """Records calls; fails stacks named in `fail`; reports `changes` per stack."""

    def __init__(self, fail: set[str] = frozenset(), delay: float = 0.0,  # type: ignore[assignment]
                 changes: dict[str, dict[str, int]] | None = None,
                 steps: list[Step] | None = None) -> None:
        self.fail = set(fail)
        self.delay = delay
        self.changes = changes or {}
        self.steps = steps or []
        self.calls: list[tuple[str, str]] = []
        self.prepared = 0
        self.created: list[bool] = []  # create_stacks of each runner asked for
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def prepare(self) -> None:
        self.prepared += 1

    def _op(self, op: str, stack: str, on_step: StepCallback) -> StackResult:
        with self._lock:
            self.calls.append((op, stack))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)
            if stack in self.fail:
                raise RuntimeError(f"error: creating {stack} failed; password {SECRET}")
            for s in self.steps:
                on_step(stack, s)
            counts = {"create": 0, "update": 0, "replace": 0, "delete": 0}
            counts.update(self.changes.get(stack, {}))
            return StackResult(stack, op, True, counts, list(self.steps))
        finally:
            with self._lock:
                self.active -= 1

    def preview(self, stack: str, on_step: StepCallback) -> StackResult:
        return self._op("preview", stack, on_step)

    def up(self, stack: str, on_step: StepCallback) -> StackResult:
        return self._op("up", stack, on_step)

    def destroy(self, stack: str, on_step: StepCallback) -> StackResult:
        return self._op("destroy", stack, on_step)

    def refresh(self, stack: str, on_step: StepCallback) -> StackResult:
        return self._op("refresh", stack, on_step)


def test_parallelism_is_bounded_and_results_keep_job_order() -> None:
    runner = FakeRunner(delay=0.02)
    jobs = [Job(f"t{i}", "up") for i in range(20)]
    results = run_jobs(runner, jobs, parallel=4)
    assert runner.max_active == 4
    assert [r.stack for r in results] == [j.stack for j in jobs]


def test_one_failure_does_not_stop_the_others_and_is_redacted() -> None:
    runner = FakeRunner(fail={"t3"})
    results = run_jobs(runner, [Job(f"t{i}", "up") for i in range(6)], parallel=3,
                       redactor=Redactor([SECRET]))
    assert [r.stack for r in results if not r.ok] == ["t3"]
    assert len(runner.calls) == 6
    failed = results[3]
    assert failed.error and "creating t3 failed" in failed.error
    assert SECRET not in failed.error and MASK in failed.error


def test_waves_stop_at_the_first_failing_wave() -> None:
    runner = FakeRunner(fail={"p2"})
    waves = [Wave("demo", [Job("d1", "up")]), Wave("production 1/2", [Job("p1", "up"),
                                                                      Job("p2", "up")]),
             Wave("production 2/2", [Job("p3", "up")])]
    results = run_waves(runner, waves, parallel=4)
    assert ("up", "p3") not in runner.calls
    assert {r.stack: r.status for r in results} == {"d1": "ok", "p1": "ok", "p2": "failed",
                                                    "p3": "skipped"}


def _change(stack: str, action: str = "up", old_env: str | None = "demo",
            new_env: str | None = "demo", ack: bool = False) -> StackChange:
    def text(env: str | None) -> str | None:
        if env is None:
            return None
        return f"subdomain: {stack}\nsoap:\n  environment: {env}\n" + (
            "acknowledge_demo_history: true\n" if ack else "")
    return StackChange(stack, action, "test", None, None,  # type: ignore[arg-type]
                       text(old_env), text(new_env) if action == "up" else None)


def test_apply_waves_demo_first_then_production_batches() -> None:
    changes = [_change("d1"), _change("p1", new_env="production", old_env="production"),
               _change("p2", new_env="production", old_env=None),
               _change("p3", new_env="production", old_env="production"),
               _change("gone", "destroy", old_env="demo")]
    waves = apply_waves(changes, batch_size=2)
    assert [(w.name, [j.stack for j in w.jobs]) for w in waves] == [
        ("demo and internal", ["d1", "gone"]),
        ("production 1/2", ["p1", "p2"]),
        ("production 2/2", ["p3"])]


def test_removed_production_tenant_is_blocked_unless_allowed() -> None:
    cs = ChangeSet("base", "HEAD", [_change("bodega", "destroy", old_env="production")])
    blocked = review(cs, allow_destroy_production=False, operation="up")
    assert not blocked.runnable
    assert blocked.blocked[0].status == "blocked"
    assert "--allow-destroy-production" in (blocked.blocked[0].error or "")
    allowed = review(cs, allow_destroy_production=True, operation="up")
    assert [c.stack for c in allowed.runnable] == ["bodega"]
    assert "will be destroyed" in allowed.all_warnings()[0]


def test_demo_to_production_needs_acknowledgement() -> None:
    cs = ChangeSet("base", "HEAD", [_change("shop", old_env="demo", new_env="production")])
    refused = review(cs, allow_destroy_production=False, operation="preview")
    assert not refused.runnable
    assert "acknowledge_demo_history: true" in (refused.blocked[0].error or "")
    cs_ack = ChangeSet("base", "HEAD", [_change("shop", old_env="demo", new_env="production",
                                                ack=True)])
    ok = review(cs_ack, allow_destroy_production=False, operation="preview")
    assert [c.stack for c in ok.runnable] == ["shop"]
    assert "keeps its demo data" in ok.all_warnings()[0]


def test_comment_bolds_data_loss_masks_secrets_and_fits_the_limit() -> None:
    steps = [Step("replace", "mysql:index/database:Database", "db", f"name: a → {SECRET}"),
             Step("update", "aws:route53/record:Record", "dns", "ttl: 60 → [secret]")]
    results = [StackResult(f"tenant{i}", "preview", True,
                           {"create": 0, "update": 1, "replace": 1, "delete": 0},
                           steps * 200) for i in range(30)]
    report = RunReport("plan", results, ChangeSet("base", "HEAD"))
    text = markdown_comment(report, Redactor([SECRET]))
    assert text.startswith(MARKER)
    assert len(text) <= COMMENT_LIMIT
    assert "cut" in text
    assert SECRET not in text and "[secret]" not in text
    assert "| tenant0 |" in text or "| **tenant0** |" in text
    small = markdown_comment(RunReport("plan", results[:1], ChangeSet("base", "HEAD")),
                             Redactor([SECRET]))
    assert "- **replace `mysql:index/database:Database` `db`" in small
    assert "- update `aws:route53/record:Record` `dns`" in small
    assert "<details>" in small and "cut" not in small


# -- the commands, with the runner faked -------------------------------------------------------


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeRunner:
    runner = FakeRunner(changes={"nandu": {"update": 1}})
    import provisioner.cli.stacks_common as common

    @contextmanager
    def fake_runner(args: Any, root: Path, repo: Any, redactor: Any,
                    create_stacks: bool = False) -> Iterator[FakeRunner]:
        runner.created.append(create_stacks)
        runner.prepare()
        yield runner

    monkeypatch.setattr(common, "stack_runner", fake_runner)
    return runner


def _edit(repo: Path, name: str, extra: str) -> None:
    p = repo / "tenants" / f"{name}.yaml"
    p.write_text(p.read_text() + extra)


def test_plan_previews_affected_stacks_and_writes_the_comment(
        gitrepo: Path, fake: FakeRunner, run_cli: Any, tmp_path: Path) -> None:  # noqa: F811
    _edit(gitrepo, "nandu", "# reviewed\n")
    commit(gitrepo, "edit")
    comment = tmp_path / "c.md"
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--format", "json",
                           "--comment-file", comment)
    assert code == 0
    data = json.loads(out)
    assert data["results"][0]["stack"] == "nandu"
    assert data["results"][0]["changes"]["update"] == 1
    assert fake.calls == [("preview", "nandu")]
    assert comment.read_text().startswith(MARKER)


def test_plan_refuses_demo_to_production_without_acknowledgement(
        gitrepo: Path, fake: FakeRunner, run_cli: Any, tmp_path: Path) -> None:  # noqa: F811
    p = gitrepo / "tenants" / "nandu.yaml"
    p.write_text(p.read_text().replace("environment: demo", "environment: production\n"
                                       "  sol_user: CAJA1") + "certificate: true\n")
    commit(gitrepo, "go live")
    comment = tmp_path / "c.md"
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--comment-file",
                           comment)
    assert code == 1
    assert "acknowledge_demo_history: true" in out
    assert fake.calls == []
    assert "acknowledge_demo_history" in comment.read_text()


def test_plan_warns_for_fields_the_app_keeps_from_creation(
        gitrepo: Path, fake: FakeRunner, run_cli: Any, tmp_path: Path) -> None:  # noqa: F811
    """The edit dialog never writes the company name or RUC: a PR that changes them is
    previewed (the stack's other resources may change) and the comment says it, by field."""
    p = gitrepo / "tenants" / "nandu.yaml"
    text = p.read_text()
    old_name = next(x for x in text.splitlines() if x.startswith("company_name:"))
    p.write_text(text.replace(old_name, "company_name: Nandu Renombrado S.A.C."))
    commit(gitrepo, "rename")
    comment = tmp_path / "c.md"
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--comment-file",
                           comment)
    assert code == 0 and fake.calls == [("preview", "nandu")]
    assert ("warning: nandu: company_name changed, but the app writes clients.name, "
            "companies.name and companies.trade_name only when the account is created") in out
    body = comment.read_text()
    assert "⚠️ nandu: company_name changed" in body and "1 warning(s)" in body
    assert body.count("- ⚠️") == 1  # the name only: nothing else changed


def test_review_warns_only_for_creation_only_fields() -> None:
    def change(old: str, new: str) -> StackChange:
        return StackChange("shop", "up", "test", None, None, old, new)

    base = 'subdomain: shop\nruc: "20601112222"\nplan: pyme\ncompany_name: A\n'
    cases = {
        base.replace("plan: pyme", "plan: corporativo"): [],  # day 2 writes it
        base.replace('"20601112222"', "20601112222"): [],  # the same RUC, unquoted
        base.replace("company_name: A", "company_name: B"): ["company_name"],
        base + "user_type: integrator\n": ["user_type"],
        base + "trade_name: T\n": ["trade_name"],
        base.replace('"20601112222"', '"20601112223"') + "admin_email: x@y.pe\n": [
            "ruc", "admin_email"],
    }
    for new, fields in cases.items():
        warnings = review(ChangeSet("b", "H", [change(base, new)]),
                          allow_destroy_production=False, operation="preview").all_warnings()
        assert [w.split(" changed", 1)[0] for w in warnings] == [f"shop: {f}" for f in fields]
    # an absent sunat_alternate_server means the reseller's: spelling it out changes nothing
    spelled = review(ChangeSet("b", "H", [change(base, base + "sunat_alternate_server: false\n")]),
                     allow_destroy_production=False, operation="preview",
                     alternate_default=False).all_warnings()
    assert spelled == []
    flipped = review(ChangeSet("b", "H", [change(base, base + "sunat_alternate_server: true\n")]),
                     allow_destroy_production=False, operation="preview",
                     alternate_default=False).all_warnings()
    assert [w.split(" changed")[0] for w in flipped] == ["shop: sunat_alternate_server"]
    limits = {"pyme": 5, "corporativo": 5, "emprendedor": 2}
    for plan, warned in (("corporativo", False), ("emprendedor", True)):
        got = review(ChangeSet("b", "H", [change(base, base.replace("plan: pyme",
                                                                     f"plan: {plan}"))]),
                     allow_destroy_production=False, operation="preview",
                     limit_users=limits).all_warnings()
        assert [w.split(" allows")[0] for w in got] == (
            [f"shop: plan '{plan}'"] if warned else [])
    created = review(ChangeSet("b", "H", [StackChange("shop", "up", "t", None, None, None,
                                                      base)]),
                     allow_destroy_production=False, operation="preview")
    assert created.all_warnings() == []


def test_plan_with_invalid_specs_fails_before_previewing(
        gitrepo: Path, fake: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    _edit(gitrepo, "nandu", "plan: nosuchplan\n")
    commit(gitrepo, "bad")
    code, _, err = run_cli("--repo", gitrepo, "plan", "--base", "base")
    assert code == 1
    assert "nandu.yaml" in err and fake.calls == []


def test_apply_isolates_failure_and_a_second_run_changes_nothing(
        gitrepo: Path, fake: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    for name in ("nandu", "pruebademo", "hotelsol", "bodegaperez"):
        _edit(gitrepo, name, "# reviewed\n")
    commit(gitrepo, "four")
    fake.fail = {"bodegaperez"}  # production, first batch of 1 (hotelsol is in the second)
    code, out, _ = run_cli("--repo", gitrepo, "apply", "--base", "base", "--batch-size", "1",
                           "--format", "json")
    assert code == 1
    status = {r["stack"]: r["status"] for r in json.loads(out)["results"]}
    assert status["nandu"] == "ok" and status["pruebademo"] == "ok"
    assert status["bodegaperez"] == "failed" and status["hotelsol"] == "skipped"
    assert ("up", "hotelsol") not in fake.calls
    first_calls = list(fake.calls)
    assert first_calls[:2] in ([("up", "nandu"), ("up", "pruebademo")],
                               [("up", "pruebademo"), ("up", "nandu")])
    fake.fail, fake.calls, fake.changes = set(), [], {}
    code, out, _ = run_cli("--repo", gitrepo, "apply", "--base", "base", "--format", "json")
    assert code == 0
    assert json.loads(out)["totals"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}
    first, fake.calls = sorted(fake.calls), []
    code, out, _ = run_cli("--repo", gitrepo, "apply", "--base", "base", "--format", "json")
    assert code == 0 and sorted(fake.calls) == first
    assert json.loads(out)["totals"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}


def test_apply_does_not_destroy_a_removed_production_tenant(
        gitrepo: Path, fake: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    (gitrepo / "tenants" / "bodegaperez.yaml").unlink()
    commit(gitrepo, "remove prod")
    code, out, _ = run_cli("--repo", gitrepo, "apply", "--base", "base")
    assert code == 1 and ("destroy", "bodegaperez") not in fake.calls
    assert "--allow-destroy-production" in out
    code, _, _ = run_cli("--repo", gitrepo, "apply", "--base", "base",
                         "--allow-destroy-production")
    assert code == 0 and ("destroy", "bodegaperez") in fake.calls


def test_destroy_guard_reads_the_removed_spec_from_git(
        gitrepo: Path, fake: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    (gitrepo / "tenants" / "hotelsol.yaml").unlink()
    commit(gitrepo, "remove")
    code, out, _ = run_cli("--repo", gitrepo, "destroy", "hotelsol")
    assert code == 1 and fake.calls == [] and "production tenant" in out
    code, _, _ = run_cli("--repo", gitrepo, "destroy", "nandu")
    assert code == 0 and fake.calls == [("destroy", "nandu")]
    code, _, err = run_cli("--repo", gitrepo, "destroy", "no-such!")
    assert code == 2 and "Traceback" not in err


def test_drift_exits_3_and_names_the_drifted_tenants(
        gitrepo: Path, fake: FakeRunner, run_cli: Any) -> None:  # noqa: F811
    fake.changes = {"nandu": {"update": 1}}
    code, out, _ = run_cli("--repo", gitrepo, "drift", "--format", "json")
    assert code == 3
    assert json.loads(out)["drifted"] == ["nandu"]
    assert {op for op, _ in fake.calls} == {"refresh"} and len(fake.calls) == 6
    fake.changes = {}
    code, out, _ = run_cli("--repo", gitrepo, "drift")
    assert code == 0 and "no drift" in out
    fake.fail = {"contaapi"}
    code, out, _ = run_cli("--repo", gitrepo, "drift")
    # a failed check is not an all-clear: the tenant is named as unknown, never "no drift"
    assert code == 1 and "no drift" not in out
    assert "drift unknown (the check failed): contaapi" in out
    fake.changes = {"nandu": {"update": 1}}
    code, out, _ = run_cli("--repo", gitrepo, "drift", "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["drifted"] == ["nandu"] and report["unknown"] == ["contaapi"]


def test_commands_needing_pulumi_say_how_to_install_it(
        gitrepo: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    _edit(gitrepo, "nandu", "# reviewed\n")
    commit(gitrepo, "edit")
    code, _, err = run_cli("--repo", gitrepo, "plan", "--base", "base")
    assert code == 2
    assert "https://www.pulumi.com/docs/install/" in err and "Traceback" not in err
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--list")
    assert code == 0 and "nandu" in out


def test_apply_all_ups_every_tenant_demo_first_without_a_diff(
        repo: Path, fake: FakeRunner, run_cli: Any) -> None:
    """--all is for a first provisioning: no git history needed, nothing destroyed."""
    code, out, _ = run_cli("--repo", repo, "plan", "--all", "--list", "--format", "json")
    assert code == 0
    stacks = sorted(p.stem for p in (repo / "tenants").glob("*.yaml"))
    assert json.loads(out) == {"include": [{"stack": s, "action": "up"} for s in stacks]}
    code, out, _ = run_cli("--repo", repo, "apply", "--all", "--batch-size", "10",
                           "--format", "json")
    assert code == 0
    assert sorted(fake.calls) == [("up", s) for s in stacks]
    demo = {"nandu", "pruebademo", "contaapi"}
    first = {stack for _, stack in fake.calls[:len(demo)]}
    assert first == demo  # demo tenants run in the first wave, production after


def test_plan_marks_adopted_tenants_and_what_their_first_apply_imports(
        gitrepo: Path, fake: FakeRunner, run_cli: Any, tmp_path: Path) -> None:  # noqa: F811
    _edit(gitrepo, "nandu", "adopted:\n  website_id: 41\n  dns_record: true\n")
    _edit(gitrepo, "pruebademo", "# reviewed\n")
    commit(gitrepo, "adopt nandu")
    comment = tmp_path / "c.md"
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--format", "json",
                           "--comment-file", comment)
    assert code == 0
    assert json.loads(out)["adopted"] == {"nandu": ["database", "DNS records (A, AAAA)"]}
    text = comment.read_text()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()
            if line.startswith("| ") and "Tenant" not in line}
    assert "(adopted)" in rows["nandu"] and "(adopted)" not in rows["pruebademo"]
    assert "- adopted — database, DNS records (A, AAAA) imported" in text
    assert text.count("adopted —") == 1


def test_the_comment_says_a_new_adopted_stacks_first_apply_imports() -> None:
    results = [StackResult("hotelsol", "preview", True, new_stack=True),
               StackResult("nandu", "preview", True)]
    report = RunReport("plan", results, ChangeSet("base", "HEAD"),
                       adopted={"hotelsol": ["RDS instance"]})
    text = markdown_comment(report, Redactor([]))
    assert "- adopted — first apply imports RDS instance; the app's user, grant and rows " \
        "are kept, not recreated" in text
    assert "| hotelsol | preview (adopted) |" in text
    assert "| nandu | preview |" in text
