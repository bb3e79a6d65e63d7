"""A no-op apply of one tenant on the real engine, against the engine's own floor and against
Pulumi's published figure; optionally N tenants applied then re-applied at --parallel 1 and 4.

- project: `provisioner apply --all` of one applied tenant (nothing to change): the CLI's
  start, validation, the Automation API, `pulumi up` of the tenant's ~22 resources (the
  program, the stand-in plugins' Configure/Check/Diff, the onboarding steps' Diff).
- floor: `pulumi up --yes --skip-preview` of an empty Python program on the same file backend
  (what `up` costs before the program declares anything; the Automation API's up skips the
  preview too).
- published: ~8.5 s, the average of ten no-op `pulumi up --yes` (preview + update) of the
  default AWS template on Pulumi's own measurement (pulumi/pulumi#3671, 2020-03-02 comment:
  "Average 8.4816"), most of it the AWS provider's Configure.

    .venv/bin/python bench/engine_bench.py [--rounds 3] [--tenants 20]
"""

from __future__ import annotations

import argparse
import os
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
                        help="also apply then re-apply this many tenants at parallel 1 and 4")
    args = parser.parse_args(argv)

    from tests.engine_world import ENGINE, add_demo_tenants, engine_missing, engine_world

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
            for parallel in ("1", "4"):
                # new tenants each time (a destroyed tenant's database is retained, so it
                # could not be created again); the stacks of the first set stay and re-apply
                names = add_demo_tenants(world.repo, args.tenants, prefix=f"bench{parallel}x")
                for name in names:
                    world.prepare_stack(name)
                first = _timed(lambda par=parallel: world.provisioner(
                    "apply", "--all", "--parallel", par, check=True))
                again = _timed(lambda par=parallel: world.provisioner(
                    "apply", "--all", "--parallel", par, check=True))
                stacks = len(list((world.repo / "tenants").glob("*.yaml")))
                print(f"{args.tenants} new tenants at --parallel {parallel}: apply {first:6.1f} s"
                      f"; re-apply of all {stacks} stacks {again:6.1f} s "
                      f"({again / stacks:.2f} s a stack)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
