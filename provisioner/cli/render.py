"""`provisioner render`: the documents a tenant's stack publishes, secrets masked by default."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provisioner.cli import exit_codes


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = exit_codes.epilog("render")
    parser.add_argument("tenant", metavar="TENANT", nargs="?", help="subdomain or tenant file")
    parser.add_argument("--all", action="store_true",
                        help="every tenant, into --out DIR/<subdomain>/ (secrets masked)")
    parser.add_argument("--template", action="append", metavar="NAME",
                        choices=["tenant.env", "bootstrap.json"],
                        help="only this document (repeatable): tenant.env, bootstrap.json")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write the files into DIR")
    parser.add_argument("--reveal", action="store_true",
                        help="real secrets, read from the PROVISIONER_* environment variables")
    parser.add_argument("--force", action="store_true",
                        help="with --reveal, allow printing secrets to a terminal")


def run(args: argparse.Namespace) -> int:
    if not (args.all or args.tenant is None):
        from provisioner.model.listing import prefetch

        prefetch(args.repo)  # the other tenants' stats, on another core while we import
    from provisioner.cli.output import is_terminal
    from provisioner.errors import UsageError
    from provisioner.model.index import load_one
    from provisioner.render.documents import masked_secrets, render_tenant, revealed_secrets
    from provisioner.render.renderer import DOCUMENTS, renderer_for

    if args.all or args.tenant is None:
        from provisioner.render.batch import run_all

        return run_all(args)
    repo = load_one(args.repo, args.tenant)  # the tenant, the reseller file, the rules between
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
    """All files or none, and only the files named.

    Each document goes to a temporary file that `mkstemp` creates (O_EXCL, a random name, so
    never through a symlink someone planted), mode 600 for revealed secrets. Every target is
    checked before the first rename; if a rename still fails, the documents already renamed
    are put back as they were (the previous file, or none).
    """
    import os
    import stat
    import tempfile

    from provisioner.errors import ProvisionerError

    out.mkdir(parents=True, exist_ok=True)
    for name in docs:
        try:
            st = os.lstat(out / name)
        except FileNotFoundError:
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            raise ProvisionerError(f"{out / name}: exists and is not a file; nothing written")
    temps: list[tuple[Path, Path]] = []
    backups: dict[Path, Path | None] = {}  # final -> hard link to what it was (None: absent)
    done: list[Path] = []
    try:
        for name, text in docs.items():
            fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
            temps.append((Path(tmp_name), out / name))  # before writing: removed on failure
            os.fchmod(fd, 0o600 if private else 0o644 & ~_umask())
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        for _, final in temps:
            backups[final] = _backup(final, out)
        try:
            for tmp, final in temps:
                os.replace(tmp, final)  # a symlink at `final` is replaced, not followed
                done.append(final)
        except OSError:
            for final in reversed(done):
                backup = backups.get(final)
                if backup is None:
                    final.unlink(missing_ok=True)
                else:
                    os.replace(backup, final)
            raise
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        for backup in backups.values():
            if backup is not None:
                backup.unlink(missing_ok=True)


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def _backup(final: Path, out: Path) -> Path | None:
    """A second name for the file `final` holds now (a hard link: no copy, same inode)."""
    import os
    import tempfile

    if not os.path.lexists(final):
        return None
    name = tempfile.mktemp(prefix=f".{final.name}.", suffix=".bak", dir=out)
    os.link(final, name, follow_symlinks=False)  # fails rather than overwrite: name is new
    return Path(name)
