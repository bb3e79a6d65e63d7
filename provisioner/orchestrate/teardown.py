"""State steps around a destroy and a database move, on an Automation API `Stack`.

What the engine does (pulumi/pulumi, pkg/resource/deploy):
- `DeleteStep.Apply` refuses to delete a resource whose state says `protect`, before it looks
  at anything else, in preview too; then, for a `retainOnDelete` resource, it skips the
  provider's Delete and only drops the resource from state (step.go).
- a replacement is refused only when both the old state and the program say `protect`
  (`new.Protect && old.Protect`, step_generator.go): unprotecting the old state is enough.
- `protect` in state is rewritten from the program on every `up`, so a resource the program
  still declares protected is protected again by the same `up`.

So a destroy (or a move to a new database) that must not fail half-way on a protected
resource first clears `protect` in state, but only on resources that `retainOnDelete` keeps:
their data survives the delete. A protected resource that is not retained would really be
deleted, so its presence stops the operation before any step. The state is edited through
`Stack.export_stack` / `import_stack`, the Automation API's documented way to edit state
(`pulumi state unprotect` is the same edit, from the CLI).

A destroy then runs in two phases: everything but the DNS records first (`--target`), then the
rest (the records, the component, the providers): if anything fails, the tenant's subdomain
still resolves and the run can be repeated.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from provisioner.errors import ProvisionerError

DNS_TYPE: Final = "aws:route53/record:Record"
PROVIDER_PREFIX: Final = "pulumi:providers:"


class ProtectedResourceError(ProvisionerError):
    """A protected resource that would be deleted, not retained: nothing was run."""


def _resources(deployment: Any) -> list[dict[str, Any]]:
    body = getattr(deployment, "deployment", None) or {}
    return [r for r in (body.get("resources") or []) if isinstance(r, dict)]


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def protected_not_retained(deployment: Any) -> list[str]:
    return [str(r["urn"]) for r in _resources(deployment)
            if r.get("protect") and not r.get("retainOnDelete") and not r.get("delete")]


def unprotect_retained(stack: Any) -> list[str]:
    """Clear `protect` on every retained resource of the stack's state (one export, one
    import); returns their URNs. Refuses, changing nothing, when a protected resource is not
    retained."""
    state = stack.export_stack()
    refused = protected_not_retained(state)
    if refused:
        raise ProtectedResourceError(
            f"stack {getattr(stack, 'name', '?')}: {', '.join(_name(u) for u in refused)} "
            f"{'is' if len(refused) == 1 else 'are'} protected and not retained, so a delete "
            "would really delete it; nothing was run. Unprotect it yourself if that is "
            "intended (`pulumi state unprotect URN`).")
    body = copy.deepcopy(dict(getattr(state, "deployment", None) or {}))
    changed = []
    for r in body.get("resources") or []:
        if isinstance(r, dict) and r.get("protect") and r.get("retainOnDelete") \
                and not r.get("delete"):
            r["protect"] = False
            changed.append(str(r["urn"]))
    if changed:
        from pulumi import automation as auto

        stack.import_stack(auto.Deployment(version=state.version, deployment=body))
    return changed


def first_phase_targets(deployment: Any) -> list[str]:
    """What a destroy deletes before the DNS records: the managed resources except the
    records (no providers, components or read-only references, which the second phase takes
    with the records)."""
    return [str(r["urn"]) for r in _resources(deployment)
            if r.get("custom") and not r.get("external") and not r.get("delete")
            and r.get("type") != DNS_TYPE
            and not str(r.get("type", "")).startswith(PROVIDER_PREFIX)]


@dataclass
class _Summary:
    resource_changes: dict[str, int]


@dataclass
class DestroyOutcome:
    """Both phases' change counts, shaped like a DestroyResult for the runner."""

    summary: _Summary
    unprotected: list[str]


def _counts(result: Any) -> Mapping[Any, int]:
    changes = getattr(getattr(result, "summary", None), "resource_changes", None)
    return changes if isinstance(changes, Mapping) else {}


def destroy_dns_last(stack: Any, on_event: Callable[[Any], None]) -> DestroyOutcome:
    """Unprotect what is retained, destroy all but the DNS records, then the rest."""
    unprotected = unprotect_retained(stack)
    targets = first_phase_targets(stack.export_stack())
    totals: dict[str, int] = {}
    phases = [stack.destroy(target=targets, on_event=on_event)] if targets else []
    phases.append(stack.destroy(on_event=on_event))
    for result in phases:
        for op, n in _counts(result).items():
            key = str(getattr(op, "value", op))
            totals[key] = totals.get(key, 0) + int(n)
    return DestroyOutcome(_Summary(totals), unprotected)


def up_after_unprotect(stack: Any, on_event: Callable[[Any], None]) -> Any:
    """A database move: the old database's resources leave the program, and the engine may
    drop them from state (retained) only once they are unprotected; the program protects what
    it still declares again in the same `up`."""
    unprotect_retained(stack)
    return stack.up(on_event=on_event)


def preview_ignoring_protect(stack: Any, on_event: Callable[[Any], None]) -> Any:
    """The plan of a database move: a read-only preview that shows the old database's
    resources leaving as the apply will (after its unprotect), instead of the engine's
    "protected" error. `pulumi preview --ignore-protect` (Pulumi CLI >= 3.256,
    https://github.com/pulumi/pulumi/issues/24053); the Python Automation API has no argument
    for it, so it goes through the
    workspace's documented per-command hook `serialize_args_for_op`, on this stack's own
    workspace only. Nothing in state changes."""
    workspace = stack.workspace
    original = workspace.serialize_args_for_op
    workspace.serialize_args_for_op = lambda name: [*original(name), "--ignore-protect"]
    try:
        return stack.preview(on_event=on_event, diff=True)
    finally:
        workspace.serialize_args_for_op = original
