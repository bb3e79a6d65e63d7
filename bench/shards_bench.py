"""A model of how long the apply workflow takes for 1,000 and 10,000 tenants over N runners
(`plan --list --shards N`, one matrix job per shard, demo/internal wave before production).

Not a measurement: no Pulumi CLI runs here. Per-stack costs are the README's estimates, the
other figures are stated assumptions (change them with the options); what the model adds is
how the bounds combine, so the documented figures come from something anyone can rerun:

- a shard runs its stacks `--parallel P` at a time: ceil(n / P) rounds of the per-stack time;
  production stacks go in batches of `--batch-size`, each batch its own rounds;
- a runner has C cores: each stack also costs CPU seconds (CLI, Python program, three provider
  plugins), so a shard takes at least n * cpu / C;
- Route53 allows 5 requests per second per account, shared by every runner: a wave takes at
  least (its Route53 requests) / 5;
- every shard job first pays a fixed setup (checkout, .venv from requirements.txt, CLI and
  plugin downloads); the list job runs once before;
- at most `--max-jobs` jobs run at once (GitHub's concurrency limit for the account's plan);
  further shards queue.

The baseline is one runner (shards = 1), the workflow before sharding; the floor is the
Route53 bound, which no number of runners lowers.

    .venv/bin/python bench/shards_bench.py [--tenants 1000 10000] [--shards 1 2 4 8 16 32 64]
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass

ROUTE53_RPS = 5.0


@dataclass(frozen=True)
class Scenario:
    name: str
    seconds: float  # wall seconds of one stack operation (README's estimate, midpoint)
    route53: float  # Route53 requests per stack
    cpu: float  # CPU seconds per stack on the runner


SCENARIOS = (
    # a platform edit that ends up changing nothing: `up` with nothing to do, 10-20 s; no
    # refresh, so no provider reads (the engine only diffs inputs)
    Scenario("platform edit, no changes", 15.0, 0.0, 6.0),
    # first creation of pooled tenants: 60-90 s each; per record: GetHostedZone,
    # ChangeResourceRecordSets, GetChange polls until INSYNC (~3), one read back
    Scenario("new pooled tenants", 75.0, 6.0, 10.0),
    # nightly drift: a preview-only refresh reads every resource (record: ~2 Route53 calls)
    Scenario("drift check (refresh)", 15.0, 2.0, 6.0),
)


@dataclass(frozen=True)
class Settings:
    parallel: int = 16
    batch_size: int = 25
    cores: int = 4
    setup: float = 120.0  # seconds per shard job before the first stack
    list_job: float = 60.0
    max_jobs: int = 20
    demo_share: float = 0.10  # demo and internal tenants: the first wave


def shard_seconds(n: int, production: bool, sc: Scenario, st: Settings) -> tuple[float, str]:
    """One shard job's time for n stacks, and which bound set it."""
    if n == 0:
        return 0.0, "-"
    if production:
        batches = [st.batch_size] * (n // st.batch_size) + ([n % st.batch_size]
                                                            if n % st.batch_size else [])
    else:
        batches = [n]
    rounds = sum(math.ceil(b / st.parallel) for b in batches)
    work = rounds * sc.seconds
    cpu = n * sc.cpu / st.cores
    return st.setup + max(work, cpu), ("parallel rounds" if work >= cpu else "runner CPU")


def predict(tenants: int, shards: int, sc: Scenario, st: Settings) -> dict[str, object]:
    early = round(tenants * st.demo_share)
    waves = [(early, False), (tenants - early, True)]
    total, bounds = st.list_job, []
    for count, production in waves:
        if count == 0:
            continue
        k = min(shards, count)
        sizes = [count // k + (1 if i < count % k else 0) for i in range(k)]
        # GitHub runs at most max_jobs at once: shards beyond queue for a free runner
        queue = math.ceil(k / st.max_jobs)
        slowest, bound = max(shard_seconds(n, production, sc, st) for n in sizes)
        compute = slowest * queue
        dns = st.setup + count * sc.route53 / ROUTE53_RPS
        if dns > compute:
            compute, bound = dns, "Route53 5 req/s"
        elif queue > 1:
            bound += f", {queue} job queues"
        total += compute
        bounds.append(bound)
    floor = st.list_job + tenants * sc.route53 / ROUTE53_RPS
    return {"tenants": tenants, "shards": shards, "scenario": sc.name,
            "minutes": round(total / 60, 1), "bound": "; ".join(dict.fromkeys(bounds)),
            "route53_floor_minutes": round(floor / 60, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--parallel", type=int, default=Settings.parallel)
    parser.add_argument("--batch-size", type=int, default=Settings.batch_size)
    parser.add_argument("--cores", type=int, default=Settings.cores)
    parser.add_argument("--setup", type=float, default=Settings.setup)
    parser.add_argument("--max-jobs", type=int, default=Settings.max_jobs)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args()
    st = Settings(parallel=args.parallel, batch_size=args.batch_size, cores=args.cores,
                  setup=args.setup, max_jobs=args.max_jobs)
    rows = [predict(n, s, sc, st) for sc in SCENARIOS for n in args.tenants
            for s in args.shards]
    if args.format == "json":
        print(json.dumps(rows, indent=1))
        return
    print(f"model: --parallel {st.parallel} per runner, batches of {st.batch_size}, "
          f"{st.cores} cores, {st.setup:.0f} s "
          f"setup per shard job, at most {st.max_jobs} jobs at once, {st.demo_share:.0%} demo "
          f"tenants first, Route53 {ROUTE53_RPS:g} req/s per account")
    for sc in SCENARIOS:
        for n in args.tenants:
            base = next(r for r in rows if r["scenario"] == sc.name and r["tenants"] == n
                        and r["shards"] == args.shards[0])
            print(f"\n{sc.name}, {n:,} tenants ({sc.seconds:g} s, {sc.route53:g} Route53 "
                  f"requests, {sc.cpu:g} CPU s per stack); Route53 floor "
                  f"{base['route53_floor_minutes']} min")
            print(f"  {'shards':>6}  {'minutes':>8}  {'vs ' + str(args.shards[0]):>7}  bound")
            for r in rows:
                if r["scenario"] == sc.name and r["tenants"] == n:
                    ratio = float(base["minutes"]) / float(r["minutes"])  # type: ignore[arg-type]
                    print(f"  {r['shards']:>6}  {r['minutes']:>8}  {ratio:>6.1f}x  {r['bound']}")


if __name__ == "__main__":
    main()
