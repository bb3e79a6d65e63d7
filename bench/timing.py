"""Paired timing shared by the benches: project and floor taken in turn (A B A B ...), so
noise on a shared machine hits both alike; medians."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def paired(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """The median seconds of each of `fns`, run in turn `repeat` times, collected first."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            gc.collect()
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]
