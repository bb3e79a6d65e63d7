"""Rendering speed: both documents for N tenants in one process, templates compiled once.

Target (issue "Render each tenant's app configuration"): at least 2,000 tenants per second,
bcrypt excluded (its cost is deliberate; one hash is timed separately). The baseline, run in
the same process, re-creates the Jinja environment for every tenant, as a naive renderer would.

    .venv/bin/python bench/render_bench.py [N]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioner.render.documents import masked_secrets, render_tenant  # noqa: E402
from provisioner.render.passwords import php_bcrypt  # noqa: E402
from provisioner.render.renderer import Renderer  # noqa: E402
from provisioner.spec.loader import load_repository  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    repo = load_repository(ROOT / "examples")
    repo.raise_for_errors()
    assert repo.reseller is not None and repo.catalog is not None
    bases = [t.spec for t in repo.tenants]
    specs = [bases[i % len(bases)].model_copy(update={"subdomain": f"t{i:06d}"})
             for i in range(n)]
    secrets = [masked_secrets(s) for s in specs]

    renderer = Renderer()
    start = time.perf_counter()
    total = 0
    for spec, sec in zip(specs, secrets, strict=True):
        docs = render_tenant(renderer, spec, repo.reseller, repo.catalog, sec)
        total += sum(len(d) for d in docs.values())
    compiled_once = time.perf_counter() - start

    sample = specs[: max(1, n // 20)]
    start = time.perf_counter()
    for spec in sample:
        render_tenant(Renderer(), spec, repo.reseller, repo.catalog, masked_secrets(spec))
    naive = (time.perf_counter() - start) * (n / len(sample))

    start = time.perf_counter()
    php_bcrypt("correct horse battery staple", repo.reseller.bcrypt_cost)
    one_hash = time.perf_counter() - start

    rate = n / compiled_once
    print(f"tenants rendered:            {n:,} ({total / 1e6:.1f} MB of documents)")
    print(f"templates compiled once:     {compiled_once:.2f} s = {rate:,.0f} tenants/s "
          f"(target >= 2,000: {'met' if rate >= 2000 else 'NOT met'})")
    print(f"baseline, compiled per tenant (extrapolated from {len(sample):,}): {naive:.2f} s "
          f"= {n / naive:,.0f} tenants/s; speed-up {naive / compiled_once:.1f}x")
    print(f"one bcrypt hash at cost {repo.reseller.bcrypt_cost}: {one_hash * 1000:.0f} ms "
          "(excluded above; Pulumi makes it once per tenant and keeps it in state)")


if __name__ == "__main__":
    main()
