"""One tenant without validating the others: the one-tenant commands' load.

`render`, `explain`, `check-sol`, `verify` and the Pulumi program need one tenant, but the
rules between accounts (unique subdomain, RUC and company name; `max_accounts`) involve every
tenant file. `load_one` validates the reseller file and the tenant's own file in full, and
checks those rules against an index of the other files' keys (`crossfile.Keys`): at 50,000
tenants, validating them all cost 7 s per command.

The index is cached on disk, one file per tenants directory, under the user's cache directory
(`$PROVISIONER_CACHE_DIR`, else `$XDG_CACHE_HOME/provisioner`, else `~/.cache/provisioner`;
`PROVISIONER_CACHE_DIR=off` turns it off). It is only ever a shortcut: every run lists the
directory and stats every file (for a large one, in a helper process started while the
command imports: model/listing.py), and a file whose (mtime, size, inode, ctime) is not the
cached one is read again, so an edit can never hide a duplicate. Files changed within
`RACY_WINDOW_NS` of the scan are read again next time too (a second write within the file
system's timestamp granularity leaves the same stat). A missing, corrupt, foreign or
concurrently replaced cache file means a full scan; it is written to a temporary file and
renamed over the old one, so readers see a whole file or the previous one.
"""

from __future__ import annotations

import marshal
import os
import tempfile
import time
from array import array
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Final

import provisioner
from provisioner.collector import collector_paused
from provisioner.errors import Finding
from provisioner.model import crossfile
from provisioner.model.display import display_path
from provisioner.model.layout import TENANTS_DIRNAME, YAML_SUFFIXES, index_cache_path
from provisioner.model.listing import (
    STAT_FIELDS,
    UNKNOWN,
    Listing,
    list_tenant_files,
    take_prefetched,
    tenants_dir_of,
)
from provisioner.model.repository import (
    Repository,
    load_tenant_files,
    start_repository,
    tenant_keys,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

INDEX_FORMAT: Final = 2  # 2: company names keyed accent-insensitively
RACY_WINDOW_NS: Final = 3_000_000_000

_SEP: Final = "\0"  # never in a file name, subdomain, RUC or printable company name


def _rules_stamp() -> str:
    """The code that decides a file's keys: another version (or an edited checkout) of it
    must not trust keys this one wrote."""
    from provisioner.model import models, repository, rules, yaml_parse, yaml_source

    parts = [provisioner.__version__, str(INDEX_FORMAT)]
    for where in (yaml_parse.__file__, yaml_source.__file__, repository.__file__,
                  models.__file__, rules.__file__, crossfile.__file__,
                  __file__):
        try:
            st = os.stat(where or "")
            parts.append(f"{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            parts.append("?")
    return "/".join(parts)


def _column(values: Sequence[str | None]) -> str:
    if None in values:
        return _SEP.join(v or "" for v in values)
    return _SEP.join(values)  # type: ignore[arg-type]  # the common case, joined in C


def _uncolumn(text: str, size: int) -> list[str | None]:
    return [v or None for v in text.split(_SEP)] if size else []


def _find_all(column: str, value: str) -> list[int]:
    """The positions of `value` in a joined column, found by str.find (C), not a Python loop
    over 50,000 entries."""
    out: list[int] = []
    haystack, needle = _SEP + column + _SEP, _SEP + value + _SEP
    at = haystack.find(needle)
    while at >= 0:
        out.append(haystack.count(_SEP, 0, at))
        at = haystack.find(needle, at + 1)
    return out


@dataclass
class TenantIndex:
    """The keys of every tenant file below one directory, by path relative to it: names and
    each key as one joined string (a cache of 50,000 files loads in 2 ms, not 70)."""

    names: list[str]
    subdomains: str
    rucs: str
    companies: str
    reread: int = 0  # files read in this scan (0: the cache held every file)

    def sharing(self, keys: list[crossfile.Keys], exclude: set[str]
                ) -> list[tuple[str, crossfile.Keys]]:
        """The files, but `exclude`, that share a subdomain, RUC or company name with one of
        `keys`."""
        found: set[int] = set()
        for column, values in ((self.subdomains, {k.subdomain for k in keys}),
                               (self.rucs, {k.ruc for k in keys}),
                               (self.companies, {k.company_name for k in keys})):
            for value in values - {None}:
                found.update(i for i in _find_all(column, value)  # type: ignore[arg-type]
                             if self.names[i] not in exclude)
        if not found:  # the common case: no split of 50,000-entry columns
            return []
        columns = [_uncolumn(c, len(self.names))
                   for c in (self.subdomains, self.rucs, self.companies)]
        return [(self.names[i], crossfile.Keys(*(c[i] for c in columns)))
                for i in sorted(found)]


def _pack(stats: Sequence[int]) -> bytes:
    if isinstance(stats, array) and stats.typecode == "q":  # the helper's (model/listing.py)
        return stats.tobytes()
    try:
        return array("q", stats).tobytes()
    except OverflowError:  # an inode number above 2**63
        return array("Q", [v & 0xFFFF_FFFF_FFFF_FFFF for v in stats]).tobytes()


def _read_cache(path: Path | None, tenants_dir: Path, stamp: str
                ) -> tuple[str, bytes, str, str, str] | None:
    """(names, stats, subdomains, rucs, companies) as cached, or None when absent,
    unreadable, corrupt or another's. marshal: the cache directory is the user's own (mode
    700), as trusted as their home directory."""
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            head, *body = marshal.loads(fh.read())
        if head != (INDEX_FORMAT, stamp, os.path.abspath(tenants_dir)) or len(body) != 5:
            return None
        names, stats, subs, rucs, companies = body
        if not (isinstance(names, str) and isinstance(stats, bytes) and isinstance(subs, str)
                and isinstance(rucs, str) and isinstance(companies, str)):
            return None
        return names, stats, subs, rucs, companies
    except Exception:  # absent, truncated, corrupt, foreign: rebuild
        return None


def _write_cache(path: Path | None, tenants_dir: Path, stamp: str, index: TenantIndex,
                 stats: list[int], racy_after: int) -> None:
    """Whole or not at all (a temporary file renamed over the old one); a cache that cannot
    be written only costs the next run a full scan. Files changed since `racy_after` are
    stored as unknown: a second write in the same timestamp tick would leave their stat."""
    if path is None:
        return
    stored = list(stats)
    if stored and max(max(stored[0::STAT_FIELDS]), max(stored[1::STAT_FIELDS])) >= racy_after:
        for i in range(0, len(stored), STAT_FIELDS):  # only when some file is that recent
            if stored[i] >= racy_after or stored[i + 1] >= racy_after:
                stored[i:i + STAT_FIELDS] = [UNKNOWN] * STAT_FIELDS
    blob = marshal.dumps(((INDEX_FORMAT, stamp, os.path.abspath(tenants_dir)),
                          _SEP.join(index.names), _pack(stored), index.subdomains,
                          index.rucs, index.companies))
    if _holds(path, blob):  # the common case after a first `validate`: nothing changed
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def _holds(path: Path, blob: bytes) -> bool:
    """Whether the cache file already holds exactly `blob`. Reading it back costs less than
    writing a temporary file and renaming it over the old one: at 1k and 10k tenants, 1.9 vs
    3.2 ms and 38 vs 54 ms for the whole `save_loaded` (medians of 60)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(blob) + 1) == blob
    except OSError:
        return False


def scan(tenants_dir: Path, listing: Listing | None = None,
         started: int | None = None) -> TenantIndex:
    """The index of `tenants_dir`: every file read again unless the cache holds it with the
    same stat. `listing`: list_tenant_files's, taken at `started` (ns), if already made."""
    if listing is None or started is None:
        started = time.time_ns()
        listing = list_tenant_files(tenants_dir)
    names, stats = listing
    stamp = _rules_stamp()
    cache_file = index_cache_path(tenants_dir)
    cached = _read_cache(cache_file, tenants_dir, stamp)
    if cached is not None:  # the common case, nothing changed, compared in C
        packed = _pack(stats)
        # UNKNOWN (-1) packs as eight 0xff bytes; any other run of them holds the high byte
        # of some negative field, so a match only ever sends this to the exact path below
        if cached[1] == packed and b"\xff" * 8 not in packed and cached[0] == _SEP.join(names):
            return TenantIndex(names, *cached[2:])
    old: dict[str, tuple[bytes, str | None, str | None, str | None]] = {}
    if cached is not None:
        old_names = cached[0].split(_SEP) if cached[0] else []
        width = 8 * STAT_FIELDS
        columns = [_uncolumn(c, len(old_names)) for c in cached[2:]]
        if all(len(c) == len(old_names) for c in columns) and len(cached[1]) == width * len(
                old_names):
            old = {n: (cached[1][i * width:(i + 1) * width], *(c[i] for c in columns))
                   for i, n in enumerate(old_names)}
    subs: list[str | None] = []
    rucs: list[str | None] = []
    companies: list[str | None] = []
    reread = 0
    for i, rel in enumerate(names):
        mine = stats[i * STAT_FIELDS:(i + 1) * STAT_FIELDS]
        hit = old.get(rel)
        if hit is not None and UNKNOWN not in mine and hit[0] == _pack(mine):
            keys: tuple[str | None, ...] = hit[1:]
        else:
            reread += 1
            found = tenant_keys(tenants_dir / rel)
            keys = (found or crossfile.NO_KEYS).as_tuple()
            if any(k is not None and _SEP in k for k in keys):  # cannot be: not cached
                cache_file = None
        subs.append(keys[0])
        rucs.append(keys[1])
        companies.append(keys[2])
    index = TenantIndex(names, _column(subs), _column(rucs), _column(companies), reread)
    _write_cache(cache_file, tenants_dir, stamp, index, stats, started - RACY_WINDOW_NS)
    return index


def save_loaded(tenants_dir: Path, members: list[crossfile.Member], started: int) -> None:
    """The index as `load_repository` found it (each file's stat taken before it was read),
    so that the one-tenant commands after a `validate` start warm. Files without keys (not
    YAML, not a mapping) are left out: the next scan reads them. Column-wise, in C where it
    can be: this runs in every `validate`."""
    base = str(tenants_dir) + os.sep
    cut = len(base)
    kept = [m for m in members if (s := m.source) is not None
            and s.stat is not None and s.file.startswith(base)]
    sources = [m.source for m in kept]
    names = [s.file[cut:] for s in sources]  # type: ignore[union-attr]
    stats = list(chain.from_iterable([s.stat for s in sources]))  # type: ignore[union-attr,misc]
    columns = [_column(c) for c in zip(*[m.keys for m in kept], strict=True)] or ["", "", ""]
    if any(c.count(_SEP) != max(len(kept) - 1, 0) for c in columns):
        return  # a value holding the separator: not cached (cannot be, as in `scan`)
    index = TenantIndex(names, *columns)
    _write_cache(index_cache_path(tenants_dir), tenants_dir, _rules_stamp(), index, stats,
                 started - RACY_WINDOW_NS)


def _named(names: list[str], basenames: tuple[str, ...]) -> list[str]:
    """The entries of `names` whose last part is one of `basenames`, found with str.find on
    the joined list (C) rather than a Python loop over 50,000 names."""
    joined = _SEP + _SEP.join(names) + _SEP
    out: list[str] = []
    for base in basenames:
        for before in (_SEP, os.sep):
            needle = before + base + _SEP
            at = joined.find(needle)
            while at >= 0:
                out.append(names[joined.count(_SEP, 0, at + len(before)) - 1])
                at = joined.find(needle, at + 1)
    return out


def _is_path(name: str) -> bool:
    return name.endswith(YAML_SUFFIXES) or os.sep in name or (
        os.altsep is not None and os.altsep in name)


def load_one(root: Path | None, name: str) -> Repository:
    """The repository as the one tenant `name` (a subdomain or a tenant file) sees it: the
    reseller file's findings, the tenant file's own, the rules between accounts that concern
    it, and the `max_accounts` cap; the same findings `load_repository` reports for these
    files, without the other tenants' own problems (tests/test_index.py compares them)."""
    with collector_paused():
        return _load_one(root, name)


def _load_one(root: Path | None, name: str) -> Repository:
    tenants_dir = tenants_dir_of(root)
    root = tenants_dir.parent
    repo, reseller_source = start_repository(root)
    prefetched = take_prefetched(tenants_dir)  # every stat taken before a tenant file is read
    listing: Listing = ([], [])
    started = time.time_ns()
    if tenants_dir.exists() and not tenants_dir.is_dir():
        repo.findings.append(Finding(display_path(tenants_dir), 1, 1, "", (
            f"{TENANTS_DIRNAME} must be a directory holding one <subdomain>.yaml per tenant")))
    elif prefetched is not None:
        listing, started = prefetched
    elif tenants_dir.is_dir():
        listing = list_tenant_files(tenants_dir)
        started = time.time_ns()
    names = listing[0]
    if _is_path(name):
        wanted = os.path.abspath(name)
        mine = [r for r in _named(names, (os.path.basename(wanted),))
                if os.path.abspath(tenants_dir / r) == wanted]
    else:
        mine = _named(names, tuple(name + suffix for suffix in YAML_SUFFIXES))
    mine.sort()  # as `validate` reads them: the first valid one is the tenant
    members = load_tenant_files(repo, (tenants_dir / rel for rel in mine))
    repo.members = list(members)
    repo.tenant_files = len(names)
    if members:  # the others that share a key with this tenant, named and counted
        index = scan(tenants_dir, listing, started)
        for rel, keys in index.sharing([m.keys for m in members], set(mine)):
            members.append(crossfile.Member(keys, None, display_path(tenants_dir / rel)))
    repo.findings += crossfile.check_repository(
        members, repo.reseller, repo.reseller_path, reseller_source=reseller_source,
        account_count=len(names))
    repo.findings.sort(key=lambda f: (f.file, f.line, f.column, f.field))
    return repo
