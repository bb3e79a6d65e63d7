"""The tenants directory as the one-tenant commands see it: each tenant file's name and stat.

The index (model/index.py) trusts a cached key only for a file whose stat is unchanged, so a
one-tenant command stats every tenant file: at 50,000 files that is ~0.2 s of system time,
more than the rest of the index's work. `prefetch` takes that listing in a helper process,
started as the command begins and running on another core while the command is still
importing its modules (~0.4 s); `load_one` then takes the result (`take_prefetched`). It is
git's answer to the same "lstat storm" (git/git preload-index.c, core.preloadIndex: the index
entries are lstat-ed by parallel threads); threads do not help here, since each of the
50,000 calls needs the GIL back between two system calls while the importing thread holds it.

The helper runs this module with the interpreter of the command (`sys.executable -I -S`:
no site, no environment, the standard library first) and returns exactly what
`list_tenant_files` returns here; any failure of it means listing here, as without it.
"""

from __future__ import annotations

import marshal
import os
import sys
import time
from array import array
from stat import S_ISDIR

from provisioner.model.layout import (
    RESELLER_FILENAMES,
    TENANTS_DIRNAME,
    YAML_SUFFIXES,
    index_cache_path,
    repository_root,
)

# The helper imports this module first thing: no typing, dataclasses or subprocess imports at
# run time (~40 ms of its start); annotations are never evaluated here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Final

STAT_FIELDS: Final = 4  # mtime_ns, ctime_ns, size, inode
UNKNOWN: Final = -1  # a stat that failed: never equal to a real file's, read again
# A cached index this large (~100 bytes a tenant: ~1,000 tenants) makes the helper worth its
# start; below it, listing here costs a few milliseconds and the helper's start about as much.
PREFETCH_MIN_INDEX_BYTES: Final = 100_000

Listing = tuple[list[str], "Sequence[int]"]  # names, and STAT_FIELDS stats a name, flat


def list_tenant_files(tenants_dir: Path | str) -> tuple[list[str], list[int]]:
    """Every tenant file below `tenants_dir`, relative to it, as `validate` finds them (what
    os.walk calls files, by the same name rule; symlinked directories not followed), in the
    directory's own order (stable while it is unchanged; sorting 50,000 names costs more);
    and each one's stat, flat (`STAT_FIELDS` a file; UNKNOWN where it fails).

    os.listdir and one stat per file, which the index needs anyway, rather than os.scandir's
    Python loop: a directory named like a tenant file shows as one in its stat; other names
    (README, subdirectories) take an lstat each."""
    names: list[str] = []
    stats: list[int] = []
    unknown = [UNKNOWN] * STAT_FIELDS
    try:
        fd = os.open(tenants_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return names, stats
    stat, lstat, is_dir = os.stat, os.lstat, S_ISDIR
    try:
        pending = [""]
        while pending:
            prefix = pending.pop()
            try:
                entries = os.listdir(os.path.join(tenants_dir, prefix) if prefix else tenants_dir)
            except OSError:
                continue
            for name in entries:
                rel = prefix + name
                if name.endswith(YAML_SUFFIXES) and name not in RESELLER_FILENAMES:  # as validate
                    try:
                        st = stat(rel, dir_fd=fd)
                    except OSError:  # a broken link or no permission: a file to os.walk
                        names.append(rel)
                        stats += unknown
                        continue
                    if not is_dir(st.st_mode):
                        names.append(rel)
                        stats += (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
                        continue
                try:  # a directory (not a link to one) is walked into
                    if is_dir(lstat(rel, dir_fd=fd).st_mode):
                        pending.append(rel + os.sep)
                except OSError:
                    pass
    finally:
        os.close(fd)
    return names, stats


# per tenants directory: time.time_ns() before its helper started (every stat is taken after
# it), and the helper
_prefetched: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}


HELPER_ENV: Final = "PROVISIONER_LISTING_HELPER"  # "off": always list in this process
CGROUP_CPU_MAX: Final = "/sys/fs/cgroup/cpu.max"  # cgroup v2: "<quota> <period>" or "max ..."


def _cores() -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a
    container limited to one CPU may still see every core of its host)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        with open(CGROUP_CPU_MAX, encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            cores = min(cores, int(quota) // int(period))
    except (OSError, ValueError):
        pass
    return cores


def worth_prefetching(tenants_dir: Path) -> bool:
    """Another core to run on, and a cached index showing a large directory (no cache: the
    first command reads every file anyway, which costs far more than its stats)."""
    if not sys.executable or os.environ.get(HELPER_ENV, "").lower() == "off" or _cores() < 2:
        return False
    cache_file = index_cache_path(tenants_dir)
    try:
        return cache_file is not None and os.stat(cache_file).st_size >= PREFETCH_MIN_INDEX_BYTES
    except OSError:
        return False


def tenants_dir_of(root: Path | None) -> Path:
    """The tenants directory of the repository `root` (None: found from the working
    directory up), named as `load_one` names it."""
    return repository_root(root) / TENANTS_DIRNAME


def prefetch(root: Path | None) -> None:
    """Start listing the tenants directory of the repository `root` (None: found from the
    working directory up) in a helper process, when `worth_prefetching`; a no-op otherwise,
    and never an error. For a command that will call `load_one(root, ...)`."""
    try:
        tenants_dir = tenants_dir_of(root)
    except OSError:
        return
    key = os.fspath(tenants_dir)
    if key in _prefetched or not worth_prefetching(tenants_dir):
        return
    import subprocess

    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    code = ("import sys; sys.path.append(sys.argv[1]); "
            "from provisioner.model.listing import _serve; _serve(sys.argv[2])")
    started = time.time_ns()
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", code, package_parent, key],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return
    _prefetched[key] = (started, process)


def take_prefetched(tenants_dir: Path) -> tuple[Listing, int] | None:
    """The helper's listing of `tenants_dir` and the time it started, once; None when none
    was started or it failed (then the caller lists here). Helpers started for another
    directory are stopped: their listing would never be used."""
    mine = _prefetched.pop(os.fspath(tenants_dir), None)
    for other in list(_prefetched):
        _discard(_prefetched.pop(other)[1])
    if mine is None:
        return None
    started, process = mine
    try:
        out, _ = process.communicate()
        if process.returncode != 0:
            return None
        encoding, errors, joined, packed = marshal.loads(out)
        if (encoding, errors) != (sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()):
            return None  # names decoded otherwise than this process would decode them
        stats = array("q")
        stats.frombytes(packed)
        names = joined.split("\0") if joined else []
        if len(stats) != STAT_FIELDS * len(names):
            return None
        return (names, stats), started
    except Exception:  # a helper killed, cut short or garbled: list here
        return None


def _discard(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.communicate()


def _serve(tenants_dir: str) -> None:
    """The helper's side: the listing on stdout, marshalled; names joined by NUL (never in a
    file name), stats as native 64-bit integers."""
    names, stats = list_tenant_files(tenants_dir)
    try:
        packed = array("q", stats).tobytes()
    except OverflowError:  # an inode number above 2**63: the caller lists it itself
        sys.exit(3)
    sys.stdout.buffer.write(marshal.dumps((sys.getfilesystemencoding(),
                                           sys.getfilesystemencodeerrors(),
                                           "\0".join(names), packed)))
