"""Rendering speed against its floor: one precompiled `template.render(context)` per document.

Two figures per size, each as project / floor / ratio from paired runs (medians):

* render: both documents for every tenant of a loaded repository, as `render --all` does
  (`provisioner.render.batch.render_all`: masked secrets, the context, both templates). Floor:
  the Jinja templates compiled once and `template.render(context)` per document per tenant,
  with the contexts the project builds made beforehand, outside the timing. The ratio is
  what the project adds: building each context and its masked secrets.
* `render --all --out DIR` as the command runs it in one process (load and validate the
  repository, render, write all or nothing). Floor: read + parse + `model_validate` of each file
  (the validate bench's floor), the same contexts built, the precompiled templates rendered,
  and each file written with a plain `open().write()` into a fresh directory. Target (issue
  12): ratio <= 1.3.

bcrypt is excluded (its cost is deliberate; one hash is timed separately).

    .venv/bin/python bench/render_bench.py [--sizes 1000,10000,50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quiet_cli import run_cli  # noqa: E402
from timing import paired  # noqa: E402
from validate_bench import generate, tenant_paths  # noqa: E402

from provisioner.model import repository, yaml_source  # noqa: E402
from provisioner.model.catalog import build_catalog  # noqa: E402
from provisioner.model.models import ResellerSpec, TenantSpec  # noqa: E402
from provisioner.model.repository import Repository, load_repository  # noqa: E402
from provisioner.render.batch import render_all  # noqa: E402
from provisioner.render.context import build_context  # noqa: E402
from provisioner.render.documents import database_endpoint, masked_secrets  # noqa: E402
from provisioner.render.passwords import php_bcrypt  # noqa: E402
from provisioner.render.renderer import DOCUMENTS, renderer_for  # noqa: E402


def contexts_of(repo: Repository) -> list[dict[str, object]]:
    assert repo.reseller is not None and repo.catalog is not None
    out = []
    for loaded in repo.tenants:
        spec = loaded.spec
        host, port = database_endpoint(spec, repo.reseller, repo.catalog)
        out.append(build_context(spec, repo.reseller, repo.catalog, masked_secrets(spec),
                                 db_host=host, db_port=port))
    return out




def _parsed(path: Path | str) -> object:
    return yaml_source.parse_mapping(yaml_source.read_source(path))  # type: ignore[arg-type]


def batch_floor(root: Path, out: Path) -> int:
    """The least work for the same files: parse + validate, contexts, renders, plain writes."""
    with repository.collector_paused():
        reseller = ResellerSpec.model_validate(_parsed(root / "reseller.yaml"))
        catalog = build_catalog(reseller.plans, reseller.modules, reseller.presets)
        specs = [TenantSpec.model_validate(_parsed(p)) for p in tenant_paths(root)]
    renderer = renderer_for(reseller, root)
    templates = [(d, renderer.template(d)) for d in DOCUMENTS]
    out.mkdir()
    for spec in specs:
        host, port = database_endpoint(spec, reseller, catalog)
        context = build_context(spec, reseller, catalog, masked_secrets(spec),
                                db_host=host, db_port=port)
        (out / spec.subdomain).mkdir()
        for name, template in templates:
            with open(out / spec.subdomain / name, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(template.render(context))
    return len(specs)


def batch_command(root: Path, out: Path) -> None:
    run_cli(["--repo", str(root), "render", "--all", "--out", str(out)])


def one_size(n: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        generate(root, n)
        repo = load_repository(root)
        repo.raise_for_errors()
        assert repo.reseller is not None
        renderer = renderer_for(repo.reseller, repo.root)
        templates = [renderer.template(d) for d in DOCUMENTS]
        contexts = contexts_of(repo)

        def floor() -> None:
            for context in contexts:
                for template in templates:
                    template.render(context)

        project, fl = paired([lambda: render_all(repo), floor], repeat)
        print(f"{n:>6,} render:        project {project:6.2f} s  floor {fl:6.2f} s  "
              f"ratio {project / fl:.2f}x  ({n / project:,.0f} tenants/s)")
        # the files: the same bytes either way (checked once, outside the timing)
        runs = iter(range(10 * repeat))
        outs = Path(tmp) / "out"
        outs.mkdir()

        def fresh() -> Path:
            return outs / str(next(runs))

        project, fl = paired([lambda: batch_command(root, fresh()),
                              lambda: batch_floor(root, fresh())], repeat)
        a, b = outs / "0", outs / "1"
        sample = [repo.tenants[i].spec.subdomain for i in (0, n // 2, n - 1)]
        for sub in sample:
            for doc in DOCUMENTS:
                if (a / sub / doc).read_bytes() != (b / sub / doc).read_bytes():
                    raise SystemExit(f"floor and project differ for {sub}/{doc}")
        print(f"{n:>6,} render --all:  project {project:6.2f} s  floor {fl:6.2f} s  "
              f"ratio {project / fl:.2f}x  (target <= 1.3: "
              f"{'met' if project / fl <= 1.3 else 'NOT met'})")
        shutil.rmtree(outs, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in (int(s) for s in args.sizes.split(",")):
        one_size(n, args.repeat)
    start = time.perf_counter()
    php_bcrypt("correct horse battery staple", 10)
    print(f"one bcrypt hash at cost 10: {(time.perf_counter() - start) * 1000:.0f} ms "
          "(excluded above; Pulumi makes it once per tenant and keeps it in state)")


if __name__ == "__main__":
    main()
