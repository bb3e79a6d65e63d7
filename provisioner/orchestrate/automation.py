"""The only module that talks to pulumi.automation: one LocalWorkspace per stack over the
repository's own Pulumi project, results turned into plain `StackResult`s.

The CLI keeps a project's "current stack" in one file per project under PULUMI_HOME
(`workspaces/<project>-<sha1 of Pulumi.yaml's path>-workspace.json`), shared by every
`LocalWorkspace` object and every process on that work_dir, and rewritten in place by each
`pulumi stack select` / `stack init`. A separate `LocalWorkspace` per stack does not isolate that
file, so the select/init that `Stack.create_or_select` runs is serialised here; the commands that
follow pass `--stack` explicitly and never depend on the current stack.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from provisioner.errors import ProvisionerError, UsageError
from provisioner.orchestrate.redact import Redactor
from provisioner.orchestrate.results import StackResult, Step, StepCallback, empty_counts

INSTALL_URL = "https://www.pulumi.com/docs/install/"
PLUGIN_PACKAGES = ("pulumi_aws", "pulumi_random", "pulumi_mysql")
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml", "Pulumi.json")
# Pulumi counts a replacement once as "replace"; create-/delete-replacement steps are its parts.
_OP_ALIASES = {"create": "create", "import": "create", "update": "update", "replace": "replace",
               "delete": "delete"}
# `stack select` / `stack init` rewrite the project's workspace file (see above): one at a time.
_SELECT_LOCK = threading.Lock()


class PulumiCliMissing(UsageError):
    """The command drives the Pulumi CLI, which is not on PATH."""


def require_pulumi_cli(which: Callable[[str], str | None] = shutil.which) -> str:
    path = which("pulumi")
    if path is None:
        raise PulumiCliMissing(
            "this command runs the Pulumi CLI, which is not installed (no `pulumi` on PATH). "
            f"Install it (see {INSTALL_URL}), e.g. `curl -fsSL https://get.pulumi.com | sh`, "
            "then run the command again. `plan --list` needs no Pulumi CLI.")
    return path


def find_project_dir(start: Path) -> Path:
    """The nearest directory from `start` up holding Pulumi.yaml: the workspace's work_dir."""
    start = start.resolve()
    for candidate in [start, *start.parents]:
        if any((candidate / n).is_file() for n in PROJECT_FILES):
            return candidate
    raise UsageError(f"no Pulumi.yaml in {start} or above: run from the repository that holds "
                     "the Pulumi project (Pulumi.yaml, program in infra/)")


def plugin_versions(packages: tuple[str, ...] = PLUGIN_PACKAGES) -> dict[str, str]:
    """Provider plugin versions the installed SDK packages were generated for, so the CLI
    downloads exactly the plugins the program will ask for."""
    out: dict[str, str] = {}
    for package in packages:
        try:
            text = resources.files(package).joinpath("pulumi-plugin.json").read_text()
        except (ModuleNotFoundError, FileNotFoundError):
            continue
        data = json.loads(text)
        if data.get("resource", True) and data.get("name") and data.get("version"):
            out[str(data["name"])] = str(data["version"]).removeprefix("v")
    return out


@dataclass
class EventCollector:
    """Turns engine events into Steps as they arrive and forwards them for live progress.
    Property values are never copied except through the redactor."""

    stack: str
    on_step: StepCallback
    redactor: Redactor
    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    summary: dict[str, int] | None = None
    _seen: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: Any) -> None:
        pre = getattr(event, "resource_pre_event", None)
        out = getattr(event, "res_outputs_event", None)
        diag = getattr(event, "diagnostic_event", None)
        summary = getattr(event, "summary_event", None)
        if pre is not None or out is not None:
            step = self._step((pre or out).metadata)
            if step is not None:
                self.on_step(self.stack, step)
        if diag is not None and getattr(diag, "severity", "") == "error":
            message = self.redactor.text(str(getattr(diag, "message", "")).strip())
            if message:
                with self._lock:
                    self.errors.append(message)
        if summary is not None:
            changes = getattr(summary, "resource_changes", None) or {}
            self.summary = counts_from_opmap(changes)

    def _step(self, meta: Any) -> Step | None:
        op = str(getattr(getattr(meta, "op", ""), "value", getattr(meta, "op", "")))
        kind = _OP_ALIASES.get(op)
        if op == "refresh":  # a refresh step carries drift only when it has diffs
            kind = "update" if getattr(meta, "diffs", None) else None
        urn = str(getattr(meta, "urn", ""))
        rtype = str(getattr(meta, "type", ""))
        if kind is None or rtype.startswith("pulumi:"):
            return None
        name = urn.rsplit("::", 1)[-1] if "::" in urn else urn
        key = (kind, urn)
        with self._lock:
            if key in self._seen:
                return None
            self._seen.add(key)
        step = Step(kind, rtype, name, self._detail(meta))
        with self._lock:
            self.steps.append(step)
        return step

    def _detail(self, meta: Any) -> str:
        """Changed properties as `key: old → new`, secrets masked, long values cut."""
        diffs = list(getattr(meta, "diffs", None) or [])
        if not diffs:
            return ""
        old = getattr(getattr(meta, "old", None), "inputs", None) or {}
        new = getattr(getattr(meta, "new", None), "inputs", None) or {}
        parts = []
        for key in diffs[:20]:
            before, after = _short(self.redactor.value(old.get(key))), _short(
                self.redactor.value(new.get(key)))
            parts.append(f"{key}: {before} → {after}")
        return self.redactor.text("; ".join(parts))


def _short(value: Any, limit: int = 80) -> str:
    text = "∅" if value is None else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def counts_from_opmap(opmap: Mapping[Any, int]) -> dict[str, int]:
    counts = empty_counts()
    for op, n in opmap.items():
        kind = _OP_ALIASES.get(str(getattr(op, "value", op)))
        if kind is not None:
            counts[kind] += int(n)
    return counts


def _merge_counts(collector: EventCollector, opmap: Mapping[Any, int] | None) -> dict[str, int]:
    if opmap:
        return counts_from_opmap(opmap)
    if collector.summary is not None:
        return collector.summary
    counts = empty_counts()
    for step in collector.steps:
        counts[step.op] += 1
    return counts


class AutomationRunner:
    """`StackRunner` over pulumi.automation with the repository's Pulumi project as work_dir."""

    def __init__(self, work_dir: Path, *, env: Mapping[str, str] | None = None,
                 secrets_provider: str | None = None, redactor: Redactor | None = None,
                 stack_config: Callable[[str], Mapping[str, tuple[str, bool]]] | None = None,
                 path_config: Callable[[str], Mapping[str, str]] | None = None,
                 plugins: Mapping[str, str] | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.env = dict(env or {})
        self.secrets_provider = secrets_provider
        self.redactor = redactor or Redactor()
        self.stack_config = stack_config
        self.path_config = path_config
        self.plugins = dict(plugin_versions() if plugins is None else plugins)

    # -- workspace and stack ---------------------------------------------------------------

    def workspace(self) -> Any:
        from pulumi import automation as auto

        return auto.LocalWorkspace(work_dir=str(self.work_dir), env_vars=self.env,
                                   secrets_provider=self.secrets_provider)

    def stack(self, name: str) -> Any:
        """A fresh workspace for this stack only, then create-or-select it there (serialised:
        the select/init rewrites the project's shared workspace file)."""
        from pulumi import automation as auto

        workspace = self.workspace()
        with _SELECT_LOCK:
            stack = auto.Stack.create_or_select(name, workspace)
        if self.stack_config is not None:
            config = self.stack_config(name)
            if config:
                stack.set_all_config({k: auto.ConfigValue(value=v, secret=s)
                                      for k, (v, s) in config.items()})
        if self.path_config is not None:
            paths = self.path_config(name)
            if paths:
                stack.set_all_config({k: auto.ConfigValue(value=v) for k, v in paths.items()},
                                     path=True)
        return stack

    def prepare(self) -> None:
        """Install the provider plugins once, so parallel stacks do not race to download."""
        if not self.plugins:
            return
        ws = self.workspace()
        for name, version in sorted(self.plugins.items()):
            try:
                ws.install_plugin(name, version)
            except Exception as exc:  # the CLI's message says why (network, disk)
                raise ProvisionerError(
                    f"could not install the Pulumi plugin {name} v{version}: "
                    f"{self.redactor.text(str(exc))[:500]}") from exc

    # -- operations ------------------------------------------------------------------------

    def _run(self, name: str, operation: str, on_step: StepCallback,
             call: Callable[[Any, EventCollector], Any]) -> StackResult:
        collector = EventCollector(name, on_step, self.redactor)
        started = time.monotonic()
        stack = self.stack(name)
        outcome = call(stack, collector)
        opmap = getattr(outcome, "change_summary", None)  # PreviewResult
        if not isinstance(opmap, Mapping):  # UpResult, DestroyResult, RefreshResult
            opmap = getattr(getattr(outcome, "summary", None), "resource_changes", None)
        if not isinstance(opmap, Mapping):
            opmap = None
        return StackResult(name, operation, True, _merge_counts(collector, opmap),
                           list(collector.steps), None, time.monotonic() - started)

    def preview(self, stack: str, on_step: StepCallback) -> StackResult:
        return self._run(stack, "preview", on_step,
                         lambda s, c: s.preview(on_event=c, diff=True))

    def up(self, stack: str, on_step: StepCallback) -> StackResult:
        return self._run(stack, "up", on_step, lambda s, c: s.up(on_event=c))

    def destroy(self, stack: str, on_step: StepCallback) -> StackResult:
        """Unprotect what retain_on_delete keeps, then destroy with the DNS records last
        (provisioner.orchestrate.teardown says why, from the engine's source)."""
        from provisioner.orchestrate.teardown import destroy_dns_last

        return self._run(stack, "destroy", on_step, destroy_dns_last)

    def preview_move(self, stack: str, on_step: StepCallback) -> StackResult:
        """The preview of an acknowledged database move, protection ignored (read-only)."""
        from provisioner.orchestrate.teardown import preview_ignoring_protect

        return self._run(stack, "preview", on_step, preview_ignoring_protect)

    def move_database(self, stack: str, on_step: StepCallback) -> StackResult:
        """An `up` whose old database leaves the program (an acknowledged tier, prefix or
        subdomain change): retained resources unprotected first, so the engine drops them
        from state instead of failing half-way."""
        from provisioner.orchestrate.teardown import up_after_unprotect

        return self._run(stack, "up", on_step, up_after_unprotect)

    def refresh(self, stack: str, on_step: StepCallback) -> StackResult:
        """Drift check: a refresh that only previews. `Stack.preview_refresh` (pulumi >= 3.150)
        when present, else the older `refresh(preview_only=True)`."""
        def call(s: Any, c: EventCollector) -> Any:
            if hasattr(s, "preview_refresh"):
                return s.preview_refresh(on_event=c)
            return s.refresh(preview_only=True, on_event=c)

        return self._run(stack, "refresh", on_step, call)


def describe_error(exc: BaseException, redactor: Redactor, limit: int = 1500) -> str:
    """A short, redacted reason: the CLI's error lines rather than its whole output."""
    text = str(exc)
    stderr = getattr(exc, "stderr", None)
    if stderr:
        text = str(stderr)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    interesting = [ln for ln in lines if "error" in ln.lower()] or lines
    out = redactor.text(" | ".join(interesting[-6:])) or type(exc).__name__
    return out if len(out) <= limit else out[: limit - 1] + "…"

