"""The tenants directory listed by a helper process while a one-tenant command imports
(model/listing.py): the same names and stats as listing here, what `load_one` then uses, and
never a wrong answer when the helper is not started, fails or lists another directory."""

from __future__ import annotations

import io
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.pe import ruc as stdnum_ruc

from provisioner.infra import head_start
from provisioner.model import display, index, layout, listing, repository
from provisioner.model.index import load_one
from provisioner.model.repository import load_repository

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BASE = yaml.safe_load((EXAMPLES / "tenants" / "pruebademo.yaml").read_text(encoding="utf-8"))
OLD = 1_600_000_000  # a file time far outside the index's racy window


def ruc_for(i: int) -> str:
    body = f"20{i:08d}"
    return body + stdnum_ruc.calc_check_digit(body)


def tenant_text(i: int, company: str | None = None) -> str:
    doc = dict(BASE, subdomain=f"t{i}", ruc=ruc_for(i), company_name=company or f"Empresa {i}")
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def write_repo(root: Path, count: int) -> None:
    (root / "tenants").mkdir(parents=True)
    (root / "reseller.yaml").write_text((EXAMPLES / "reseller.yaml").read_text(
        encoding="utf-8"), encoding="utf-8")
    for i in range(count):
        path = root / "tenants" / f"t{i}.yaml"
        path.write_text(tenant_text(i), encoding="utf-8")
        os.utime(path, (OLD, OLD))


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The helper started for any repository with a cached index, on any machine."""
    monkeypatch.setenv(layout.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(listing, "PREFETCH_MIN_INDEX_BYTES", 0)
    monkeypatch.setattr(listing, "_cores", lambda: 2)
    yield tmp_path / "cache"
    for _, process in listing._prefetched.values():
        process.kill()
        process.wait()
    listing._prefetched.clear()


# names a tenants directory may hold: tenant files, others validate skips, at two levels
ENTRY_NAMES = ["a.yaml", "b.yml", "ñandú.yaml", "README.md", "reseller.yaml", "x.YAML",
               "dir.yaml/", "sub/", "link.yaml->a.yaml", "broken.yaml->nowhere",
               "dirlink.yaml->sub", "\udcff.yaml"]


def make_entry(folder: Path, entry: str) -> None:
    if entry.endswith("/"):
        (folder / entry[:-1]).mkdir(exist_ok=True)
    elif "->" in entry:
        name, target = entry.split("->")
        os.symlink(target, folder / name)
    else:
        (folder / entry).write_text(tenant_text(len(entry)), encoding="utf-8")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(top=st.lists(st.sampled_from(ENTRY_NAMES), unique=True),
       nested=st.lists(st.sampled_from(ENTRY_NAMES), unique=True))
def test_the_helper_lists_what_listing_here_lists(eager: Path, tmp_path: Path,
                                                   top: list[str], nested: list[str]) -> None:
    root = Path(os.path.join(tmp_path, f"repo{len(os.listdir(tmp_path))}"))
    tenants = root / "tenants"
    tenants.mkdir(parents=True)
    for entry in top:
        make_entry(tenants, entry)
    if "sub/" in top:
        for entry in nested:
            make_entry(tenants / "sub", entry)
    cache_file = layout.index_cache_path(tenants)
    assert cache_file is not None
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_bytes(b"")  # an index exists: the helper is worth starting
    before = time.time_ns()
    listing.prefetch(root)
    taken = listing.take_prefetched(tenants)
    assert taken is not None, "the helper failed"
    (names, stats), started = taken
    assert (names, list(stats)) == listing.list_tenant_files(tenants)
    assert before <= started <= time.time_ns()  # a time before any of the helper's stats


def _walked(tenants: Path) -> tuple[list[str], list[str]]:
    """What validate listed before it walked with scandir: os.walk's files (symlinked
    directories not followed), tenant names kept, wrong-case ones reported."""
    files, wrong = [], []
    for d, _, names in os.walk(tenants):
        for f in names:
            if f.endswith((".yaml", ".yml")) and f not in ("reseller.yaml", "reseller.yml"):
                files.append(os.path.join(d, f))
            elif repository._wrong_case(f):
                wrong.append(os.path.join(d, f))
    return sorted(files), sorted(wrong)


@settings(max_examples=40, deadline=None)
@given(top=st.lists(st.sampled_from([*ENTRY_NAMES, "deep/"]), unique=True),
       nested=st.lists(st.sampled_from(ENTRY_NAMES), unique=True))
def test_validate_lists_what_os_walk_and_the_index_list(tmp_path_factory: pytest.TempPathFactory,
                                                        top: list[str], nested: list[str]
                                                        ) -> None:
    """validate's own walk (scandir) finds exactly os.walk's files, at any depth, and the
    same files as the one-tenant commands' listing: a file one of them skipped would escape
    the rules between accounts, or count twice."""
    tenants = tmp_path_factory.mktemp("repo") / "tenants"
    tenants.mkdir()
    for entry in top:
        make_entry(tenants, entry)
    for folder in ("sub", "deep"):
        if f"{folder}/" in top:
            for entry in nested:
                make_entry(tenants / folder, entry)
    if "deep/" in top and "sub/" in nested:
        make_entry(tenants / "deep" / "sub", "a.yaml")
    files, problems = repository._tenant_files([tenants], default=True)
    expected, wrong = _walked(tenants)
    assert files == expected
    assert sorted(f.file for f in problems) == [display.display_path(w) for w in wrong]
    names, _ = listing.list_tenant_files(tenants)
    assert sorted(os.path.join(tenants, n) for n in names) == expected


def test_load_one_with_the_helper_sees_another_file_edited_in_place(eager: Path,
                                                                    tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_repo(root, 30)
    assert load_one(root, "t1").errors == []  # cold: the index written
    other = root / "tenants" / "t7.yaml"
    inode = other.stat().st_ino
    with open(other, "r+", encoding="utf-8") as fh:  # in place: same inode, same directory
        fh.write(tenant_text(7, company="Empresa 1"))
        fh.truncate()
    os.utime(other, (OLD + 5, OLD + 5))  # old times: only the stat shows the change
    assert other.stat().st_ino == inode
    listing.prefetch(root)
    assert os.fspath(root.resolve() / "tenants") in listing._prefetched
    with_helper = load_one(root, "t1")
    assert listing._prefetched == {}  # taken
    assert with_helper.tenant_files == 30  # max_accounts counts the helper's names
    assert [f.field for f in with_helper.errors] == ["company_name"]
    assert "t7.yaml" in str(with_helper.errors[0])
    without = load_one(root, "t1")
    assert with_helper.findings == without.findings
    assert any("t7.yaml" in str(f) for f in load_repository(root).errors)


@pytest.mark.parametrize("helper", ["/bin/false", "/bin/echo", "/nonexistent/python"])
def test_a_helper_that_fails_means_listing_here(eager: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               helper: str) -> None:
    root = tmp_path / "repo"
    write_repo(root, 5)
    (root / "tenants" / "t3.yaml").write_text(tenant_text(3, company="Empresa 4"),
                                              encoding="utf-8")
    load_one(root, "t4")
    monkeypatch.setattr(sys, "executable", helper)
    listing.prefetch(root)
    assert listing.take_prefetched(root.resolve() / "tenants") is None
    listing.prefetch(root)
    found = load_one(root, "t4")
    assert [f.field for f in found.errors] == ["company_name"]
    assert found.tenant_files == 5


def test_a_helper_for_another_directory_is_stopped(eager: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    write_repo(first, 3)
    write_repo(second, 4)
    load_one(first, "t0")
    load_one(second, "t0")
    listing.prefetch(first)
    process = listing._prefetched[os.fspath(first.resolve() / "tenants")][1]
    assert load_one(second, "t1").tenant_files == 4
    assert listing._prefetched == {}
    assert process.returncode is not None  # stopped and reaped, not left behind


def test_no_helper_without_a_large_index_or_a_second_core(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv(layout.CACHE_ENV, str(tmp_path / "cache"))
    root = tmp_path / "repo"
    write_repo(root, 3)
    listing.prefetch(root)  # no index yet: the first command reads every file anyway
    assert listing._prefetched == {}
    load_one(root, "t0")
    listing.prefetch(root)  # an index of 3 tenants: listing here costs less than a helper
    assert listing._prefetched == {}
    monkeypatch.setattr(listing, "PREFETCH_MIN_INDEX_BYTES", 0)
    monkeypatch.setattr(listing, "_cores", lambda: 1)
    listing.prefetch(root)  # one core: the helper would only compete with the command
    assert listing._prefetched == {}
    monkeypatch.setenv(layout.CACHE_ENV, "off")
    monkeypatch.setattr(listing, "_cores", lambda: 2)
    listing.prefetch(root)  # no cache at all
    assert listing._prefetched == {}


def test_the_program_starts_the_helper_for_the_orchestrators_repository(
        eager: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    write_repo(root, 3)
    load_one(root, "t0")
    monkeypatch.setenv(layout.SPEC_ROOT_ENV, str(root))
    head_start.start_listing()
    assert list(listing._prefetched) == [os.fspath(root.resolve() / "tenants")]
    from provisioner.infra.program import load_target

    assert load_target("t2", root).spec.subdomain == "t2"
    assert listing._prefetched == {}


def test_render_with_the_helper_prints_what_it_prints_without(
        eager: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.cli import main

    root = tmp_path / "repo"
    write_repo(root, 12)
    taken: list[object] = []
    real_take = index.take_prefetched
    monkeypatch.setattr(index, "take_prefetched",
                        lambda d: taken.append(real_take(d)) or taken[-1])

    def render() -> str:
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(["--repo", str(root), "render", "t5"]) == 0
        return out.getvalue()

    cold = render()  # no index yet: no helper
    assert taken == [None]
    warm = render()
    assert taken[-1] is not None  # the helper's listing was used
    assert warm == cold
    assert re.search(r"t5", warm)
    monkeypatch.setattr(listing, "PREFETCH_MIN_INDEX_BYTES", 10**12)
    assert render() == cold and taken[-1] is None


def test_a_file_that_cannot_be_stat_ed_is_never_trusted(eager: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """The cache's fast path (nothing changed) is taken with either listing, never over a
    failed stat: a broken link is read again on every run."""
    monkeypatch.setattr(index, "RACY_WINDOW_NS", 0)  # files written before a scan: trusted
    root = tmp_path / "repo"
    write_repo(root, 3)
    tenants = root.resolve() / "tenants"

    def helper_scan() -> int:
        listing.prefetch(root)
        taken = listing.take_prefetched(tenants)
        assert taken is not None
        return index.scan(tenants, *taken).reread

    assert index.scan(tenants).reread == 3
    assert index.scan(tenants).reread == 0
    assert helper_scan() == 0
    os.symlink("nowhere", tenants / "gone.yaml")
    assert index.scan(tenants).reread == 1
    assert index.scan(tenants).reread == 1
    assert helper_scan() == 1


@pytest.mark.parametrize(("cpu_max", "cores"), [
    (None, 2), ("max 100000\n", 2), ("100000 100000\n", 1), ("150000 100000\n", 1),
    ("400000 100000\n", 2), ("garbled\n", 2)])
def test_a_cpu_quota_below_two_cores_means_no_helper(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     cpu_max: str | None, cores: int) -> None:
    """A container limited to one CPU sees its host's cores: the cgroup's quota decides."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1})
    path = tmp_path / "cpu.max"
    if cpu_max is not None:
        path.write_text(cpu_max, encoding="ascii")
    monkeypatch.setattr(listing, "CGROUP_CPU_MAX", str(path))
    assert listing._cores() == cores


def test_the_helper_can_be_turned_off(eager: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    write_repo(root, 3)
    load_one(root, "t0")
    monkeypatch.setenv(listing.HELPER_ENV, "off")
    listing.prefetch(root)
    assert listing._prefetched == {}
    monkeypatch.setenv(listing.HELPER_ENV, "on")
    listing.prefetch(root)
    assert list(listing._prefetched) == [os.fspath(root.resolve() / "tenants")]
