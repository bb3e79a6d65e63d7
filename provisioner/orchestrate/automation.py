"""The only module that talks to pulumi.automation: one LocalWorkspace per stack over the
repository's own Pulumi project, results turned into plain `StackResult`s.

The CLI keeps a project's "current stack" in one file per project under PULUMI_HOME
(`workspaces/<project>-<sha1 of Pulumi.yaml's path>-workspace.json`), shared by every
`LocalWorkspace` object and every process on that work_dir, and rewritten in place by each
`pulumi stack select` / `stack init`. A separate `LocalWorkspace` per stack does not isolate that
file, so the select/init that `Stack.select` / `Stack.create_or_select` runs is serialised here; the
commands that follow pass `--stack` explicitly and never depend on the current stack.

Only `up` creates a stack (`create_stacks=True`, used by `apply`): a preview or a drift check
selects it and reports a missing one as a new stack, so a pull request or a nightly run never
creates stacks (nor needs the right to).

Secrets: the settings are checked before any stack operation (`check_secrets_settings`), and a
stack's own `Pulumi.<stack>.yaml` must name the same provider (`check_stack_secrets`). The Pulumi
CLI would otherwise fall back silently: with no `secretsprovider`/`encryptionsalt` in the stack
file, it uses the DIY backend's default, a passphrase manager
(pkg/cmd/pulumi/stack/secrets.go `GetSecretsManager`, pkg/backend/diy/stack.go
`DefaultSecretManager`), and it takes an empty `PULUMI_CONFIG_PASSPHRASE` as the passphrase
(pkg/secrets/passphrase/manager.go `readPassphrase`: only "is it set" is asked).
`PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER=true` makes it use the provider recorded in the stack's
state instead, for stacks whose `Pulumi.<stack>.yaml` was written on a CI runner and never
committed.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from provisioner.doc_links import doc_url
from provisioner.engine import Engine, engine_env, find_engine, program_python
from provisioner.errors import ProvisionerError, UsageError
from provisioner.model.layout import PROJECT_FILES, find_project_dir  # noqa: F401  (re-exported)
from provisioner.orchestrate.results import StackResult, Step, StepCallback, empty_counts
from provisioner.redaction import Redactor
from provisioner.safe_text import command_line
from provisioner.secrets import FALLBACK_ENV, SECRETS_PROVIDER_ENV

INSTALL_URL = "https://www.pulumi.com/docs/install/"
PLUGIN_PACKAGES = ("pulumi_aws", "pulumi_random", "pulumi_mysql")
# Pulumi counts a replacement once as "replace"; create-/delete-replacement steps are its parts.
# An import (an adopted account's `import_` resource) counts in the create column, as the
# engine's own summary puts it beside the creates, but its step keeps the engine's op,
# "import" (pulumi/pulumi sdk/go/common/apitype OpImport): a plan that showed "create" for a
# database the app already has would tell the reviewer the opposite of what happens.
_OP_ALIASES = {"create": "create", "import": "create", "update": "update", "replace": "replace",
               "delete": "delete"}
_STEP_OPS = {**_OP_ALIASES, "import": "import"}
# `stack select` / `stack init` rewrite the project's workspace file (see above): one at a time.
_SELECT_LOCK = threading.Lock()
PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_FILE_ENV = "PULUMI_CONFIG_PASSPHRASE_FILE"
CLOUD_SECRETS_SCHEMES = ("awskms", "gcpkms", "azurekeyvault", "hashivault")
NEW_STACK_NOTE = "new stack: it does not exist yet; `apply` creates it"
NO_STACK_NOTE = "no such stack: nothing to destroy"


class SecretsSettingsError(UsageError):
    """The secrets provider is missing, empty, or differs from the one a stack was made with."""


def _is_cloud_backend(backend_url: str) -> bool:
    return not backend_url or backend_url.startswith(("https://", "http://"))


def check_secrets_settings(provider: str | None, environ: Mapping[str, str]) -> str:
    """The secrets provider to create stacks with, refusing every setting under which the CLI
    would pick a default or an empty passphrase. Returns the provider: `provider`, or else
    PROVISIONER_SECRETS_PROVIDER from `environ`."""
    passphrase = environ.get(PASSPHRASE_ENV)
    if passphrase is not None and passphrase == "":
        raise SecretsSettingsError(
            f"{PASSPHRASE_ENV} is set but empty: the Pulumi CLI would accept the empty string as "
            "the passphrase. Unset it (a KMS provider needs none) or set the real passphrase; in "
            "GitHub Actions, export it only when the secret is not empty.")
    if provider is None:
        provider = environ.get(SECRETS_PROVIDER_ENV)
    provider = (provider or "").strip()
    if not provider:
        raise SecretsSettingsError(
            f"{SECRETS_PROVIDER_ENV} is not set: name the secrets provider the tenant stacks use "
            "(e.g. awskms://alias/pulumi?region=us-east-1, or passphrase); stacks are never "
            "created or read with a default provider.")
    if provider == "default":
        if not _is_cloud_backend(environ.get("PULUMI_BACKEND_URL", "")):
            raise SecretsSettingsError(
                f"{SECRETS_PROVIDER_ENV}=default with the self-managed backend "
                f"{environ.get('PULUMI_BACKEND_URL')} means a passphrase; name the provider "
                "(awskms://... or passphrase).")
        return provider
    if provider == "passphrase":
        file = environ.get(PASSPHRASE_FILE_ENV, "")
        has_file = bool(file) and Path(file).is_file() and Path(file).read_text(
            encoding="utf-8", errors="replace").strip() != ""
        if not passphrase and not has_file:
            raise SecretsSettingsError(
                f"{SECRETS_PROVIDER_ENV}=passphrase needs a non-empty {PASSPHRASE_ENV} (or "
                f"{PASSPHRASE_FILE_ENV} naming a non-empty file).")
        return provider
    if urlsplit(provider).scheme not in CLOUD_SECRETS_SCHEMES:
        raise SecretsSettingsError(
            f"{SECRETS_PROVIDER_ENV}={provider!r} is not a secrets provider Pulumi knows: use "
            f"passphrase or a URL of {', '.join(s + '://' for s in CLOUD_SECRETS_SCHEMES)}.")
    return provider


def _same_provider(a: str, b: str) -> bool:
    """Cloud provider URLs name the same key when scheme, host and path match (the query
    only carries options such as the region)."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.netloc, pa.path.rstrip("/")) == (pb.scheme, pb.netloc,
                                                           pb.path.rstrip("/"))


def check_stack_secrets(work_dir: Path, stack: str, provider: str) -> None:
    """A committed `Pulumi.<stack>.yaml` must have been made with the configured provider;
    without one, the CLI reads the provider from the stack's state (FALLBACK_ENV)."""
    import yaml

    for suffix in ("yaml", "yml"):
        path = work_dir / f"Pulumi.{stack}.{suffix}"
        if path.is_file():
            break
    else:
        return
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SecretsSettingsError(f"{path.name}: not readable YAML ({type(exc).__name__})"
                                   ) from None
    if not isinstance(data, dict):
        raise SecretsSettingsError(f"{path.name}: not a stack settings file")
    own = str(data.get("secretsprovider") or "").strip()
    salted = bool(data.get("encryptionsalt"))
    if provider == "default":
        return
    if provider == "passphrase":
        if own and own not in ("passphrase", "default"):
            raise SecretsSettingsError(
                f"{path.name} uses the secrets provider {own}, but {SECRETS_PROVIDER_ENV} is "
                "passphrase: set it to the stack's provider.")
        return
    if own and own not in ("passphrase", "default"):
        if not _same_provider(own, provider):
            raise SecretsSettingsError(
                f"{path.name} uses the secrets provider {own}, not {provider} "
                f"({SECRETS_PROVIDER_ENV}): migrate it with "
                f"`{command_line('pulumi', 'stack', 'change-secrets-provider', '--stack', stack)}`"
                " or fix the variable.")
        return
    if salted or own == "passphrase":
        migrate = command_line("pulumi", "stack", "change-secrets-provider", provider,
                               "--stack", stack)
        raise SecretsSettingsError(
            f"{path.name} was made with the passphrase provider (encryptionsalt), but "
            f"{SECRETS_PROVIDER_ENV} is {provider}: the stack's secrets would be read with a "
            f"passphrase. Run `{migrate}` and commit the file.")


def project_virtualenv(work_dir: Path) -> str | None:
    """Pulumi.yaml's runtime.options.virtualenv, if any."""
    import yaml

    for name in PROJECT_FILES:
        path = work_dir / name
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (yaml.YAMLError, UnicodeDecodeError):
                return None
            runtime = data.get("runtime") if isinstance(data, dict) else None
            options = runtime.get("options") if isinstance(runtime, dict) else None
            venv = options.get("virtualenv") if isinstance(options, dict) else None
            return venv if isinstance(venv, str) else None
    return None


class PulumiCliMissing(UsageError):
    """The command drives the Pulumi CLI, which is not on PATH."""


def require_pulumi_cli(project_dir: Path | None = None) -> str:
    """The engine's `pulumi` (provisioner/engine.py: the project's .engine/ first, else PATH)."""
    engine = find_engine(project_dir)
    if engine is None:
        raise PulumiCliMissing(
            "this command runs the Pulumi CLI, which is not installed (no .engine/bin/pulumi "
            "and no `pulumi` on PATH). Build it with the tool's setup (in a checkout of the "
            f"tool: {doc_url('docs/engine.md')}), or install it (see {INSTALL_URL}), then run "
            "the command again. "
            "`plan --list` needs no Pulumi CLI.")
    return engine.pulumi


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
    # the warnings about a resource, the program's or a provider's (e.g. an adopted
    # instance's settings kept as they are, provisioner/infra/database.py): a PR plan must
    # show them, not only the engine's log
    warnings: list[str] = field(default_factory=list)
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
        severity = getattr(diag, "severity", "") if diag is not None else ""
        if severity == "warning" and not getattr(diag, "urn", None):
            severity = ""  # the engine's own notes (e.g. a plugin taken from $PATH): no finding
        if severity in ("error", "warning"):
            message = self.redactor.text(str(getattr(diag, "message", "")).strip())
            found = self.errors if severity == "error" else self.warnings
            if message:
                with self._lock:
                    if severity == "error" or message not in found:
                        found.append(message)
        if summary is not None:
            changes = getattr(summary, "resource_changes", None) or {}
            self.summary = counts_from_opmap(changes)

    def _step(self, meta: Any) -> Step | None:
        op = str(getattr(getattr(meta, "op", ""), "value", getattr(meta, "op", "")))
        kind = _STEP_OPS.get(op)
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


# What the engine puts in a preview's inputs for a value known only after the apply (the
# Python SDK's pulumi.runtime.rpc.UNKNOWN); printed as such, never as if it were the value.
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_SHOWN = "(known after apply)"


def _short(value: Any, limit: int = 80) -> str:
    if value == UNKNOWN_VALUE:
        return UNKNOWN_SHOWN
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
        counts[_OP_ALIASES[step.op]] += 1
    return counts


class AutomationRunner:
    """`StackRunner` over pulumi.automation with the repository's Pulumi project as work_dir."""

    def __init__(self, work_dir: Path, *, env: Mapping[str, str] | None = None,
                 secrets_provider: str | None = None, redactor: Redactor | None = None,
                 stack_config: Callable[[str], Mapping[str, tuple[str, bool]]] | None = None,
                 path_config: Callable[[str], Mapping[str, str]] | None = None,
                 plugins: Mapping[str, str] | None = None, create_stacks: bool = False,
                 environ: Mapping[str, str] | None = None, engine: Engine | None = None,
                 refresh_first: bool = False) -> None:
        self.work_dir = Path(work_dir)
        # the engine's own variables first (provisioner/engine.py): a caller's env wins
        self.engine = engine or find_engine(self.work_dir, environ)
        self.env = {**engine_env(self.engine, program_python(
            self.work_dir, project_virtualenv(self.work_dir)), environ), **dict(env or {})}
        self._command: Any = None
        # checked before any stack operation: never a default or an empty passphrase
        self.secrets_provider = check_secrets_settings(
            secrets_provider, {**(os.environ if environ is None else environ), **self.env})
        self.env.setdefault(FALLBACK_ENV, "true")
        self.create_stacks = create_stacks
        self.refresh_first = refresh_first
        self.redactor = redactor or Redactor()
        self.stack_config = stack_config
        self.path_config = path_config
        self.plugins = dict(plugin_versions() if plugins is None else plugins)
        # runs without a BASE: each stack's state is compared with its spec's database before
        # a preview or up (provisioner.orchestrate.state_moves.StateCheck; None: not checked)
        self.state_check: Any = None

    # -- workspace and stack ---------------------------------------------------------------

    def pulumi_command(self) -> Any:
        """One PulumiCommand for every workspace (it runs `pulumi version` when made): the
        project's engine; None lets the workspace run the `pulumi` on PATH."""
        from pulumi import automation as auto

        if self._command is None and self.engine is not None and self.engine.root is not None:
            self._command = auto.PulumiCommand(root=str(self.engine.root))
        return self._command

    def workspace(self) -> Any:
        from pulumi import automation as auto

        return auto.LocalWorkspace(work_dir=str(self.work_dir), env_vars=self.env,
                                   secrets_provider=self.secrets_provider,
                                   pulumi_command=self.pulumi_command())

    def stack(self, name: str, *, create: bool = False) -> Any:
        """A fresh workspace for this stack only, then select it there, or create it when
        `create` (serialised: the select/init rewrites the project's shared workspace file).
        Raises `auto.StackNotFoundError` for a missing stack that may not be created."""
        from pulumi import automation as auto

        check_stack_secrets(self.work_dir, name, self.secrets_provider)
        workspace = self.workspace()
        with _SELECT_LOCK:
            if create:
                stack = auto.Stack.create_or_select(name, workspace)
            else:
                stack = auto.Stack.select(name, workspace)
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
        """Install the provider plugins once, so parallel stacks do not race to download.
        A plugin on the engine's PATH is used as it is and never downloaded (the engine prefers
        an ambient `pulumi-resource-<name>` unless PULUMI_IGNORE_AMBIENT_PLUGINS is set:
        pulumi/pulumi sdk/go/common/workspace/plugins.go `getPluginInfoAndPath`)."""
        path = self.env.get("PATH")
        missing = {name: version for name, version in self.plugins.items()
                   if self.env.get("PULUMI_IGNORE_AMBIENT_PLUGINS")
                   or shutil.which(f"pulumi-resource-{name}", path=path) is None}
        if not missing:
            return
        ws = self.workspace()
        for name, version in sorted(missing.items()):
            try:
                ws.install_plugin(name, version)
            except Exception as exc:  # the CLI's message says why (network, disk)
                raise ProvisionerError(
                    f"could not install the Pulumi plugin {name} v{version}: "
                    f"{self.redactor.text(str(exc))[:500]}") from exc

    # -- operations ------------------------------------------------------------------------

    def _run(self, name: str, operation: str, on_step: StepCallback,
             call: Callable[[Any, EventCollector], Any], *, create: bool = False) -> StackResult:
        from pulumi import automation as auto

        collector = EventCollector(name, on_step, self.redactor)
        started = time.monotonic()
        try:
            stack = self.stack(name, create=create)
        except auto.StackNotFoundError:
            note = NO_STACK_NOTE if operation == "destroy" else NEW_STACK_NOTE
            return StackResult(name, operation, True, skipped=True,
                               new_stack=operation != "destroy", warnings=[note],
                               seconds=time.monotonic() - started)
        warnings: list[str] = []
        if self.state_check is not None and operation in ("preview", "up"):
            move = self.state_check.move(name, stack.export_stack())
            if move is not None and not move.acknowledged:  # before the engine writes anything
                message = move.blocked_message()
                return StackResult(name, operation, ok=False, skipped=True, error=message,
                                   warnings=[message], seconds=time.monotonic() - started)
            if move is not None:
                from provisioner.orchestrate.teardown import (
                    preview_ignoring_protect,
                    up_after_unprotect,
                )

                call = preview_ignoring_protect if operation == "preview" else up_after_unprotect
                warnings.append(move.data_message())
        outcome = call(stack, collector)
        opmap = getattr(outcome, "change_summary", None)  # PreviewResult
        if not isinstance(opmap, Mapping):  # UpResult, DestroyResult, RefreshResult
            opmap = getattr(getattr(outcome, "summary", None), "resource_changes", None)
        if not isinstance(opmap, Mapping):
            opmap = None
        return StackResult(name, operation, True, _merge_counts(collector, opmap),
                           list(collector.steps), None, time.monotonic() - started,
                           warnings=[*warnings, *collector.warnings])

    def preview(self, stack: str, on_step: StepCallback) -> StackResult:
        return self._run(stack, "preview", on_step,
                         lambda s, c: s.preview(on_event=c, diff=True))

    def up(self, stack: str, on_step: StepCallback) -> StackResult:
        """`pulumi up`; with `refresh_first`, `up --refresh --run-program`: the state is read
        from the cloud first (with the program's provider settings, as drift reads it), so
        what was changed or deleted out of band is put back as the spec says."""
        if self.refresh_first:
            return self._run(stack, "up", on_step,
                             lambda s, c: s.up(on_event=c, refresh=True, run_program=True),
                             create=self.create_stacks)
        return self._run(stack, "up", on_step, lambda s, c: s.up(on_event=c),
                         create=self.create_stacks)

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
        when present, else the older `refresh(preview_only=True)`.

        `run_program=True` (`pulumi refresh --run-program`): without it the engine reads each
        resource with the provider settings and inputs stored in state at the last `up`
        (the explicit mysql provider's admin password, the onboarding steps' secrets), so a
        rotated secret fails every stack's refresh until each is applied again; with it the
        program runs first and the providers get the current stack config and secrets."""
        def call(s: Any, c: EventCollector) -> Any:
            if hasattr(s, "preview_refresh"):
                return s.preview_refresh(on_event=c, run_program=True)
            return s.refresh(preview_only=True, run_program=True, on_event=c)

        return self._run(stack, "refresh", on_step, call)


_TRACEBACK = "Traceback (most recent call last):"


def describe_error(exc: BaseException, redactor: Redactor, limit: int = 1500) -> str:
    """A short, redacted reason: the CLI's error lines rather than its whole output."""
    text = str(exc)
    stderr = getattr(exc, "stderr", None)
    if stderr:
        text = str(stderr)
    # a provider's Python traceback (a dynamic provider's exception) is noise around its last
    # line, the exception itself: the header line and the frames are left out
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()
             and _TRACEBACK not in ln and not ln.strip().startswith('File "')]
    interesting = [ln for ln in lines if "error" in ln.lower()] or lines
    out = redactor.text(" | ".join(interesting[-6:])) or type(exc).__name__
    return out if len(out) <= limit else out[: limit - 1] + "…"

