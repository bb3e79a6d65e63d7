"""One-tenant commands at 10 tenants and at N: `render`, `explain` and the Pulumi program's
start (to its tenant loaded), each a fresh process as a user or `pulumi up` runs it.

The target: the same cost at 10 and at 50,000 tenants (<= 1.2x), keeping the rules
between accounts (unique subdomain, RUC, company name; max_accounts). The floor is the same
command on a repository of 10 tenants: all it needs is the reseller file and the tenant's own
file, and at 10 files the index of the others costs nothing. The project figure is the same
command at N tenants, cold (no index cache: every other file read once for its keys) and warm
(the cache from an earlier command: every file listed and stat-ed, none read; at this size in
a helper process on another core, model/listing.py, so CPU time exceeds wall time). Also the
in-process `load_one` alone, whose floor at 10 tenants is milliseconds: it shows what the
index costs per size, in absolute terms. Medians of runs taken in turn (10, N cold, N warm;
each ratio the median of the rounds' own ratios),
as wall time and as the process's CPU time (user + system, from wait4): on a machine shared
with other jobs the wall time of a 0.5 s process varies by +-30 %, its CPU time much less.

    .venv/bin/python bench/one_tenant_bench.py [--sizes 1000,10000,50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from validate_bench import generate  # noqa: E402

TENANT = "cliente3"  # an OSE production tenant with SMTP in validate_bench's shapes
# What infra/__main__.py runs up to its tenant loaded, as the orchestrator starts it (the spec
# repository in PROVISIONER_SPEC_ROOT): the head start of the listing, then the program.
PROGRAM = ("import os, sys; from pathlib import Path; "
           "os.environ['PROVISIONER_SPEC_ROOT'] = sys.argv[2]; "
           "from provisioner.infra.head_start import start_listing; start_listing(); "
           "from provisioner.infra.program import load_target; "
           "load_target(sys.argv[1], Path(sys.argv[2]))")
LOAD_ONE = ("import sys, time; from pathlib import Path; "
            "from provisioner.model.index import load_one; t = time.perf_counter(); "
            "r = load_one(Path(sys.argv[2]), sys.argv[1]); r.tenant(sys.argv[1]); "
            "print(time.perf_counter() - t)")


def build(root: Path, n: int) -> None:
    """validate_bench's tenants; the examples' reseller file (platform values explain needs),
    with a cap above N so that max_accounts is counted, not skipped."""
    generate(root, n)
    reseller = (ROOT / "examples" / "reseller.yaml").read_text(encoding="utf-8")
    reseller = re.sub(r"(?m)^max_accounts: .*$", f"max_accounts: {n + 1000}", reseller)
    (root / "reseller.yaml").write_text(reseller, encoding="utf-8")


def commands(repo: Path) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "render": [py, "-m", "provisioner", "--repo", str(repo), "render", TENANT],
        "explain": [py, "-m", "provisioner", "--repo", str(repo), "explain", TENANT,
                    "--format", "json"],
        "program": [py, "-c", PROGRAM, TENANT, str(repo)],
        "load_one": [py, "-c", LOAD_ONE, TENANT, str(repo)],
    }


def run(cmd: list[str], cache: Path) -> tuple[float, float]:
    """Wall and CPU time of the process; load_one prints its own in-process time (both)."""
    env = dict(os.environ, PROVISIONER_CACHE_DIR=str(cache))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])}... failed: {done.stderr.strip()[-600:]}")
    if "load_one" in cmd[2]:
        inside = float(done.stdout.strip().splitlines()[-1])
        return inside, inside
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--target", type=float, default=1.2)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="one-tenant-bench-"))
    try:
        floor_repo = work / "floor"
        build(floor_repo, 10)
        warm_floor = work / "cache-floor"
        print(f"one-tenant commands, tenant {TENANT}; floor: the same command at 10 tenants; "
              f"target <= {args.target}x (warm)")
        print(f"{'command':9} {'tenants':>8} {'':>5} {'floor':>8} {'cold':>8} {'ratio':>7} "
              f"{'warm':>8} {'ratio':>7}")
        for n in sizes:
            repo = work / f"n{n}"
            build(repo, n)
            warm = work / f"cache-{n}"
            for name in commands(repo):
                run(commands(floor_repo)[name], warm_floor)  # prime both caches
                run(commands(repo)[name], warm)
                floors, colds, warms = [], [], []
                for i in range(args.repeat):
                    floors.append(run(commands(floor_repo)[name], warm_floor))
                    colds.append(run(commands(repo)[name], work / f"cold-{n}-{name}-{i}"))
                    warms.append(run(commands(repo)[name], warm))
                unit, scale = ("ms", 1000) if name == "load_one" else ("s", 1)
                for k, kind in enumerate(("wall", "cpu")):
                    if name == "load_one" and kind == "cpu":
                        continue
                    f, c, w = (statistics.median(x[k] for x in runs)
                               for runs in (floors, colds, warms))
                    # each round's own ratio, then their median (see validate_bench.paired)
                    cold_ratio, warm_ratio = (statistics.median(
                        r[k] / fl[k] for fl, r in zip(floors, runs, strict=True))
                        for runs in (colds, warms))
                    # the target is the wait (wall); CPU includes the listing helper's
                    verdict = "" if name == "load_one" or kind == "cpu" else (
                        "  met" if warm_ratio <= args.target else "  NOT met")
                    print(f"{name:9} {n:>8,} {kind:>5} {f * scale:>7.3g}{unit} "
                          f"{c * scale:>7.3g}{unit} {cold_ratio:>6.2f}x "
                          f"{w * scale:>7.3g}{unit} {warm_ratio:>6.2f}x{verdict}", flush=True)
            shutil.rmtree(repo)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
