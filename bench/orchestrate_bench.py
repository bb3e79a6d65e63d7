"""Orchestration speed: change detection on a 10,000-tenant git repository, and scheduling
overhead with fake stacks that sleep a fixed time.

Targets (issue "Run many tenant stacks"): deciding the affected stacks for a one-tenant change
in < 0.5 s; 200 stacks at --parallel 16 within 1.1x of ceil(200/16) * t.

    .venv/bin/python bench/orchestrate_bench.py [-n 10000] [--stacks 200] [--parallel 16] [-t 0.2]
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioner.orchestrate.changes import detect_changes  # noqa: E402
from provisioner.orchestrate.results import StackResult, StepCallback  # noqa: E402
from provisioner.orchestrate.scheduler import Job, run_jobs  # noqa: E402

TENANT = """\
ruc: "20{n:09d}"
company_name: Empresa {n} S.A.C.
subdomain: t{n}
admin_email: admin@t{n}.example.pe
plan: {plan}
soap:
  environment: demo
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def build_repo(path: Path, n: int) -> None:
    (path / "tenants").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "reseller.yaml", path / "reseller.yaml")
    (path / "Pulumi.yaml").write_text("name: tenants\nruntime: python\nmain: infra/\n")
    plans = ("ilimitado", "emprendedor", "pyme")
    for i in range(n):
        (path / "tenants" / f"t{i}.yaml").write_text(TENANT.format(n=i, plan=plans[i % 3]))
    git(path, "init", "-q", "-b", "main")
    git(path, "-c", "user.email=b@x", "-c", "user.name=b", "add", "-A")
    git(path, "-c", "user.email=b@x", "-c", "user.name=b", "commit", "-q", "-m", "base")
    git(path, "tag", "base")
    with (path / "tenants" / "t42.yaml").open("a") as f:
        f.write("limit_emission: true\n")
    git(path, "-c", "user.email=b@x", "-c", "user.name=b", "commit", "-q", "-am", "one")


class SleepRunner:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def prepare(self) -> None:
        pass

    def up(self, stack: str, on_step: StepCallback) -> StackResult:
        time.sleep(self.seconds)
        return StackResult(stack, "up")

    preview = destroy = refresh = up


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--stacks", type=int, default=200)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("-t", type=float, default=0.2, help="seconds each fake stack takes")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        started = time.perf_counter()
        build_repo(repo, args.n)
        print(f"built a git repository of {args.n:,} tenants in "
              f"{time.perf_counter() - started:.1f}s")
        best = math.inf
        for _ in range(5):
            t0 = time.perf_counter()
            changes = detect_changes(repo, "base")
            best = min(best, time.perf_counter() - t0)
        assert [c.stack for c in changes.changes] == ["t42"], changes.changes
        ok = "OK" if best < 0.5 else "SLOW"
        print(f"change detection, one tenant edited of {args.n:,}: {best:.3f}s "
              f"(best of 5; target < 0.5s) {ok}")

    ideal = math.ceil(args.stacks / args.parallel) * args.t
    t0 = time.perf_counter()
    results = run_jobs(SleepRunner(args.t), [Job(f"t{i}", "up") for i in range(args.stacks)],
                       parallel=args.parallel)
    took = time.perf_counter() - t0
    assert all(r.ok for r in results)
    ratio = took / ideal
    print(f"{args.stacks} fake stacks of {args.t}s at --parallel {args.parallel}: {took:.3f}s, "
          f"ideal {ideal:.3f}s, ratio {ratio:.3f} (target <= 1.1) "
          f"{'OK' if ratio <= 1.1 else 'SLOW'}")
    return 0 if best < 0.5 and ratio <= 1.1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
