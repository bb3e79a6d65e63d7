"""`render --all --out DIR`: every tenant's documents in one process, all or nothing.

The repository is loaded and validated once; an invalid one stops before anything is rendered.
Every tenant is rendered in memory first (a template error stops the run with nothing written),
then the files are written into a private staging directory inside DIR and moved into place;
if a move fails, the ones already moved are put back, so DIR holds either the old files or
the new ones, never a mix.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from provisioner.collector import kept_out_of_reach
from provisioner.errors import ProvisionerError
from provisioner.model.repository import Repository
from provisioner.render.documents import masked_secrets, render_tenant
from provisioner.render.renderer import Renderer, renderer_for

Advance = Callable[[], None]


def render_all(repo: Repository, documents: tuple[str, ...] | None = None,
               advance: Advance | None = None) -> dict[str, dict[str, str]]:
    """subdomain -> document -> text, secrets masked; `advance` is called once per tenant."""
    repo.raise_for_errors()
    assert repo.reseller is not None and repo.catalog is not None
    renderer: Renderer = renderer_for(repo.reseller, repo.root)
    reseller, catalog = repo.reseller, repo.catalog
    out: dict[str, dict[str, str]] = {}
    with kept_out_of_reach():
        for loaded in repo.tenants:
            spec = loaded.spec
            out[spec.subdomain] = render_tenant(renderer, spec, reseller, catalog,
                                                masked_secrets(spec), documents)
            if advance is not None:
                advance()
    return out


def write_all(out: Path, rendered: dict[str, dict[str, str]]) -> list[Path]:
    """Write DIR/<subdomain>/<document> for every tenant, all or nothing; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    _check_targets(out, rendered)
    mode = 0o644 & ~_umask()
    staging = Path(tempfile.mkdtemp(prefix=".render-all.", suffix=".tmp", dir=out))
    moved: list[tuple[Path, Path | None]] = []  # (final, backup or None when it was absent)
    new_dirs: list[Path] = []
    try:
        for subdomain, docs in rendered.items():
            (staging / subdomain).mkdir()
            for name, text in docs.items():
                _write_new(staging / subdomain / name, text, mode)
        # one flush of everything before the first rename, instead of an fsync per file: a
        # crash leaves either the old files or complete new ones
        _sync_filesystem(staging)
        backups = staging / ".backup"
        backups.mkdir()
        try:
            for subdomain, docs in rendered.items():
                final_dir = out / subdomain
                if not os.path.lexists(final_dir):
                    os.rename(staging / subdomain, final_dir)  # the whole new directory at once
                    new_dirs.append(final_dir)
                    continue
                for name in docs:
                    final = final_dir / name
                    backup: Path | None = None
                    if os.path.lexists(final):
                        backup = backups / f"{subdomain}.{name}"
                        os.link(final, backup, follow_symlinks=False)
                    os.replace(staging / subdomain / name, final)  # a symlink is replaced
                    moved.append((final, backup))
        except OSError:
            for final, backup in reversed(moved):
                if backup is None:
                    final.unlink(missing_ok=True)
                else:
                    os.replace(backup, final)
            for d in new_dirs:
                shutil.rmtree(d, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / s / n for s, docs in rendered.items() for n in docs]


def _check_targets(out: Path, rendered: dict[str, dict[str, str]]) -> None:
    """Refuse before writing anything when a target is not what we would replace."""
    for subdomain, docs in rendered.items():
        target = out / subdomain
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise ProvisionerError(f"{target}: exists and is not a directory; nothing written")
        for name in docs:
            _check_file(target / name)


def _check_file(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        raise ProvisionerError(f"{path}: exists and is not a file; nothing written")


def _write_new(path: Path, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def _sync_filesystem(path: Path) -> None:
    """syncfs(2): flush the one filesystem holding `path` (os.sync() flushes every filesystem
    of the machine, several times slower on a busy host); os.sync() where syncfs is absent."""
    import ctypes

    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def run_all(args: argparse.Namespace) -> int:
    """The CLI's `render --all --out DIR` (usage checked here: cli/render.py only routes)."""
    from provisioner.errors import UsageError
    from provisioner.model.repository import load_repository
    from provisioner.progress import counting_bar

    if not args.all:
        raise UsageError("name a TENANT, or use --all --out DIR")
    if args.tenant is not None:
        raise UsageError("--all renders every tenant: name no TENANT with it")
    if args.out is None:
        raise UsageError("--all needs --out DIR (one directory per tenant)")
    if args.reveal:
        raise UsageError("--all renders secrets masked; --reveal reads one tenant's secrets "
                         "from the environment, so use it with one TENANT")
    repo = load_repository(args.repo)
    repo.raise_for_errors()
    # out of reach for the writes too (render_all's own freeze ends with the renders)
    with kept_out_of_reach(), counting_bar("render", len(repo.tenants)) as advance:
        rendered = render_all(repo, tuple(args.template) if args.template else None, advance)
        written = write_all(args.out, rendered)
    print(f"wrote {len(written)} file(s) for {len(rendered)} tenant(s) into {args.out}")
    return 0
