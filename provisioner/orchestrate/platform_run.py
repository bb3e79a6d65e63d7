"""`provisioner platform preview|up`: the platform stack of one environment, over the
Automation API, never replacing or deleting what tenants and CI depend on.

Every `up` previews first. A step that would replace or delete a protected resource
(provisioner/platform_stack/protected.py) refuses the run before anything changes, with the way
to make that change by hand. The engine would refuse too (`protect`: pulumi/pulumi
pkg/resource/deploy step_generator.go "unable to replace resource ... as it is currently marked
for protection"), but only once it reaches that step, possibly after other changes; and its
message does not say what to do. Its refusal, when the preview itself stops on it, is turned
into the same message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from provisioner.doc_links import doc_url
from provisioner.errors import ProvisionerError, UsageError
from provisioner.model.layout import PROJECT_FILES
from provisioner.orchestrate.results import StackResult, Step, StepCallback

PLATFORM_DIRNAME: Final = "platform"
REFUSED_OPS: Final = ("replace", "delete")
_URN: Final = re.compile(r"urn:pulumi:[^\s\"']+")
# the engine's words for a protected resource it will not replace or delete (see above)
_PROTECT_ERRORS: Final = ("marked for protection", "because it is protected")


class PlatformChangeRefused(ProvisionerError):
    """A platform change would replace or delete a protected resource."""


def platform_project(root: Path) -> Path:
    """The platform project of a tenant repository: platform/Pulumi.yaml."""
    directory = root / PLATFORM_DIRNAME
    if not any((directory / name).is_file() for name in PROJECT_FILES):
        raise UsageError(f"{directory}: no Pulumi.yaml; `provisioner init --platform` writes the "
                         "platform project into the repository")
    return directory


def _protected() -> Mapping[str, str]:
    from provisioner.platform_stack.protected import PROTECTED

    return PROTECTED


def refusal(name: str, op: str, resource_type: str = "") -> str:
    what = f"{resource_type} {name}".strip()
    return f"{what}: this change would {op} it. {_protected()[name]}"


def refusals(steps: Iterable[Step]) -> list[str]:
    """One line per step that would replace or delete a protected resource."""
    protected = _protected()
    return [refusal(s.name, s.op, s.type) for s in steps
            if s.op in REFUSED_OPS and s.name in protected]


def engine_refusals(error: str) -> list[str]:
    """The engine's own refusal (a protected resource in the way), as refusals()' lines."""
    if not any(e in error for e in _PROTECT_ERRORS):
        return []
    protected = _protected()
    names = {m.group(0).rsplit("::", 1)[-1] for m in _URN.finditer(error)}
    found = sorted(n for n in names if n in protected)
    op = "replace" if "replace" in error else "delete"
    return [refusal(n, op) for n in found] or [
        f"the engine refused to {op} a protected resource: {error.splitlines()[0][:300]}"]


def _refuse(lines: list[str], stack: str) -> PlatformChangeRefused:
    return PlatformChangeRefused(
        f"platform stack {stack!r}: not changed; {len(lines)} protected resource"
        f"{'s' if len(lines) > 1 else ''} in the way:\n" + "\n".join(f"  {x}" for x in lines)
        + "\nrevert the change that causes it, or make it by hand as said "
        + f"({doc_url('docs/platform.md')})")


@dataclass
class PlatformRun:
    """What `platform up` did: its preview and, unless refused or `preview_only`, its up."""

    preview: StackResult
    up: StackResult | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


def run_platform(runner: Any, stack: str, on_step: StepCallback, *,
                 preview_only: bool = False) -> PlatformRun:
    """Preview, refuse a replace or delete of a protected resource, then up."""
    try:
        preview = runner.preview(stack, on_step)
    except Exception as exc:  # the engine stopped the preview: on a protected resource?
        lines = engine_refusals(str(getattr(exc, "stderr", "") or exc))
        if lines:
            raise _refuse(lines, stack) from None
        raise
    lines = refusals(preview.steps)
    if lines:
        raise _refuse(lines, stack)
    if preview_only:
        return PlatformRun(preview)
    try:
        up = runner.up(stack, on_step)
    except Exception as exc:  # a failed step: reported with the engine's (redacted) reason
        from provisioner.orchestrate.automation import describe_error

        lines = engine_refusals(str(getattr(exc, "stderr", "") or exc))
        if lines:  # the engine met a protected resource the preview did not show
            raise _refuse(lines, stack) from None
        redactor = getattr(runner, "redactor", None)
        reason = describe_error(exc, redactor) if redactor is not None else str(exc)[:1500]
        return PlatformRun(preview, StackResult(stack, "up", False, error=reason))
    return PlatformRun(preview, up, stack_outputs(runner, stack) if up.ok else {})


def stack_outputs(runner: Any, stack: str) -> dict[str, Any]:
    """The stack's outputs, secrets left out (no platform output is secret today)."""
    values = runner.stack(stack).outputs()
    return {k: v.value for k, v in values.items() if not getattr(v, "secret", False)}
