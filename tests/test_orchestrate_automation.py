"""The adapter's calls into pulumi.automation, checked against autospec fakes (no CLI here)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from pulumi import automation as auto

from provisioner.orchestrate.automation import (
    AutomationRunner,
    EventCollector,
    SecretsSettingsError,
    _merge_counts,
    check_secrets_settings,
    counts_from_opmap,
    plugin_versions,
)
from provisioner.orchestrate.local import LocalPlatform
from provisioner.orchestrate.results import StackResult, Step
from provisioner.redaction import Redactor
from provisioner.secrets import MASK

KMS = "awskms://alias/pulumi?region=us-east-1"
REAL_WORKSPACE = auto.LocalWorkspace
REAL_STACK = auto.Stack


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    workspaces: list[Any] = []
    stacks: dict[str, Any] = {}
    existing: set[str] = set()  # stacks `select` finds; `create_or_select` adds to it

    def new_workspace(**kwargs: Any) -> Any:
        ws = mock.create_autospec(REAL_WORKSPACE, instance=True)
        ws.kwargs = kwargs
        workspaces.append(ws)
        return ws

    def create_or_select(name: str, workspace: Any) -> Any:
        stack = mock.create_autospec(REAL_STACK, instance=True)
        stack.workspace = workspace
        summary = mock.Mock(resource_changes={"same": 3, "update": 1})
        stack.preview.return_value = mock.Mock(change_summary={auto.events.OpType.CREATE: 2,
                                                                "same": 1})
        stack.up.return_value = mock.Mock(summary=summary)
        stack.destroy.return_value = mock.Mock(summary=mock.Mock(resource_changes={"delete": 4}))
        stack.preview_refresh.return_value = mock.Mock(change_summary={"same": 5})
        stacks[name] = stack
        existing.add(name)
        return stack

    def select(name: str, workspace: Any) -> Any:
        if name not in existing:
            raise auto.StackNotFoundError(auto.CommandResult(
                stdout="", stderr=f"error: no stack named '{name}' found", code=255))
        return create_or_select(name, workspace)

    workspace_cls = mock.create_autospec(REAL_WORKSPACE, side_effect=new_workspace)
    monkeypatch.setattr(auto, "LocalWorkspace", workspace_cls)
    monkeypatch.setattr(auto.Stack, "create_or_select",
                        mock.create_autospec(auto.Stack.create_or_select,
                                             side_effect=create_or_select))
    monkeypatch.setattr(auto.Stack, "select",
                        mock.create_autospec(auto.Stack.select, side_effect=select))
    monkeypatch.setenv("PROVISIONER_SECRETS_PROVIDER", KMS)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    return {"cls": workspace_cls, "workspaces": workspaces, "stacks": stacks,
            "existing": existing}


def _noop(stack: str, step: Step) -> None:
    pass


def test_one_workspace_per_stack_on_the_repository_project(fakes: dict[str, Any],
                                                           tmp_path: Path) -> None:
    fakes["existing"].add("alpha")
    runner = AutomationRunner(tmp_path, env={"PROVISIONER_SPEC_ROOT": "x"}, plugins={},
                              secrets_provider=KMS, create_stacks=True)
    a = runner.preview("alpha", _noop)
    runner.up("beta", _noop)
    select, create = auto.Stack.select, auto.Stack.create_or_select
    assert [c.args[0] for c in select.call_args_list] == ["alpha"]  # type: ignore[attr-defined]
    assert [c.args[0] for c in create.call_args_list] == ["beta"]  # type: ignore[attr-defined]
    assert len(fakes["workspaces"]) == 2
    assert fakes["workspaces"][0] is not fakes["workspaces"][1]
    for ws in fakes["workspaces"]:
        assert ws.kwargs["work_dir"] == str(tmp_path)
        assert ws.kwargs["secrets_provider"] == KMS
        # the engine's variables (provisioner/engine.py), then the caller's
        assert ws.kwargs["env_vars"] == {"PROVISIONER_SPEC_ROOT": "x",
                                         "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true",
                                         "PULUMI_PYTHON_CMD": sys.executable,
                                         "PULUMI_SKIP_UPDATE_CHECK": "1",
                                         **({"PATH": ws.kwargs["env_vars"]["PATH"]}
                                            if runner.engine else {})}
        ws.select_stack.assert_not_called()
    alpha = fakes["stacks"]["alpha"]
    alpha.preview.assert_called_once()
    kwargs = alpha.preview.call_args.kwargs
    assert kwargs["diff"] is True and callable(kwargs["on_event"])
    assert a.changes == {"create": 2, "update": 0, "replace": 0, "delete": 0}
    fakes["stacks"]["beta"].up.assert_called_once()
    assert callable(fakes["stacks"]["beta"].up.call_args.kwargs["on_event"])


def test_up_destroy_and_drift_counts(fakes: dict[str, Any], tmp_path: Path) -> None:
    fakes["existing"].update({"b", "c"})
    runner = AutomationRunner(tmp_path, plugins={}, secrets_provider=KMS, create_stacks=True)
    assert runner.up("a", _noop).changes["update"] == 1
    assert runner.destroy("b", _noop).changes["delete"] == 4
    drift = runner.refresh("c", _noop)
    fakes["stacks"]["c"].preview_refresh.assert_called_once()
    fakes["stacks"]["c"].refresh.assert_not_called()
    assert drift.total_changes == 0
    # the program runs first: providers get today's config and secrets, not those in state
    assert fakes["stacks"]["c"].preview_refresh.call_args.kwargs["run_program"] is True


def test_plugins_are_installed_once_from_the_installed_sdks(fakes: dict[str, Any],
                                                           tmp_path: Path) -> None:
    versions = plugin_versions()
    assert set(versions) == {"aws", "random", "mysql"}
    import pulumi_aws

    assert versions["aws"] == pulumi_aws._utilities.get_version()  # type: ignore[attr-defined]
    runner = AutomationRunner(tmp_path, secrets_provider=KMS)
    runner.prepare()
    ws = fakes["workspaces"][0]
    assert sorted(c.args for c in ws.install_plugin.call_args_list) == sorted(
        (name, v) for name, v in versions.items())


def test_local_mode_sets_the_stack_config(fakes: dict[str, Any], tmp_path: Path) -> None:
    platform = LocalPlatform("http://127.0.0.1:5555", "ZLOCAL1", "key-1", "arn:secret",
                             "127.0.0.1:3306", "admin", "dbpass")
    runner = AutomationRunner(tmp_path, secrets_provider="passphrase", plugins={},
                              env={"PULUMI_CONFIG_PASSPHRASE": "local-pass"}, create_stacks=True,
                              stack_config=lambda s: platform.stack_config(),
                              path_config=lambda s: platform.endpoint_paths())
    runner.up("nandu", _noop)
    assert fakes["workspaces"][0].kwargs["secrets_provider"] == "passphrase"
    stack = fakes["stacks"]["nandu"]
    plain, paths = stack.set_all_config.call_args_list
    config = plain.args[0]
    assert config["aws:region"].value == "us-east-1"
    assert config["aws:skipCredentialsValidation"].value == "true"
    assert config["aws:skipRequestingAccountId"].value == "true"
    assert config["hostedZoneId"].value == "ZLOCAL1"
    assert config["sharedDatabaseEndpoint"].value == "127.0.0.1:3306"
    assert config["sharedDatabaseAdminPassword"].secret is True
    assert config["aws:secretKey"].secret is True
    assert paths.kwargs == {"path": True}
    assert {k: v.value for k, v in paths.args[0].items()} == {
        f"aws:endpoints[0].{svc}": "http://127.0.0.1:5555"
        for svc in ("route53", "secretsmanager", "rds", "kms", "sts")}


def test_events_become_steps_without_secret_values() -> None:
    seen: list[tuple[str, Step]] = []
    collector = EventCollector("nandu", lambda s, st: seen.append((s, st)), Redactor(["hunter22"]))
    secret_obj = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                  "value": "plain-secret"}
    meta = auto.StepEventMetadata(
        op=auto.events.OpType.REPLACE, urn="urn:pulumi:nandu::tenants::mysql:index/user:User::db",
        type="mysql:index/user:User", provider="",
        old=auto.StepEventStateMetadata(type="", urn="", custom=True, delete=False, id="",
                                        parent="", protect=False, provider="",
                                        inputs={"password": "hunter22", "host": "a"},
                                        outputs={}, retain_on_delete=False),
        new=auto.StepEventStateMetadata(type="", urn="", custom=True, delete=False, id="",
                                        parent="", protect=False, provider="",
                                        inputs={"password": secret_obj, "host": "b"},
                                        outputs={}, retain_on_delete=False),
        diffs=["password", "host"])
    collector(auto.EngineEvent(1, 0, resource_pre_event=auto.ResourcePreEvent(meta)))
    assert [s for _, s in seen] == collector.steps
    step = collector.steps[0]
    assert (step.op, step.name, step.destructive) == ("replace", "db", True)
    assert "hunter22" not in step.detail and "plain-secret" not in step.detail
    assert step.detail.count(MASK) == 2 and '"a" → "b"' in step.detail


def test_a_value_known_only_after_the_apply_is_shown_as_such() -> None:
    from pulumi.runtime.rpc import UNKNOWN

    from provisioner.orchestrate.automation import UNKNOWN_SHOWN

    collector = EventCollector("nandu", lambda s, st: None, Redactor())

    def state(inputs: dict[str, Any]) -> Any:
        return auto.StepEventStateMetadata(type="", urn="", custom=True, delete=False, id="",
                                           parent="", protect=False, provider="",
                                           inputs=inputs, outputs={}, retain_on_delete=False)

    meta = auto.StepEventMetadata(
        op=auto.events.OpType.UPDATE, urn="urn:pulumi:nandu::tenants::mysql:index/user:User::u",
        type="mysql:index/user:User", provider="", old=state({"host": "a"}),
        new=state({"host": UNKNOWN}), diffs=["host"])
    collector(auto.EngineEvent(1, 0, resource_pre_event=auto.ResourcePreEvent(meta)))
    assert collector.steps[0].detail == f'host: "a" → {UNKNOWN_SHOWN}'


def test_an_error_from_a_python_provider_is_one_line_without_its_traceback() -> None:
    from provisioner.orchestrate.automation import describe_error

    stderr = ("  ~  pulumi-python:dynamic/app:Step app-website refresh 1 error\n"
              "error: Preview failed: Traceback (most recent call last):\n"
              '  File "/x/pulumi/dynamic/__main__.py", line 201, in Read\n'
              "    result = provider.read(id_, props)\n"
              "provisioner.app.connection.AppUnreachable: refresh of app-website: cannot "
              "connect to 127.0.0.1:3306 as root: Access denied (error 1045)\n")
    line = describe_error(mock.Mock(stderr=stderr), Redactor())
    assert "\n" not in line and "Traceback" not in line and 'File "' not in line
    assert line.endswith("Access denied (error 1045)")


def test_an_import_is_a_step_of_its_own_counted_with_the_creates() -> None:
    """An adopted account's `import_` resource: the plan says import, never create."""
    collector = EventCollector("nandu", lambda s, st: None, Redactor([]))
    meta = auto.StepEventMetadata(
        op=auto.events.OpType.IMPORT, urn="urn:pulumi:nandu::tenants::"
        "mysql:index/database:Database::database", type="mysql:index/database:Database",
        provider="")
    collector(auto.EngineEvent(1, 0, resource_pre_event=auto.ResourcePreEvent(meta)))
    assert [(s.op, s.name) for s in collector.steps] == [("import", "database")]
    assert _merge_counts(collector, None) == {"create": 1, "update": 0, "replace": 0,
                                              "delete": 0}
    assert counts_from_opmap({auto.events.OpType.IMPORT: 2}) == {
        "create": 2, "update": 0, "replace": 0, "delete": 0}


def test_resource_warnings_are_kept_redacted_and_engine_notes_are_not() -> None:
    collector = EventCollector("hotelsol", lambda s, st: None, Redactor(["hunter22"]))
    urn = "urn:pulumi:hotelsol::tenants::facturador:tenants:Tenant::hotelsol"
    for message, where in (("adopted instance x: instance_class differs (hunter22)\n", urn),
                           ("adopted instance x: instance_class differs (hunter22)\n", urn),
                           ("using pulumi-resource-aws from $PATH at /tmp/bin", None)):
        collector(auto.EngineEvent(1, 0, diagnostic_event=auto.DiagnosticEvent(
            message=message, color="never", severity="warning", urn=where)))
    assert collector.warnings == [f"adopted instance x: instance_class differs ({MASK})"]
    assert collector.errors == []
    from provisioner.orchestrate.policy import engine_warnings

    ran = StackResult("hotelsol", "preview", warnings=list(collector.warnings))
    new = StackResult("nandu", "preview", skipped=True, new_stack=True, warnings=["new stack"])
    assert engine_warnings([ran, new]) == {
        "hotelsol": [f"hotelsol: adopted instance x: instance_class differs ({MASK})"]}


def test_stack_select_and_init_never_overlap_across_threads(fakes: dict[str, Any],
                                                           tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`pulumi stack select` / `stack init` rewrite one workspace file per project (under
    PULUMI_HOME, not per LocalWorkspace object): parallel stacks must not run them at once."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    inner = auto.Stack.select
    state = {"active": 0, "most": 0}
    guard = threading.Lock()

    def tracked(name: str, workspace: Any) -> Any:
        with guard:
            state["active"] += 1
            state["most"] = max(state["most"], state["active"])
        time.sleep(0.02)
        try:
            return inner(name, workspace)
        finally:
            with guard:
                state["active"] -= 1

    monkeypatch.setattr(auto.Stack, "select", tracked)
    runner = AutomationRunner(tmp_path, plugins={}, secrets_provider=KMS)
    names = [f"t{i}" for i in range(6)]
    fakes["existing"].update(names)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: runner.preview(n, _noop), names))
    assert [r.stack for r in results] == names
    assert len(fakes["workspaces"]) == 6  # still one workspace per stack
    assert state["most"] == 1


def test_preview_and_drift_never_create_a_stack(fakes: dict[str, Any], tmp_path: Path) -> None:
    """A pull request or a nightly run selects stacks; a missing one is reported as new."""
    runner = AutomationRunner(tmp_path, plugins={}, secrets_provider=KMS, create_stacks=False)
    for result in (runner.preview("fresh", _noop), runner.refresh("fresh", _noop)):
        assert result.ok and result.new_stack and result.status == "new stack"
        assert "apply" in result.warnings[0]
    gone = runner.destroy("fresh", _noop)
    assert gone.ok and gone.skipped and not gone.new_stack
    auto.Stack.create_or_select.assert_not_called()  # type: ignore[attr-defined]
    assert fakes["stacks"] == {}
    # even `up` only selects unless the runner may create stacks (apply)
    assert runner.up("fresh", _noop).new_stack
    auto.Stack.create_or_select.assert_not_called()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("provider", "environ", "needle"), [
    (None, {}, "PROVISIONER_SECRETS_PROVIDER is not set"),
    ("", {"PULUMI_CONFIG_PASSPHRASE": "x"}, "is not set"),
    (KMS, {"PULUMI_CONFIG_PASSPHRASE": ""}, "set but empty"),
    ("passphrase", {"PULUMI_CONFIG_PASSPHRASE": ""}, "set but empty"),
    ("passphrase", {}, "needs a non-empty"),
    ("default", {"PULUMI_BACKEND_URL": "s3://state"}, "means a passphrase"),
    ("s3://bucket", {}, "not a secrets provider"),
])
def test_secrets_settings_never_fall_back(provider: str | None, environ: dict[str, str],
                                          needle: str, tmp_path: Path) -> None:
    with pytest.raises(SecretsSettingsError, match=needle):
        AutomationRunner(tmp_path, plugins={}, secrets_provider=provider, environ=environ)


def test_secrets_settings_accepted(tmp_path: Path) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("correct horse\n")
    assert check_secrets_settings(KMS, {}) == KMS
    assert check_secrets_settings("passphrase", {"PULUMI_CONFIG_PASSPHRASE": "p"}) == "passphrase"
    assert check_secrets_settings(
        "passphrase", {"PULUMI_CONFIG_PASSPHRASE_FILE": str(phrase)}) == "passphrase"
    assert check_secrets_settings("default", {}) == "default"  # Pulumi Cloud backend
    phrase.write_text("  \n")
    with pytest.raises(SecretsSettingsError):
        check_secrets_settings("passphrase", {"PULUMI_CONFIG_PASSPHRASE_FILE": str(phrase)})


@pytest.mark.parametrize(("content", "provider", "ok"), [
    ("secretsprovider: awskms://alias/pulumi?region=us-east-1\nencryptedkey: AQ==\n", KMS, True),
    ("secretsprovider: awskms://alias/pulumi\nencryptedkey: AQ==\n", KMS, True),
    ("secretsprovider: awskms://alias/other\nencryptedkey: AQ==\n", KMS, False),
    ("encryptionsalt: v1:abc:def\nconfig: {}\n", KMS, False),
    ("encryptionsalt: v1:abc:def\n", "passphrase", True),
    ("secretsprovider: awskms://alias/pulumi\n", "passphrase", False),
    ("config:\n  aws:region: us-east-1\n", KMS, True),
])
def test_a_stack_file_must_match_the_provider(fakes: dict[str, Any], tmp_path: Path,
                                              content: str, provider: str, ok: bool) -> None:
    (tmp_path / "Pulumi.nandu.yaml").write_text(content)
    fakes["existing"].add("nandu")
    runner = AutomationRunner(tmp_path, plugins={}, secrets_provider=provider,
                              environ={"PULUMI_CONFIG_PASSPHRASE": "p"})
    if ok:
        assert runner.preview("nandu", _noop).ok
    else:
        with pytest.raises(SecretsSettingsError, match=r"Pulumi\.nandu\.yaml"):
            runner.preview("nandu", _noop)
        auto.Stack.select.assert_not_called()  # type: ignore[attr-defined]


def test_cli_refuses_missing_or_empty_secrets_settings_before_any_stack_op(
        repo: Path, run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the Pulumi CLI present, `apply` stops at the settings (exit 2) and never reaches a
    stack: the recording `pulumi` below sees no call at all."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    fake = bin_dir / "pulumi"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\necho v3.200.0\n")
    fake.chmod(0o755)
    (repo / "Pulumi.yaml").write_text("name: tenants\nruntime: python\nmain: infra/\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.delenv("PROVISIONER_SECRETS_PROVIDER", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    code, _, err = run_cli("--repo", repo, "apply", "--all")
    assert code == 2 and "PROVISIONER_SECRETS_PROVIDER is not set" in err
    monkeypatch.setenv("PROVISIONER_SECRETS_PROVIDER", KMS)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    code, _, err = run_cli("--repo", repo, "drift")
    assert code == 2 and "set but empty" in err
    assert not log.exists()
