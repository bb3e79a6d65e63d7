"""A no-op apply of one tenant on the real engine, against the engine's own floor and against
Pulumi's published figure; optionally N tenants applied then re-applied at --parallel 1, 4 and 16.

- project: `provisioner apply --all` of one applied tenant (nothing to change): the CLI's
  start, validation, the Automation API, `pulumi up` of the tenant's ~22 resources (the
  program, the stand-in plugins' Configure/Check/Diff, the onboarding steps' Diff).
- floor: `pulumi up --yes --skip-preview` of an empty Python program on the same file backend
  (what `up` costs before the program declares anything; the Automation API's up skips the
  preview too).
- published: ~8.5 s, the average of ten no-op `pulumi up --yes` (preview + update) of the
  default AWS template on Pulumi's own measurement (pulumi/pulumi#3671, 2020-03-02 comment:
  "Average 8.4816"), most of it the AWS provider's Configure.

- many: N tenants applied, then re-applied, at each parallelism, against the floor
  N x one stack / parallelism (one stack timed alone just before).

    .venv/bin/python bench/engine_bench.py [--rounds 3] [--tenants 100 [--parallel 1,4,16]]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PUBLISHED_NOOP_S = 8.48  # pulumi/pulumi#3671


def _timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tenants", type=int, default=0,
                        help="also apply then re-apply this many tenants at each --parallel")
    parser.add_argument("--parallel", default="1,4,16",
                        help="the parallelism levels of --tenants (default: 1,4,16)")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.parallel.split(",")]

    from tests.engine_world import ENGINE, engine_missing, engine_world

    if why := engine_missing():
        print(why)
        return 1
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp, \
            engine_world(Path(tmp), ["pruebademo"]) as world:
        world.prepare_stack("pruebademo")
        world.provisioner("apply", "--all", check=True)
        empty = Path(tmp) / "empty"
        empty.mkdir()
        (empty / "Pulumi.yaml").write_text(
            "name: empty\nruntime:\n  name: python\n  options:\n"
            f"    virtualenv: {ROOT / '.venv'}\nmain: __main__.py\n")
        (empty / "__main__.py").write_text("import pulumi  # noqa: F401\n")
        env = {**os.environ, **world.env,
               "PULUMI_PYTHON_CMD": str(ROOT / ".venv" / "bin" / "python"),
               "PATH": f"{ENGINE / 'bin'}{os.pathsep}{world.env['PATH']}"}

        def pulumi(*a: str) -> None:
            subprocess.run([str(ENGINE / "bin" / "pulumi"), *a, "--non-interactive"],
                           cwd=empty, env=env, check=True, capture_output=True, timeout=600)

        pulumi("stack", "init", "floor", "--secrets-provider", "passphrase")
        pulumi("up", "--yes", "--skip-preview", "--stack", "floor")
        floor, project = [], []
        for i in range(args.rounds):  # paired, alternating which runs first
            pair = [lambda: pulumi("up", "--yes", "--skip-preview", "--stack", "floor"),
                    lambda: world.provisioner("apply", "--all", check=True)]
            if i % 2:
                project.append(_timed(pair[1]))
                floor.append(_timed(pair[0]))
            else:
                floor.append(_timed(pair[0]))
                project.append(_timed(pair[1]))
        f, p = statistics.median(floor), statistics.median(project)
        print(f"no-op apply, 1 tenant (~22 resources), median of {args.rounds}:")
        print(f"  project (provisioner apply --all) {p:6.2f} s")
        print(f"  floor (pulumi up, empty program)  {f:6.2f} s   ratio {p / f:.2f}x")
        print(f"  published no-op update ~{PUBLISHED_NOOP_S} s (pulumi/pulumi#3671)   "
              f"ratio {p / PUBLISHED_NOOP_S:.2f}x")

    if args.tenants:
        many(args.tenants, levels)
    return 0


def many(count: int, levels: list[int]) -> None:
    """`count` new tenants applied, then re-applied, at each parallelism, each level in a world
    of its own (new state, MariaDB and moto: a destroyed tenant's database is retained, so the
    same tenants could not be created twice). The floor is `count` x one stack / parallelism,
    one stack measured alone in a world of its own just before (its create, then a no-op)."""
    from tests.engine_world import World, add_demo_tenants, engine_world

    def apply(world: World, parallel: int) -> float:
        started = time.perf_counter()
        world.provisioner("apply", "--all", "--parallel", str(parallel), check=True)
        return time.perf_counter() - started

    for parallel in levels:
        with tempfile.TemporaryDirectory(prefix="engine-bench-unit-") as tmp, \
                engine_world(Path(tmp), []) as world:
            (name,) = add_demo_tenants(world.repo, 1, prefix="unit")
            world.prepare_stack(name)
            one_create = apply(world, 1)
            one_noop = statistics.median(apply(world, 1) for _ in range(3))
        with tempfile.TemporaryDirectory(prefix="engine-bench-many-") as tmp, \
                engine_world(Path(tmp), []) as world:
            reseller = world.repo / "reseller.yaml"  # the examples' cap is 50 accounts
            reseller.write_text(re.sub(r"(?m)^max_accounts: .*$", f"max_accounts: {count}",
                                       reseller.read_text(encoding="utf-8")), encoding="utf-8")
            started = time.perf_counter()
            for name in add_demo_tenants(world.repo, count, prefix=f"p{parallel}x"):
                world.prepare_stack(name)
            prepared = time.perf_counter() - started
            first, again = apply(world, parallel), apply(world, parallel)
        floor_first, floor_again = count * one_create / parallel, count * one_noop / parallel
        print(f"{count} tenants at --parallel {parallel} (stacks prepared in {prepared:.0f} s, "
              f"not timed below):")
        print(f"  apply    {first:7.1f} s   floor {count} x {one_create:.2f} s / {parallel} = "
              f"{floor_first:7.1f} s   ratio {first / floor_first:.2f}x")
        print(f"  re-apply {again:7.1f} s   floor {count} x {one_noop:.2f} s / {parallel} = "
              f"{floor_again:7.1f} s   ratio {again / floor_again:.2f}x", flush=True)


if __name__ == "__main__":
    sys.exit(main())
