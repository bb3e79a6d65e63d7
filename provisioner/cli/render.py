"""`provisioner render`: the documents a tenant's stack publishes, secrets masked by default."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tenant", metavar="TENANT", help="subdomain or tenant file")
    parser.add_argument("--template", action="append", metavar="NAME",
                        choices=["tenant.env", "bootstrap.json"],
                        help="only this document (repeatable): tenant.env, bootstrap.json")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write the files into DIR")
    parser.add_argument("--reveal", action="store_true",
                        help="real secrets, read from the PROVISIONER_* environment variables")
    parser.add_argument("--force", action="store_true",
                        help="with --reveal, allow printing secrets to a terminal")


def run(args: argparse.Namespace) -> int:
    from provisioner.cli.output import is_terminal
    from provisioner.errors import UsageError
    from provisioner.render.documents import masked_secrets, render_tenant, revealed_secrets
    from provisioner.render.renderer import DOCUMENTS, renderer_for
    from provisioner.spec.loader import load_repository

    repo = load_repository(args.repo)
    repo.raise_for_errors()
    assert repo.reseller is not None and repo.catalog is not None
    tenant = repo.tenant(args.tenant).spec
    if args.reveal and args.out is None and is_terminal() and not args.force:
        raise UsageError("refusing to print revealed secrets to a terminal; "
                         "use --out DIR, a pipe, or --force")
    if args.reveal:
        secrets, generated = revealed_secrets(tenant, repo.reseller)
        for env in generated:
            print(f"note: {env} not set; a new value was generated", file=sys.stderr)
    else:
        secrets = masked_secrets(tenant)
    renderer = renderer_for(repo.reseller, repo.root)
    docs = render_tenant(renderer, tenant, repo.reseller, repo.catalog, secrets,
                         tuple(args.template) if args.template else None)
    if args.out is None:
        for name in (d for d in DOCUMENTS if d in docs):
            if len(docs) > 1:
                print(f"# ---- {name} ----")
            sys.stdout.write(docs[name])
        return 0
    _write_all(args.out, docs, private=args.reveal)
    for name in docs:
        print(f"wrote {args.out / name}")
    return 0


def _write_all(out: Path, docs: dict[str, str], private: bool) -> None:
    """All files or none: each goes to a temporary file first, then they are renamed."""
    import os

    out.mkdir(parents=True, exist_ok=True)
    temps = []
    try:
        for name, text in docs.items():
            tmp = out / f".{name}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
            temps.append((tmp, out / name))  # before writing: a failed write is removed too
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        for tmp, final in temps:
            tmp.replace(final)
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
