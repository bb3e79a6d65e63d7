"""Plain results of one stack operation, so scheduling and reporting never touch Pulumi types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

Operation = Literal["preview", "up", "destroy", "refresh", "move_database", "preview_move"]
CHANGE_OPS: Final = ("create", "update", "replace", "delete")

# Resource types whose replacement or deletion loses data or credentials: called out in bold.
SENSITIVE_TYPE_PREFIXES: Final = ("mysql:index/database:", "mysql:index/user:",
                                  "aws:rds/instance:", "aws:secretsmanager/")


def is_sensitive_type(resource_type: str) -> bool:
    """A database, its user, an RDS instance or any Secrets Manager resource."""
    return resource_type.startswith(SENSITIVE_TYPE_PREFIXES)


@dataclass(frozen=True)
class Step:
    """One resource the operation touches; `detail` is already redacted."""

    op: str
    type: str
    name: str
    detail: str = ""

    @property
    def destructive(self) -> bool:
        return self.op in ("replace", "delete") and is_sensitive_type(self.type)

    def as_dict(self) -> dict[str, str]:
        return {"op": self.op, "type": self.type, "name": self.name, "detail": self.detail}


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(CHANGE_OPS, 0)


@dataclass
class StackResult:
    """What happened to one stack. `error` is a redacted one-paragraph reason."""

    stack: str
    operation: str
    ok: bool = True
    changes: dict[str, int] = field(default_factory=empty_counts)
    steps: list[Step] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    skipped: bool = False  # not run: blocked by a guard or an earlier failing wave
    warnings: list[str] = field(default_factory=list)
    new_stack: bool = False  # the stack does not exist yet: only `apply` creates stacks

    @property
    def total_changes(self) -> int:
        return sum(self.changes.get(op, 0) for op in CHANGE_OPS)

    @property
    def status(self) -> str:
        if self.new_stack:
            return "new stack"
        if self.skipped:
            return "skipped" if self.ok else "blocked"
        return "ok" if self.ok else "failed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "operation": self.operation,
            "status": self.status,
            "ok": self.ok,
            "changes": dict(self.changes),
            "steps": [s.as_dict() for s in self.steps],
            "error": self.error,
            "warnings": list(self.warnings),
            "new_stack": self.new_stack,
            "seconds": round(self.seconds, 3),
        }


StepCallback = Callable[[str, Step], None]
"""Called with (stack, step) from Pulumi's event thread as resources are planned or changed."""


class StackRunner(Protocol):
    """The four stack operations the orchestrator needs; the Automation API adapter implements it,
    tests use fakes. Each call is independent and may run in its own thread."""

    def prepare(self) -> None:
        """Work done once before fanning out (plugin installation)."""

    def preview(self, stack: str, on_step: StepCallback) -> StackResult: ...

    def up(self, stack: str, on_step: StepCallback) -> StackResult: ...

    def destroy(self, stack: str, on_step: StepCallback) -> StackResult: ...

    def move_database(self, stack: str, on_step: StepCallback) -> StackResult:
        """An `up` after unprotecting the retained resources (an acknowledged database move)."""
        ...

    def preview_move(self, stack: str, on_step: StepCallback) -> StackResult:
        """The preview of such a move, protection ignored; changes nothing."""
        ...

    def refresh(self, stack: str, on_step: StepCallback) -> StackResult:
        """A refresh in preview mode: reports drift without changing state."""
        ...
