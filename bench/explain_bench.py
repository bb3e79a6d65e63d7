"""Throughput of `provisioner explain`: the bundled examples, then 1,000 synthetic tenants.

Each tenant is a full mock run of infra/ (program, Tenant component, rendering, recording)
plus the text formatting explain prints; the spec repository is loaded once and shared, as
one `explain` process would load it once. Usage: .venv/bin/python bench/explain_bench.py [N]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from stdnum.pe import ruc as stdnum_ruc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioner.cli.explain import as_data, declare, format_text  # noqa: E402
from provisioner.spec.loader import load_repository  # noqa: E402


def synthetic_tenant(i: int) -> dict[str, object]:
    """A valid tenant; every fourth one in production, every fifth silo, some via an OSE."""
    first10 = f"20{500000 + i:08d}"  # clear of the examples' RUCs
    ruc = first10 + stdnum_ruc.calc_check_digit(first10)
    production = i % 4 == 0
    soap: dict[str, object] = {"send": "sunat", "environment":
                               "production" if production else "demo"}
    if i % 3 == 0:
        soap = {"send": "ose", "environment": soap["environment"], "sol_user": "USER1",
                "ose_url": "https://ose.example.pe/ol-ti-itcpe/billService"}
    elif production:
        soap["sol_user"] = "FACTURA1"
    spec: dict[str, object] = {
        "ruc": ruc, "company_name": f"Empresa Sintética {i} S.A.C.", "subdomain": f"t{i}",
        "admin_email": f"admin{i}@example.pe", "plan": "corporativo" if i % 5 == 0 else "pyme",
        "soap": soap, "certificate": production, "allow_production_switch": False,
    }
    if i % 7 == 0:
        spec["smtp"] = {"host": "smtp.example.pe", "username": f"mail{i}@example.pe"}
    return spec


def build_repo(dest: Path, count: int) -> None:
    shutil.copytree(ROOT / "examples", dest)
    reseller = yaml.safe_load((dest / "reseller.yaml").read_text())
    reseller["max_accounts"] = None
    (dest / "reseller.yaml").write_text(yaml.safe_dump(reseller))
    for i in range(count):
        (dest / "tenants" / f"t{i}.yaml").write_text(
            yaml.safe_dump(synthetic_tenant(i), allow_unicode=True))


def explain_all(repo_dir: Path, names: list[str]) -> float:
    repository = load_repository(repo_dir)
    repository.raise_for_errors()
    start = time.perf_counter()
    for name in names:
        run = declare(name, repo_dir, repository)
        if run.error is not None:
            raise SystemExit(f"{name}: {run.error}")
        format_text(as_data(run))
    return time.perf_counter() - start


def one_command(tenant: str, runs: int = 5) -> tuple[float, float]:
    """Wall time of `provisioner explain TENANT` as an operator runs it, start-up included;
    the baseline is `python -c pass`, the interpreter's own start, in the same run."""
    def best(cmd: list[str]) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
        return min(times)

    baseline = best([sys.executable, "-c", "pass"])
    return best([sys.executable, "-m", "provisioner", "--repo", str(ROOT / "examples"),
                 "explain", tenant]), baseline


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for tenant in ("pruebademo", "hotelsol"):
        wall, baseline = one_command(tenant)
        print(f"`provisioner explain {tenant}`: {wall:.2f} s wall, start-up included "
              f"(target < 1.5 s: {'met' if wall < 1.5 else 'NOT met'}); bare interpreter "
              f"{baseline:.2f} s, ratio {wall / baseline:.1f}x")
    examples = sorted(p.stem for p in (ROOT / "examples" / "tenants").glob("*.yaml"))
    seconds = explain_all(ROOT / "examples", examples)
    print(f"examples: {len(examples)} tenants in {seconds:.2f} s "
          f"({len(examples) / seconds:.1f} tenants/s)")
    with tempfile.TemporaryDirectory() as tmp:
        repo_dir = Path(tmp) / "repo"
        build_repo(repo_dir, count)
        names = [f"t{i}" for i in range(count)]
        seconds = explain_all(repo_dir, names)
    print(f"synthetic: {count} tenants in {seconds:.2f} s ({count / seconds:.1f} tenants/s)")


if __name__ == "__main__":
    main()
