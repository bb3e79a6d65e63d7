"""Database moves read from each stack's own state, for runs with no BASE commit to compare.

`plan --all`, `apply --all` and a first `--since-applied` (no marker yet) have no diff, so
`policy.database_moves` finds nothing there; left to the engine, a tier or prefix change
creates the new database, secrets and config versions before the engine refuses to delete or
replace the old, protected database (docs/data-safety.md). Here the database the stack's last
`up` made (its state) is compared with the one its spec asks for, right after the stack is
selected and before the engine runs: a move is refused unless acknowledged, exactly as with a
BASE, and an acknowledged one runs as the same database move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from provisioner.orchestrate.policy import ACK_FIELD, DatabaseMove, database_identity

# the resource holding a tenant's database in each tier (provisioner/infra/database.py)
DATABASE_TYPES: Final = {"mysql:index/database:Database": "pool",
                         "aws:rds/instance:Instance": "silo"}
STACK_TYPE: Final = "pulumi:pulumi:Stack"


def state_identity(deployment: Any) -> str | None:
    """`<tier>:<database name>` of the database the stack's state holds (its `databaseName`
    output and the type of its database resource), or None for a stack never applied, an
    unreadable state or one holding databases of both tiers (a move half done by hand)."""
    body = getattr(deployment, "deployment", deployment)
    resources = body.get("resources") if isinstance(body, Mapping) else None
    if not isinstance(resources, list):
        return None
    tiers = {DATABASE_TYPES[r["type"]] for r in resources
             if isinstance(r, Mapping) and r.get("type") in DATABASE_TYPES
             and not r.get("delete")}
    names = [r.get("outputs", {}).get("databaseName") for r in resources
             if isinstance(r, Mapping) and r.get("type") == STACK_TYPE]
    if len(tiers) != 1 or len(names) != 1 or not isinstance(names[0], str):
        return None
    return f"{tiers.pop()}:{names[0]}"


def move_from_state(stack: str, in_state: str | None, tenant: Any,
                    reseller: Any) -> DatabaseMove | None:
    """The move, if the spec (parsed YAML of the tenant and reseller files) asks for another
    database than the state's; acknowledged only by the exact new one, as in git."""
    wanted = database_identity(tenant, reseller)
    if in_state is None or wanted is None or in_state == wanted:
        return None
    old_tier, old_name = in_state.split(":", 1)
    new_tier, new_name = wanted.split(":", 1)
    reasons = []
    if old_tier != new_tier:
        reasons.append(f"plan tier {old_tier} -> {new_tier}")
    if old_name != new_name:
        reasons.append(f"database name {old_name} -> {new_name}")
    ack = tenant.get(ACK_FIELD)
    return DatabaseMove(stack, in_state, wanted,
                        ", ".join(reasons) + ", against the stack's state",
                        isinstance(ack, str) and ack.strip() == wanted)


@dataclass(frozen=True)
class StateCheck:
    """The specs to compare each stack's state with: stack -> parsed tenant YAML, and the
    parsed reseller YAML."""

    tenants: Mapping[str, Any]
    reseller: Any

    def move(self, stack: str, deployment: Any) -> DatabaseMove | None:
        if stack not in self.tenants:
            return None
        return move_from_state(stack, state_identity(deployment), self.tenants[stack],
                               self.reseller)


def state_check_for(changeset: Any, repo: Any) -> StateCheck | None:
    """A StateCheck for the ups of a change set without a BASE (`--all`, or everything when no
    marker was found), None when git already compared BASE with HEAD."""
    from provisioner.orchestrate.spec_blobs import parsed

    if changeset.base != "(none)":  # policy.database_moves compared BASE with HEAD
        return None
    reseller_path = getattr(repo, "reseller_path", None)
    if reseller_path is None:
        return None
    reseller = parsed(reseller_path.read_text(encoding="utf-8"))
    tenants = {c.stack: parsed(c.new_text) for c in changeset.by_action("up")
               if c.new_text is not None}
    return StateCheck(tenants, reseller)
