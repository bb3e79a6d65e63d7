"""Time `validate` on N synthetic tenants against the floor of only parsing them with libyaml.

The issue's target: validate within 1.5x of the C-loader parse floor, and `provisioner --help`
under 0.3 s. Both are measured here in one run so the ratio is not skewed by a different machine
state:

    .venv/bin/python bench/validate_bench.py [-n 10000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from stdnum.pe import ruc as stdnum_ruc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioner.spec.loader import load_repository  # noqa: E402

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


def parse_floor(root: Path) -> int:
    """Read and parse every file with libyaml's C loader; nothing else."""
    loader = yaml.CSafeLoader
    count = 0
    for path in [root / "reseller.yaml", *sorted((root / "tenants").glob("*.yaml"))]:
        yaml.load(path.read_bytes(), Loader=loader)
        count += 1
    return count


def validate(root: Path) -> int:
    repo = load_repository(root)
    if repo.errors:
        raise SystemExit(f"bench data is invalid: {repo.errors[:3]}")
    return len(repo.tenants)


def best_of(fn: Callable[[Path], int], root: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn(root)
        times.append(time.perf_counter() - start)
    return min(times)


def help_startup(repeat: int) -> float:
    times = []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "provisioner", "--help"], check=True,
                       capture_output=True, cwd=ROOT, env=env)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="tenants to generate (10,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best of)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="generate into this directory and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="validate-bench-") as tmp:
        root = args.keep or Path(tmp) / "repo"
        generate(root, args.n)
        validate(root)  # warm-up: imports, pydantic schema build, OS file cache
        parse_floor(root)
        floor = best_of(parse_floor, root, args.repeat)
        took = best_of(validate, root, args.repeat)
    startup = help_startup(max(args.repeat, 5))
    ratio = took / floor
    print(f"tenants:            {args.n:,}")
    print(f"parse floor (C):    {floor:.3f} s  ({floor / args.n * 1e6:.0f} us/file)")
    print(f"validate:           {took:.3f} s  ({took / args.n * 1e6:.0f} us/file)")
    print(f"ratio:              {ratio:.2f}x  (target <= 1.5x)")
    print(f"--help start-up:    {startup:.3f} s  (target < 0.3 s)")
    return 0 if ratio <= 1.5 and startup < 0.3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
