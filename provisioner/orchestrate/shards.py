"""Splitting the affected stacks over N CI runners, waves kept.

Two waves cross runners: the demo and internal tenants (with their destroys) run first on every
shard, production tenants (and production destroys) only after every early shard succeeded. The
workflows run one job matrix per wave, the second one `needs` the first; inside a production
shard, `apply` still runs its own batches and puts destroys last (`policy.apply_waves`).

Balanced: inside a wave, stacks are dealt round-robin in name order, so shard sizes differ by at
most one. Deterministic: the same change set always gives the same shards, whatever the order it
came in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from provisioner.orchestrate.changes import StackChange
from provisioner.orchestrate.policy import PRODUCTION, was_production
from provisioner.orchestrate.spec_blobs import environment_of

EARLY: Final = "early"
LATE: Final = "production"
WAVE_ORDER: Final = (EARLY, LATE)
MAX_SHARDS: Final = 256  # GitHub Actions runs at most 256 jobs per matrix


@dataclass(frozen=True)
class Shard:
    wave: str
    index: int  # 1-based within the wave
    count: int  # shards in this wave
    stacks: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"wave": self.wave, "shard": self.index, "shards": self.count,
                "name": f"{self.wave} {self.index}/{self.count}",
                "stacks": " ".join(self.stacks), "size": len(self.stacks)}


def wave_of(change: StackChange, environments: Mapping[str, str] | None = None) -> str:
    """The cross-runner wave: production tenants (and production destroys) go last; a tenant of
    unknown environment counts as production, as in `policy.apply_waves`."""
    if change.action == "destroy":
        return LATE if was_production(change) else EARLY
    env = (environments or {}).get(change.stack) or environment_of(change.new_text) or PRODUCTION
    return LATE if env == PRODUCTION else EARLY


def split(changes: Sequence[StackChange], shards: int,
          environments: Mapping[str, str] | None = None) -> list[Shard]:
    """At most `shards` non-empty shards per wave, early wave first."""
    if not 1 <= shards <= MAX_SHARDS:
        raise ValueError(f"shards must be between 1 and {MAX_SHARDS}")
    by_wave: dict[str, list[str]] = {w: [] for w in WAVE_ORDER}
    for change in changes:
        by_wave[wave_of(change, environments)].append(change.stack)
    out: list[Shard] = []
    for wave in WAVE_ORDER:
        names = sorted(set(by_wave[wave]))
        count = min(shards, len(names))
        for i in range(count):
            out.append(Shard(wave, i + 1, count, tuple(names[i::count])))
    return out


def matrix(shards: Sequence[Shard]) -> dict[str, list[dict[str, Any]]]:
    """A CI job matrix: `strategy.matrix: ${{ fromJSON(...) }}`; filter by `wave` per job."""
    return {"include": [s.as_dict() for s in shards]}
