"""`plan --list` change detection on git repositories of N tenants, against its floor.

Two edits, each its own commit on top of `base`:
- one tenant's file edited: the floor is `git diff --name-status -M base...HEAD`, reading the
  changed blob by object id in one `git cat-file --batch`, and parsing it with libyaml;
- a catalog edit (a plan's limit in reseller.yaml, one third of the tenants on that plan): the
  floor adds one `git ls-tree` of tenants/ and reading and parsing every tenant blob once by
  object id — the least work that can tell who is on the plan.

Project is `detect_changes` (what `plan --list` calls), in the same process; then the whole
`provisioner plan --list` process against a process doing the floor's work (interpreter and
libyaml included), for the catalog edit. The target: catalog edit at 10k <= 1.5x.

    .venv/bin/python bench/plan_bench.py [--sizes 1000,10000,50000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrate_bench import TENANT  # noqa: E402  (the same tenant shape)

from provisioner.collector import collector_paused  # noqa: E402
from provisioner.orchestrate import spec_blobs  # noqa: E402
from provisioner.orchestrate.changes import detect_changes  # noqa: E402

LOADER = yaml.CSafeLoader
PLANS = ("ilimitado", "emprendedor", "pyme")

FLOOR_SCRIPT = r"""
import gc, subprocess, sys, yaml
gc.disable()
repo, base, full = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def git(*a, data=None):
    return subprocess.run(["git", *a], cwd=repo, input=data, capture_output=True,
                          check=True).stdout
diff = git("diff", "--name-status", "-M", "-z", f"{base}...HEAD").decode()
ids = []
if full:
    for e in git("ls-tree", "-z", "HEAD", "--", "tenants/").decode().split("\0"):
        if e:
            ids.append(e.split()[2])
    for rev in (base, "HEAD"):
        ids.append(f"{rev}:reseller.yaml")
else:
    for e in git("diff", "--raw", "-z", "--no-abbrev", f"{base}...HEAD").decode().split(":")[1:]:
        ids.append(e.split()[3])
out = git("cat-file", "--batch", data="".join(i + "\n" for i in ids).encode())
pos = 0
for _ in ids:
    end = out.index(b"\n", pos)
    size = int(out[pos:end].split()[2])
    yaml.load(out[end + 1:end + 1 + size].decode(), Loader=yaml.CSafeLoader)
    pos = end + 1 + size + 1
"""


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True,
                          check=True).stdout


def commit(repo: Path, message: str) -> None:
    git(repo, "-c", "user.email=b@x", "-c", "user.name=b", "commit", "-q", "-am", message)


def build_repo(path: Path, n: int, edit: str) -> None:
    (path / "tenants").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "reseller.yaml", path / "reseller.yaml")
    (path / "Pulumi.yaml").write_text("name: tenants\nruntime: python\nmain: infra/\n")
    for i in range(n):
        (path / "tenants" / f"t{i}.yaml").write_text(TENANT.format(n=i, plan=PLANS[i % 3]))
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    commit(path, "base")
    git(path, "tag", "base")
    if edit == "tenant":
        with (path / "tenants" / "t42.yaml").open("a") as f:
            f.write("limit_emission: true\n")
    else:
        text = (path / "reseller.yaml").read_text()
        (path / "reseller.yaml").write_text(
            text.replace("limit_documents: 2000", "limit_documents: 2500", 1))
    commit(path, edit)


def floor(repo: Path, full: bool) -> int:
    """The floor's work in process (as FLOOR_SCRIPT does it in its own), with the cyclic
    collector paused as the project pauses it."""
    with collector_paused():
        return _floor(repo, full)


def _floor(repo: Path, full: bool) -> int:
    ids: list[str] = []
    if full:
        for e in git(repo, "ls-tree", "-z", "HEAD", "--", "tenants/").decode().split("\0"):
            if e:
                ids.append(e.split()[2])
        ids += ["base:reseller.yaml", "HEAD:reseller.yaml"]
    else:
        raw = git(repo, "diff", "--raw", "-z", "--no-abbrev", "base...HEAD").decode()
        ids = [e.split()[3] for e in raw.split(":")[1:]]
    git(repo, "diff", "--name-status", "-M", "-z", "base...HEAD")
    out = git(repo, "cat-file", "--batch", data="".join(i + "\n" for i in ids).encode())
    pos = parsed = 0
    for _ in ids:
        end = out.index(b"\n", pos)
        size = int(out[pos:end].split()[2])
        yaml.load(out[end + 1:end + 1 + size].decode(), Loader=LOADER)
        parsed += 1
        pos = end + 1 + size + 1
    return parsed


def cold_detect(repo: Path) -> object:
    """detect_changes with its parse cache emptied: each run parses as a new process would."""
    spec_blobs._parse.cache_clear()  # the private cache of spec_blobs.parsed
    return detect_changes(repo, "base")


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired(project: Callable[[], object], base: Callable[[], object],
           repeat: int) -> tuple[float, float]:
    """Medians of alternating runs, so drift on a shared machine hits both alike."""
    p, f = [], []
    for _ in range(repeat):
        p.append(median_time(project, 1))
        f.append(median_time(base, 1))
    return statistics.median(p), statistics.median(f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-cli", action="store_true", help="skip the whole-process figures")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cli = [str(Path(sys.executable).with_name("provisioner"))]
    print(f"{'edit':<8} {'tenants':>8} {'project':>9} {'floor':>9} {'ratio':>6}  stacks")
    for n in sizes:
        for edit in ("tenant", "catalog"):
            with tempfile.TemporaryDirectory() as tmp:
                repo = Path(tmp) / "repo"
                build_repo(repo, n, edit)
                changes = detect_changes(repo, "base")
                expected = 1 if edit == "tenant" else len(range(2, n, 3))
                assert len(changes.changes) == expected, (edit, n, len(changes.changes))
                project, base = paired(lambda r=repo: cold_detect(r),
                                       lambda r=repo, e=edit: floor(r, e == "catalog"),
                                       args.repeat)
                print(f"{edit:<8} {n:>8,} {project:>8.3f}s {base:>8.3f}s "
                      f"{project / base:>5.2f}x  {len(changes.changes):,}")
                if edit == "catalog" and not args.no_cli:
                    run_cli = [*cli, "plan", "--list", "--base", "base", "--repo", str(repo)]
                    run_floor = [sys.executable, "-c", FLOOR_SCRIPT, str(repo), "base", "1"]
                    project, base = paired(
                        lambda c=run_cli: subprocess.run(c, check=True, capture_output=True),
                        lambda c=run_floor: subprocess.run(c, check=True, capture_output=True),
                        max(3, args.repeat // 2))
                    print(f"{'  process':<8} {n:>8,} {project:>8.3f}s {base:>8.3f}s "
                          f"{project / base:>5.2f}x  (whole `plan --list` vs floor process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
