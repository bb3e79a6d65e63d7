"""Guards and ordering: what may run, what must be acknowledged, and in which waves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from provisioner.orchestrate.changes import (
    ChangeSet,
    StackChange,
    acknowledges_demo_history,
    environment_of,
)
from provisioner.orchestrate.results import StackResult
from provisioner.orchestrate.scheduler import Job, Wave

PRODUCTION = "production"


def demo_to_production_message(stack: str) -> str:
    return (f"{stack} moves from demo to production, but its demo documents, clients and series "
            "stay in its database (the form's help page recommends a fresh tenant for "
            "production). Create a new tenant instead, or set `acknowledge_demo_history: true` "
            f"in {stack}'s spec to proceed.")


def production_destroy_message(stack: str) -> str:
    return (f"{stack} is a production tenant: destroying it deletes its database and secrets. "
            "Not destroyed; run again with --allow-destroy-production if that is intended.")


def moves_to_production(change: StackChange) -> bool:
    return (change.action == "up" and change.old_text is not None
            and environment_of(change.old_text) == "demo"
            and environment_of(change.new_text) == PRODUCTION)


def was_production(change: StackChange) -> bool:
    """For a destroy, whether the spec at BASE was production (unknown counts as production:
    the guard must not be bypassed by an unreadable file)."""
    env = environment_of(change.old_text)
    return env is None or env == PRODUCTION


@dataclass
class Review:
    runnable: list[StackChange] = field(default_factory=list)
    blocked: list[StackResult] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    def warn(self, stack: str, message: str) -> None:
        self.warnings.setdefault(stack, []).append(message)

    def all_warnings(self) -> list[str]:
        return [w for ws in self.warnings.values() for w in ws]


def review(changeset: ChangeSet, *, allow_destroy_production: bool,
           operation: str) -> Review:
    """Split the changes into what may run and what a guard blocks, with warnings."""
    out = Review()
    for change in changeset.changes:
        if moves_to_production(change):
            if not acknowledges_demo_history(change.new_text):
                message = demo_to_production_message(change.stack)
                out.warn(change.stack, message)
                out.blocked.append(StackResult(change.stack, operation, ok=False, skipped=True,
                                               error=message))
                continue
            out.warn(change.stack, f"{change.stack} moves from demo to production and keeps its "
                                   "demo data (acknowledge_demo_history: true)")
        if change.action == "destroy" and was_production(change):
            if not allow_destroy_production:
                message = production_destroy_message(change.stack)
                out.warn(change.stack, message)
                out.blocked.append(StackResult(change.stack, "destroy", ok=False, skipped=True,
                                               error=message))
                continue
            out.warn(change.stack, f"production tenant {change.stack} will be destroyed "
                                   "(--allow-destroy-production)")
        out.runnable.append(change)
    return out


def apply_waves(changes: Sequence[StackChange], batch_size: int,
                environments: Mapping[str, str] | None = None) -> list[Wave]:
    """Demo and internal tenants first (ups and their destroys), then production tenants in
    batches of `batch_size`, production destroys last: a broken change surfaces on tenants
    whose users can afford it. `environments` (stack → soap.environment of the validated spec)
    wins over the change's text; a tenant of unknown environment counts as production."""
    environments = environments or {}
    early: list[Job] = []
    production: list[Job] = []
    late: list[Job] = []
    for c in changes:
        if c.action == "destroy":
            (late if was_production(c) else early).append(Job(c.stack, "destroy"))
        elif (environments.get(c.stack) or environment_of(c.new_text) or PRODUCTION) == PRODUCTION:
            production.append(Job(c.stack, "up"))
        else:
            early.append(Job(c.stack, "up"))
    waves = [Wave("demo and internal", early)] if early else []
    size = max(1, batch_size)
    batches = [production[i:i + size] for i in range(0, len(production), size)]
    for n, batch in enumerate(batches, 1):
        waves.append(Wave(f"production {n}/{len(batches)}", batch))
    if late:
        waves.append(Wave("production destroys", late))
    return waves
