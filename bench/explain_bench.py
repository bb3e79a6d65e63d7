"""`provisioner explain` against its floor: a minimal mock-runtime program declaring the same
resources (bench/explain_floor.py: the same SDK resource types, names, parents, inputs and
counts under `pulumi.runtime.set_mocks`, without the project's logic).

Three figures, each project / floor / ratio (paired runs):

* one command: `provisioner explain TENANT` wall time, start-up included, against a fresh
  interpreter running the floor program for that tenant (imports pulumi and the SDKs,
  declares the resources). Replaces the old comparison with `python -c pass`.
* per tenant in one process, at each repository size (`--sizes`): a sample of tenants
  explained the way `explain --all` does it (mock run, data, text), against the floor program
  for the same tenants; the cost per tenant must not grow with the repository.
* `explain --all --format json` as the command runs it in one process (load and validate
  once, every tenant), against read + parse + `model_validate` of every file plus the floor
  program per tenant, at `--all-sizes`. Target: ratio <= 1.3.

    .venv/bin/python bench/explain_bench.py [--sizes 1000,10000,50000] [--sample 50]
                                           [--all-sizes 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from stdnum.pe import ruc as stdnum_ruc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from explain_floor import declared_of, run_floor  # noqa: E402
from quiet_cli import run_cli  # noqa: E402
from timing import paired  # noqa: E402
from validate_bench import tenant_paths  # noqa: E402

from provisioner.explain.batch import one_tenant_views  # noqa: E402
from provisioner.explain.declared import as_data, declare, format_text  # noqa: E402
from provisioner.model import repository, yaml_source  # noqa: E402
from provisioner.model.models import ResellerSpec, TenantSpec  # noqa: E402
from provisioner.model.repository import Repository, load_repository  # noqa: E402

Declared = list[dict[str, Any]]


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


def generate(dest: Path, count: int) -> None:
    shutil.copytree(ROOT / "examples", dest)
    reseller = yaml.safe_load((dest / "reseller.yaml").read_text())
    reseller["max_accounts"] = None
    (dest / "reseller.yaml").write_text(yaml.safe_dump(reseller))
    for i in range(count):
        (dest / "tenants" / f"t{i}.yaml").write_text(
            yaml.safe_dump(synthetic_tenant(i), allow_unicode=True))




def recorded(root: Path, views: list[Repository]) -> list[tuple[str, Declared]]:
    """What each tenant declares (one untimed project run each): the floor replays it."""
    out = []
    for view in views:
        stack = view.tenants[0].spec.subdomain
        run = declare(stack, root, view)
        if run.error is not None:
            raise SystemExit(f"{stack}: {run.error}")
        out.append((stack, declared_of(run)))
    return out


def one_command(tenant: str, repeat: int) -> tuple[float, float]:
    root = ROOT / "examples"
    repo = load_repository(root)
    view = next(v for v in one_tenant_views(repo) if v.tenants[0].spec.subdomain == tenant)
    (stack, declared), = recorded(root, [view])
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"stack": stack, "declared": declared}, fh)
    project_cmd = [sys.executable, "-m", "provisioner", "--repo", str(root), "explain", tenant]
    floor_cmd = [sys.executable, str(ROOT / "bench" / "explain_floor.py"), fh.name]
    project, floor = paired([
        lambda: subprocess.run(project_cmd, check=True, capture_output=True, cwd=ROOT),
        lambda: subprocess.run(floor_cmd, check=True, capture_output=True, cwd=ROOT)], repeat)
    Path(fh.name).unlink()
    return project, floor


def per_tenant(n: int, sample: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        generate(root, n)
        repo = load_repository(root)
        repo.raise_for_errors()
        views = list(one_tenant_views(repo))
        step = max(1, len(views) // sample)
        chosen = views[::step][:sample]
        plans = recorded(root, chosen)

        def project() -> None:
            for view in chosen:
                format_text(as_data(declare(view.tenants[0].spec.subdomain, root, view)))

        def floor() -> None:
            for stack, declared in plans:
                run_floor(stack, declared)

        p, f = paired([project, floor], repeat)
        k = len(chosen)
        print(f"{n:>6,} tenants, {k} explained: project {p / k * 1000:6.1f} ms/tenant  "
              f"floor {f / k * 1000:6.1f} ms/tenant  ratio {p / f:.2f}x")


def all_floor(root: Path, plans: dict[str, Declared]) -> None:
    with repository.collector_paused():
        ResellerSpec.model_validate(yaml_source.parse_mapping(
            yaml_source.read_source(root / "reseller.yaml")))  # type: ignore[arg-type]
        specs = [TenantSpec.model_validate(yaml_source.parse_mapping(
            yaml_source.read_source(p)))  # type: ignore[arg-type]
            for p in tenant_paths(root)]
    for spec in specs:
        run_floor(spec.subdomain, plans[spec.subdomain])


def all_command(root: Path) -> None:
    if not run_cli(["--repo", str(root), "explain", "--all", "--format", "json"]):
        raise SystemExit("explain --all printed nothing")


def explain_all(n: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        generate(root, n)
        repo = load_repository(root)
        plans = dict(recorded(root, list(one_tenant_views(repo))))
        p, f = paired([lambda: all_command(root), lambda: all_floor(root, plans)], repeat)
        print(f"{n:>6,} explain --all: project {p:6.2f} s  floor {f:6.2f} s  ratio {p / f:.2f}x "
              f"(target <= 1.3: {'met' if p / f <= 1.3 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--all-sizes", default="1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for tenant in ("pruebademo", "hotelsol"):
        p, f = one_command(tenant, max(args.repeat, 3))
        print(f"`provisioner explain {tenant}`: project {p:.2f} s  floor {f:.2f} s  "
              f"ratio {p / f:.2f}x (start-up included)")
    for n in (int(s) for s in args.sizes.split(",") if s):
        per_tenant(n, args.sample, args.repeat)
    for n in (int(s) for s in args.all_sizes.split(",") if s):
        explain_all(n, args.repeat)


if __name__ == "__main__":
    main()
