"""Time `validate` (load_repository) on N synthetic tenants against its honest floor.

The floor is the least work giving the same result: the project's own read and parse path
(`read_source` + `parse_mapping`, libyaml with the fast constructor) and pydantic's
`model_validate` for each file, with the cyclic collector paused as the loader pauses it.
What validate adds on top is the semantic and cross-file rules, positions and findings.
The target: validate <= 1.15x that floor at 1k, 10k and 50k tenants, memory linear.
It also times the loader with the collector left running (as it was before the loader paused it),
to show what pausing it buys, and `provisioner --help` start-up (target < 0.3 s).

    .venv/bin/python bench/validate_bench.py [--sizes 1000,10000,50000] [--repeat 5]
        [--min-seconds 180]   # ~12 minutes for the three sizes
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stdnum.pe import ruc as stdnum_ruc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioner.model import repository  # noqa: E402
from provisioner.model.models import ResellerSpec, TenantSpec  # noqa: E402
from provisioner.model.repository import load_repository  # noqa: E402
from provisioner.model.yaml_source import parse_mapping, read_source  # noqa: E402

RESELLER = """\
# yaml-language-server: $schema=../schema/reseller.schema.json
base_domain: facturador.example.pe
max_accounts: null
database_prefix: tenancy
platform:
  region: us-east-1
  hosted_zone_id: Z0123456789EXAMPLE
"""

# Shapes like the examples: SUNAT production, OSE production, demo with SMTP, explicit modules.
TENANTS = [
    """\
# yaml-language-server: $schema=../../schema/tenant.schema.json
ruc: "{ruc}"
company_name: Comercial Número {i} S.A.C.
trade_name: Bodega {i}
subdomain: {sub}
admin_email: admin{i}@cliente{i}.example.pe
plan: pyme
limit_emission: true
modules:
  preset: basico
  remove: [pos]
  add: [inventory]
soap:
  send: sunat
  environment: production
  sol_user: FACTURA{i}
certificate: true
allow_production_switch: false
labels:
  vendedor: lucia
""",
    """\
# yaml-language-server: $schema=../../schema/tenant.schema.json
ruc: "{ruc}"
company_name: Ferretería {i} S.A.
subdomain: {sub}
admin_email: sistemas@ferreteria{i}.example.pe
plan: ilimitado
modules:
  include: [dashboard, documents, purchases, inventory, reports, items, persons]
  levels:
    documents: [new_document, list_document]
soap:
  send: ose
  environment: production
  sol_user: OSEUSER1
  ose_url: https://ose.nubefact.com/ol-ti-itcpe/billService
smtp:
  host: smtp.gmail.com
  port: 465
  username: comprobantes@ferreteria{i}.example.pe
  encryption: ssl
  from_address: comprobantes@ferreteria{i}.example.pe
  from_name: Ferretería {i}
certificate: true
""",
    """\
# yaml-language-server: $schema=../../schema/tenant.schema.json
ruc: "{ruc}"
company_name: Restaurante {i} E.I.R.L.
subdomain: {sub}
admin_email: caja@resto{i}.example.pe
plan: emprendedor
modules:
  preset: restaurante
soap:
  environment: demo
allow_production_switch: false
""",
]


def ruc_for(i: int) -> str:
    """A distinct RUC with a valid check digit for each i."""
    body = f"20{i:08d}"
    return body + stdnum_ruc.calc_check_digit(body)


def generate(root: Path, n: int) -> None:
    tenants = root / "tenants"
    tenants.mkdir(parents=True, exist_ok=True)
    (root / "reseller.yaml").write_text(RESELLER, encoding="utf-8")
    for i in range(n):
        sub = f"cliente{i}"
        text = TENANTS[i % len(TENANTS)].format(i=i, sub=sub, ruc=ruc_for(i))
        (tenants / f"{sub}.yaml").write_text(text, encoding="utf-8")


def tenant_paths(root: Path) -> list[str]:
    """The floors' listing: one listdir, names sorted as strings."""
    tenants = os.path.join(root, "tenants")
    return [os.path.join(tenants, name) for name in sorted(os.listdir(tenants))]


def floor(root: Path) -> int:
    """List, read, parse (the project's path) and model_validate every file; nothing else.
    Names as sorted strings from one listdir, as the loader lists them (sorting 10,000 Path
    objects alone costs ~5% of this floor)."""
    with repository.collector_paused():
        paths = [os.path.join(root, "reseller.yaml"), *tenant_paths(root)]
        kept = []
        for n, path in enumerate(paths):
            source = read_source(path)
            data = parse_mapping(source)  # type: ignore[arg-type]
            kept.append((ResellerSpec if n == 0 else TenantSpec).model_validate(data))
    return len(kept)


def validate(root: Path) -> int:
    repo = load_repository(root)
    if repo.errors:
        raise SystemExit(f"bench data is invalid: {repo.errors[:3]}")
    return len(repo.tenants)


def validate_gc_running(root: Path) -> int:
    """The loader as it was before: the cyclic collector left running."""
    saved = repository.collector_paused
    repository.collector_paused = contextlib.nullcontext  # type: ignore[assignment]
    try:
        return validate(root)
    finally:
        repository.collector_paused = saved


def peak_rss_mb(root: Path) -> float:
    """Peak memory of a fresh process loading the repository, less that of one only importing
    the loader (a child: this process's heap holds earlier runs)."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent
    code = ("import sys; from pathlib import Path; "
            "from provisioner.model.repository import load_repository; "
            "sys.argv[1] and load_repository(Path(sys.argv[1])); "
            "print(next(l.split()[1] for l in open('/proc/self/status') "
            "if l.startswith('VmHWM:')))")
    kb = [int(subprocess.run([sys.executable, "-c", code, arg], check=True, cwd=ROOT,
                             capture_output=True, text=True).stdout) for arg in (str(root), "")]
    return (kb[0] - kb[1]) / 1024


def paired(fns: list[Callable[[Path], int]], root: Path, repeat: int, min_seconds: float
           ) -> tuple[list[float], float, int]:
    """Medians of runs taken in turn, so machine noise hits all alike, and the median of each
    round's B / A: a slow spell of the machine that spans one round moves both its runs, not
    the ratio (a ratio of medians can pair a fast A with a slow B). A and B swap places every
    other round (A B C, B A C), so neither always runs on the heels of the other.

    At least `repeat` rounds of every function, then rounds of A and B alone until the rounds
    took `min_seconds`: on a shared machine one round's ratio can be anywhere in 0.7-1.5 (at
    1k and at 10k tenants), so a median of five moves by +-0.05 between runs; at 1k a round
    costs 0.4 s, and a hundred of them settle it; at 10k, seven rounds (60 s) gave 1.21x
    where thirty-eight (240 s) gave 1.13x on the same clone."""
    times: list[list[float]] = [[] for _ in fns]
    began = time.perf_counter()
    rounds = 0
    while rounds < repeat or time.perf_counter() - began < min_seconds:
        order = list(range(len(fns) if rounds < repeat else 2))
        if rounds % 2:
            order[0], order[1] = order[1], order[0]
        for i in order:
            gc.collect()
            start = time.perf_counter()
            fns[i](root)
            times[i].append(time.perf_counter() - start)
        rounds += 1
    ratios = [b / a for a, b in zip(times[0], times[1], strict=True)]
    return [statistics.median(t) for t in times], statistics.median(ratios), rounds


def help_startup(repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "provisioner", "--help"], check=True,
                       capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000",
                        help="tenant counts, comma-separated (1000,10000,50000)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="paired rounds per size, at least (median)")
    parser.add_argument("--min-seconds", type=float, default=180.0,
                        help="more rounds until a size's rounds took this long (180)")
    parser.add_argument("--target", type=float, default=1.15, help="ratio target (1.15)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    ok = True
    print("ratio: the median of each paired round's validate / floor")
    print(f"{'tenants':>8} {'floor s':>8} {'validate s':>10} {'ratio':>6} "
          f"{'us/file':>8} {'gc on s':>8} {'gc on us/file':>13} {'RSS MB':>7} {'rounds':>6}")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="validate-bench-") as tmp:
            root = Path(tmp) / "repo"
            generate(root, n)
            validate(root)  # warm-up: imports, pydantic schema build, OS file cache
            floor(root)
            (t_floor, t_val, t_gc), ratio, rounds = paired(
                [floor, validate, validate_gc_running], root, args.repeat, args.min_seconds)
            grown = peak_rss_mb(root)
        ok &= ratio <= args.target
        print(f"{n:>8,} {t_floor:>8.3f} {t_val:>10.3f} {ratio:>5.2f}x {t_val / n * 1e6:>8.0f} "
              f"{t_gc:>8.3f} {t_gc / n * 1e6:>13.0f} {grown:>7.0f} {rounds:>6}")
    startup = help_startup(max(args.repeat, 5))
    print(f"target: ratio <= {args.target}x; --help start-up {startup:.3f} s (target < 0.3 s)")
    return 0 if ok and startup < 0.3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
