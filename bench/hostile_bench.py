"""Validate hostile spec files of up to 1 MiB (the size cap) against the floor of parsing them.

Duplicate keys were quadratic: every duplicate searched its mapping for the first occurrence
and then walked the whole tree for its path. Now one pass per mapping and one walk per file.
A file over 10,000 lines or flow items is refused before parsing (`MAX_ITEMS`); the "cap"
rows are the largest files still parsed. The floor is libyaml's C loader parsing the same
bytes (`yaml.load(..., CSafeLoader)`): the least work that reads the file at all.

    .venv/bin/python bench/hostile_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioner.model.repository import load_repository  # noqa: E402
from provisioner.model.yaml_source import MAX_FILE_BYTES, MAX_ITEMS  # noqa: E402

CASES: dict[str, Callable[[int], str]] = {
    # one mapping, one key repeated: 16,000 duplicates in 300 KB took 5 minutes before
    "same key": lambda n: "plan: x\n" * n,
    # many distinct keys, each twice
    "pairs": lambda n: "".join(f"k{i}: 1\nk{i}: 2\n" for i in range(n // 2)),
    # duplicates inside nested mappings
    "nested": lambda n: "labels:\n" + "  a: b\n" * n,
    # YAML 1.1 scalars everywhere (each reported with its path)
    "yes/no": lambda n: "".join(f"k{i}: yes\n" for i in range(n)),
}


def fill(make: Callable[[int], str], items: int = 10**9) -> str:
    """The largest text `make` gives under the 1 MiB cap (and `items` lines)."""
    lo, hi = 1, MAX_FILE_BYTES
    while lo < hi:
        mid = (lo + hi + 1) // 2
        text = make(mid)
        if len(text.encode()) <= MAX_FILE_BYTES and text.count("\n") <= items:
            lo = mid
        else:
            hi = mid - 1
    return make(lo)


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "reseller.yaml").write_text("base_domain: x.example.pe\n", encoding="utf-8")
        (root / "tenants").mkdir()
        print(f"{'case':<14} {'bytes':>9} {'floor s':>8} {'validate s':>10} {'ratio':>6} findings")
        for name, make in [(f"{n} 1MiB", m) for n, m in CASES.items()] + [
                (f"{n} cap", m) for n, m in CASES.items()]:
            text = fill(make, MAX_ITEMS if name.endswith("cap") else 10**9)
            path = root / "tenants" / "hostile.yaml"
            path.write_text(text, encoding="utf-8")
            floor = best(lambda t=text: yaml.load(t, Loader=loader), args.repeat)
            repo = load_repository(root)
            took = best(lambda: load_repository(root), args.repeat)
            print(f"{name:<14} {len(text.encode()):>9,} {floor:>8.3f} {took:>10.3f} "
                  f"{took / floor:>6.2f} {len(repo.findings)}")


if __name__ == "__main__":
    main()
