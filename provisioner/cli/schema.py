"""`provisioner schema`: JSON Schemas so editors check tenant and reseller files as you type."""

from __future__ import annotations

import argparse
from pathlib import Path

from provisioner.cli import exit_codes


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = exit_codes.epilog("schema")
    parser.add_argument("--out", type=Path, default=Path("schema"), metavar="DIR",
                        help="directory to write tenant.schema.json and reseller.schema.json "
                             "(default: ./schema)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the files on disk differ from the models")


def schemas() -> dict[str, dict[str, object]]:
    from provisioner.model.models import ResellerSpec, TenantSpec

    return {
        "tenant.schema.json": {"$schema": "https://json-schema.org/draft/2020-12/schema",
                               **TenantSpec.model_json_schema()},
        "reseller.schema.json": {"$schema": "https://json-schema.org/draft/2020-12/schema",
                                 **ResellerSpec.model_json_schema()},
    }


def run(args: argparse.Namespace) -> int:
    import json

    out: Path = args.out
    stale = []
    for name, schema in schemas().items():
        text = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        target = out / name
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(str(target))
            continue
        out.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
        print(f"wrote {target}")
    if stale:
        print("out of date (run `provisioner schema`): " + ", ".join(stale))
        return 1
    return 0
