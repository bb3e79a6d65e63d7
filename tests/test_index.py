"""One-tenant loads (spec.index.load_one) report for their tenant exactly what `validate`
reports, with a cold, warm, stale or corrupt index cache."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.pe import ruc as stdnum_ruc

from provisioner.errors import ProvisionerError
from provisioner.model import crossfile, index, layout
from provisioner.model.display import display_path
from provisioner.model.index import load_one
from provisioner.model.models import TenantSpec
from provisioner.model.repository import load_repository

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BASE = yaml.safe_load((EXAMPLES / "tenants" / "pruebademo.yaml").read_text(encoding="utf-8"))


def ruc_for(i: int) -> str:
    body = f"20{i:08d}"
    return body + stdnum_ruc.calc_check_digit(body)


SUBDOMAINS = ["ana", "bob", "ANA", "cid", "www", "a b"]  # www is reserved; "a b" invalid
RUCS = [ruc_for(1), ruc_for(2), 20100000001, "123", ruc_for(3)]  # int, bad check, too short
NAMES = ["Comercial Ana S.A.C.", "comercial   ana s.a.c.", "ＣＯＭＥＲＣＩＡＬ Ana S.A.C.",
         "Otra Empresa", "  "]
BREAKS = [None, None, "plan", "unknown", "yaml", "ruc-missing", "empty", "dupkey"]


@st.composite
def tenant_files(draw: st.DrawFn) -> tuple[str, str]:
    """(path below tenants/, text): values drawn from small pools so that they collide."""
    sub = draw(st.sampled_from(SUBDOMAINS))
    doc = dict(BASE, subdomain=sub, ruc=draw(st.sampled_from(RUCS)),
               company_name=draw(st.sampled_from(NAMES)))
    broken = draw(st.sampled_from(BREAKS))
    if broken == "plan":
        doc["plan"] = "no-such-plan"
    elif broken == "unknown":
        doc["colour"] = "blue"
    elif broken == "ruc-missing":
        del doc["ruc"]
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    if broken == "yaml":
        text += "modules: [unclosed\n"
    elif broken == "empty":
        text = ""
    elif broken == "dupkey":
        text += f"ruc: '{ruc_for(2)}'\n"
    stem = draw(st.sampled_from([sub.lower(), sub.lower(), "zed", sub]))
    folder = draw(st.sampled_from(["", "", "sub/"]))
    return f"{folder}{stem}{draw(st.sampled_from(['.yaml', '.yaml', '.yml']))}", text


repositories = st.tuples(
    st.lists(tenant_files(), max_size=7, unique_by=lambda f: f[0]),
    st.sampled_from([None, 0, 1, 3, 50]))


def write_repo(root: Path, files: list[tuple[str, str]], cap: int | None) -> None:
    reseller = (EXAMPLES / "reseller.yaml").read_text(encoding="utf-8")
    reseller = re.sub(r"(?m)^max_accounts: .*$",
                      f"max_accounts: {'null' if cap is None else cap}", reseller)
    (root / "tenants").mkdir(parents=True)
    (root / "reseller.yaml").write_text(reseller, encoding="utf-8")
    for rel, text in files:
        path = root / "tenants" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@contextmanager
def cache_at(path: Path | str) -> Iterator[None]:
    old = os.environ.get(layout.CACHE_ENV)
    os.environ[layout.CACHE_ENV] = str(path)
    try:
        yield
    finally:
        if old is None:
            del os.environ[layout.CACHE_ENV]
        else:
            os.environ[layout.CACHE_ENV] = old


def expected_for(root: Path, rels: list[str], mine: set[str]) -> list:
    """What `validate` reports that concerns the tenant whose files are `mine`: every finding
    except those on the other tenant files."""
    full = load_repository(root)
    others = {display_path(root / "tenants" / r) for r in rels if r not in mine}
    return [f for f in full.findings if f.file not in others]


def outcome(repo_loader: Callable[[], object]) -> object:
    """What Repository.tenant gives: the spec, or the error's type and text."""
    try:
        return repo_loader()
    except ProvisionerError as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(repo=repositories)
def test_one_tenant_findings_are_validates_for_that_tenant(repo: tuple, tmp_path: Path) -> None:
    files, cap = repo
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        root = Path(work) / "repo"
        write_repo(root, files, cap)
        rels = [r for r, _ in files]
        names = {os.path.splitext(os.path.basename(r))[0] for r in rels} | {"nobody"}
        full = load_repository(root)
        with cache_at(Path(work) / "cache"):
            for name in sorted(names):
                mine = {r for r in rels if os.path.splitext(os.path.basename(r))[0] == name}
                want = expected_for(root, rels, mine)
                for run in ("cold", "warm"):
                    one = load_one(root, name)
                    assert one.findings == want, (name, run)
                    assert one.tenant_files == full.tenant_files
                    assert outcome(lambda o=one, n=name: o.tenant(n).spec) == outcome(
                        lambda n=name: full.tenant(n).spec), (name, run)
                for index_file in Path(work).glob("cache/*"):  # a wrong cache: not trusted
                    index_file.write_bytes(b"\x00garbage")
                    assert load_one(root, name).findings == want
            for rel in rels:  # a tenant named by its file
                path = str(root / "tenants" / rel)
                assert load_one(root, path).findings == expected_for(root, rels, {rel})


def test_an_edit_after_the_cache_was_built_is_seen(tmp_path: Path) -> None:
    """The other file now takes the tenant's RUC: same size, mtime put back; still found."""
    root = tmp_path / "repo"
    one = dict(BASE, subdomain="ana", ruc=ruc_for(1), company_name="Ana S.A.C.")
    two = dict(BASE, subdomain="bob", ruc=ruc_for(2), company_name="Bob S.A.C.")
    write_repo(root, [("ana.yaml", yaml.safe_dump(one)), ("bob.yaml", yaml.safe_dump(two))],
               None)
    with cache_at(tmp_path / "cache"):
        assert load_one(root, "ana").errors == []
        bob = root / "tenants" / "bob.yaml"
        before = bob.stat()
        bob.write_text(bob.read_text().replace(ruc_for(2), ruc_for(1)))
        os.utime(bob, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert bob.stat().st_size == before.st_size
        errors = load_one(root, "ana").errors
        assert [(e.field, e.message) for e in errors] == [
            ("ruc", f"RUC already used by {display_path(bob)}")]
        # a new file and a removed one
        (root / "tenants" / "cid.yaml").write_text(yaml.safe_dump(
            dict(BASE, subdomain="cid", ruc=ruc_for(3), company_name="ana  s.a.c.")))
        bob.unlink()
        errors = load_one(root, "ana").errors
        assert [(e.field, e.message) for e in errors] == [(
            "company_name",
            f"company name already used by {display_path(root / 'tenants' / 'cid.yaml')}")]


def test_the_cache_is_used_and_written_whole(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    files = [(f"t{i}.yaml", yaml.safe_dump(dict(BASE, subdomain=f"t{i}", ruc=ruc_for(i),
                                                company_name=f"Empresa {i}")))
             for i in range(5)]
    write_repo(root, files, None)
    cache = tmp_path / "cache"
    monkeypatch.setattr(index, "RACY_WINDOW_NS", 0)  # files written before a scan: trusted
    with cache_at(cache):
        assert index.scan(root / "tenants").reread == 5
        assert index.scan(root / "tenants").reread == 0
        os.utime(root / "tenants" / "t3.yaml", ns=(10**9, 10**9))
        assert index.scan(root / "tenants").reread == 1
        assert [p.name.endswith(".bin") for p in cache.iterdir()] == [True]  # no temp file
    with cache_at("off"):
        assert index.scan(root / "tenants").reread == 5


def test_an_unchanged_index_is_not_written_again(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`validate` on an unchanged repository leaves the cache file as it is (same inode: no
    temporary file renamed over it); any change of a file's stat or keys writes it anew, and
    the one-tenant load then sees the change."""
    root = tmp_path / "repo"
    files = [(f"t{i}.yaml", yaml.safe_dump(dict(BASE, subdomain=f"t{i}", ruc=ruc_for(i),
                                                company_name=f"Empresa {i}")))
             for i in range(3)]
    write_repo(root, files, None)
    monkeypatch.setattr(index, "RACY_WINDOW_NS", 0)
    with cache_at(tmp_path / "cache"):
        assert load_repository(root).errors == []
        cache = layout.index_cache_path(root / "tenants")
        assert cache is not None
        first = cache.stat()
        assert load_repository(root).errors == []
        assert (cache.stat().st_ino, cache.stat().st_mtime_ns) == (first.st_ino,
                                                                   first.st_mtime_ns)
        t2 = root / "tenants" / "t2.yaml"
        t2.write_text(t2.read_text().replace(ruc_for(2), ruc_for(1)))
        os.utime(t2, ns=(10**9, 10**9))
        found = load_repository(root).errors
        assert cache.stat().st_ino != first.st_ino
        assert {e.field for e in found} == {"ruc"}
        assert index.scan(root / "tenants").reread == 0
        assert [e.field for e in load_one(root, "t1").errors] == ["ruc"]


def test_recent_files_are_read_again(tmp_path: Path) -> None:
    """A file written within the racy window is never trusted from the cache: a second write
    in the same timestamp tick would keep its stat."""
    root = tmp_path / "repo"
    write_repo(root, [("ana.yaml", yaml.safe_dump(dict(BASE, subdomain="ana")))], None)
    with cache_at(tmp_path / "cache"):
        assert index.scan(root / "tenants").reread == 1
        assert index.scan(root / "tenants").reread == 1


def test_a_broken_file_still_holds_its_ruc(repo: Path) -> None:
    """A tenant file with an error elsewhere (an unknown plan) still takes part in the rules
    between accounts, as it counts against max_accounts: the RUC is taken."""
    other = repo / "tenants" / "otro.yaml"
    text = (repo / "tenants" / "hotelsol.yaml").read_text(encoding="utf-8")
    ruc = re.search(r'(?m)^ruc: "?(\d+)', text)
    assert ruc is not None
    other.write_text(yaml.safe_dump(dict(BASE, subdomain="otro", ruc=ruc.group(1),
                                         company_name="Otro", plan="no-such-plan")))
    messages = [f.message for f in load_one(repo, "hotelsol").errors]
    assert messages == [f"RUC already used by {display_path(other)}"]
    assert f"RUC already used by {display_path(other)}" in [
        f.message for f in load_repository(repo).errors]


@settings(max_examples=200, deadline=None)
@given(sub=st.sampled_from(["acme", "ACME", " acme ", "www", "a-b", "x" * 70, 5, ""]),
       ruc=st.one_of(st.sampled_from([ruc_for(1), int(ruc_for(1)), " 20000000019", "1" * 12,
                                       True, None]), st.text(max_size=12)),
       name=st.text(max_size=20))
def test_field_keys_are_the_models_own(sub: object, ruc: object, name: str) -> None:
    """keys_of_data judges each field as TenantSpec does: for a valid spec, the same keys."""
    data = dict(BASE, subdomain=sub, ruc=ruc, company_name=name)
    keys = crossfile.keys_of_data(data)
    try:
        spec = TenantSpec.model_validate(data)
    except ValueError:
        return
    assert keys == crossfile.keys_of_spec(spec)


def test_render_ignores_another_tenants_broken_file(repo: Path, run_cli) -> None:
    """A broken file is its tenant's problem; the rules between accounts still apply."""
    (repo / "tenants" / "roto.yaml").write_text("subdomain: roto\nplan: [\n", encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "render", "hotelsol")
    assert code == 0, err
    shutil.copy(repo / "tenants" / "hotelsol.yaml", repo / "tenants" / "hotelsol2.yaml")
    code, _, err = run_cli("--repo", repo, "render", "hotelsol")
    assert code == 1 and "RUC already used by" in err and "hotelsol2.yaml" in err


@pytest.mark.parametrize("name", ["hotelsol", "tenants/hotelsol.yaml"])
def test_a_tenant_by_subdomain_or_file(repo: Path, name: str, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    assert load_one(repo, name).tenant(name).spec.subdomain == "hotelsol"


def test_validate_leaves_the_index_warm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`load_repository` writes the index it found, so a command after `validate` reads no
    other file; an edit after it is still seen."""
    root = tmp_path / "repo"
    write_repo(root, [(f"t{i}.yaml", yaml.safe_dump(dict(BASE, subdomain=f"t{i}", ruc=ruc_for(i),
                                                         company_name=f"Empresa {i}")))
                      for i in range(4)] + [("roto.yaml", "ruc: [\n")], None)
    monkeypatch.setattr(index, "RACY_WINDOW_NS", 0)
    with cache_at(tmp_path / "cache"):
        load_repository(root)
        assert index.scan(root / "tenants").reread == 1  # only the file without keys
        t2 = root / "tenants" / "t2.yaml"
        t2.write_text(t2.read_text().replace(ruc_for(2), ruc_for(0)))
        load_repository(root)
        assert [f.message for f in load_one(root, "t0").errors] == [
            f"RUC already used by {display_path(t2)}"]


@pytest.mark.parametrize("name", ["", ".", "..", "../tenants/hotelsol", "hotelsol.yaml.yaml"])
def test_odd_names_find_what_validate_finds(repo: Path, name: str, monkeypatch) -> None:
    """Odd names get validate's answer: `""` names the file `.yaml` as Repository.tenant reads
    names (what precedes the suffix), and a name is never a way out of the repository."""
    monkeypatch.chdir(repo / "tenants")
    (repo / "tenants" / ".yaml").write_text("ruc: [\n", encoding="utf-8")
    full, one = load_repository(repo), load_one(repo, name)
    rels = [p.name for p in (repo / "tenants").iterdir()]
    mine = {r for r in rels if r.rsplit(".", 1)[0] == name}
    assert one.findings == expected_for(repo, rels, mine)
    assert outcome(lambda: one.tenant(name).spec) == outcome(lambda: full.tenant(name).spec)


def test_concurrent_scans_and_an_unusable_cache_directory(tmp_path: Path) -> None:
    """Commands running at once each write a whole cache file (a temporary file renamed);
    a cache directory that cannot be written only costs a full scan."""
    from concurrent.futures import ThreadPoolExecutor

    root = tmp_path / "repo"
    write_repo(root, [(f"t{i}.yaml", yaml.safe_dump(dict(BASE, subdomain=f"t{i}", ruc=ruc_for(i),
                                                         company_name=f"Empresa {i}")))
                      for i in range(30)], None)
    t5 = root / "tenants" / "t5.yaml"
    t5.write_text(t5.read_text().replace(ruc_for(5), ruc_for(3)))
    cache = tmp_path / "cache"
    with cache_at(cache), ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: [e.message for e in load_one(root, "t3").errors],
                                range(8)))
    assert results == [[f"RUC already used by {display_path(t5)}"]] * 8
    assert [p.suffix for p in cache.iterdir()] == [".bin"]  # no temporary file left
    with cache_at(cache):
        assert index._read_cache(layout.index_cache_path(root / "tenants"), root / "tenants",
                                 index._rules_stamp()) is not None
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with cache_at(blocker):
        assert len(load_one(root, "t3").errors) == 1
        assert index.scan(root / "tenants").reread == 30


def test_rules_between_accounts_take_valid_tenants_as_before(repo: Path) -> None:
    """check_repository still takes LoadedTenant lists (callers written before the index)."""
    text = (repo / "tenants" / "hotelsol.yaml").read_text(encoding="utf-8")
    (repo / "tenants" / "hotelsol2.yaml").write_text(
        re.sub(r"(?m)^subdomain: .*$", "subdomain: hotelsol2", text), encoding="utf-8")
    loaded = load_repository(repo)
    valid = [t for t in loaded.tenants if t.source.path.stem in ("hotelsol", "hotelsol2")]
    assert len(valid) == 2
    found = crossfile.check_repository(valid, loaded.reseller, loaded.reseller_path)
    assert sorted(f.message for f in found if f.field == "ruc") == [
        f"RUC already used by {display_path(repo / 'tenants' / n)}"
        for n in ("hotelsol.yaml", "hotelsol2.yaml")]
