"""Which stacks a commit range touches, on real git repositories built per test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.orchestrate.changes import detect_changes
from provisioner.orchestrate.git_repo import DIRECT_READS, Git

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def gitrepo(tmp_path: Path) -> Path:
    repo = tmp_path / "specs"
    shutil.copytree(EXAMPLES, repo)
    (repo / "Pulumi.yaml").write_text("name: tenants\nruntime: python\nmain: infra/\n")
    (repo / "infra").mkdir()
    (repo / "infra" / "__main__.py").write_text("# program\n")
    (repo / "tenant_templates").mkdir()
    (repo / "tenant_templates" / "tenant.env.j2").write_text("X=1\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.pe")
    git(repo, "config", "user.name", "t")
    commit(repo, "base")
    git(repo, "tag", "base")
    return repo


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def actions(repo: Path) -> dict[str, str]:
    return {c.stack: c.action for c in detect_changes(repo, "base").changes}


ALL = {"bodegaperez", "contaapi", "ferreteriaandina", "hotelsol", "nandu", "pruebademo"}


def test_edit_one_tenant_ups_only_that_stack(gitrepo: Path) -> None:
    path = gitrepo / "tenants" / "nandu.yaml"
    path.write_text(path.read_text().replace("limit_emission", "#") + "limit_emission: true\n")
    commit(gitrepo, "edit")
    assert actions(gitrepo) == {"nandu": "up"}


def test_added_and_removed_tenants(gitrepo: Path) -> None:
    text = (gitrepo / "tenants" / "nandu.yaml").read_text().replace("subdomain: nandu",
                                                                     "subdomain: nuevo")
    (gitrepo / "tenants" / "nuevo.yaml").write_text(text + "# new\n" * 30)
    (gitrepo / "tenants" / "pruebademo.yaml").unlink()
    commit(gitrepo, "add+remove")
    cs = detect_changes(gitrepo, "base")
    assert {c.stack: c.action for c in cs.changes} == {"nuevo": "up", "pruebademo": "destroy"}
    removed = cs.get("pruebademo")
    assert removed is not None and "subdomain: pruebademo" in (removed.old_text or "")


def test_rename_keeping_the_subdomain_is_not_destroy_and_create(gitrepo: Path) -> None:
    (gitrepo / "tenants" / "lima").mkdir()
    git(gitrepo, "mv", "tenants/nandu.yaml", "tenants/lima/nandu.yaml")
    commit(gitrepo, "move")
    cs = detect_changes(gitrepo, "base")
    assert [(c.stack, c.action) for c in cs.changes] == [("nandu", "up")]
    assert "renamed" in cs.changes[0].reason


def test_rename_changing_the_subdomain_destroys_old_and_ups_new(gitrepo: Path) -> None:
    git(gitrepo, "mv", "tenants/nandu.yaml", "tenants/nandu2.yaml")
    p = gitrepo / "tenants" / "nandu2.yaml"
    p.write_text(p.read_text().replace("subdomain: nandu", "subdomain: nandu2"))
    commit(gitrepo, "rename")
    assert actions(gitrepo) == {"nandu": "destroy", "nandu2": "up"}


def test_catalog_edit_touches_only_tenants_on_the_changed_plan(gitrepo: Path) -> None:
    p = gitrepo / "reseller.yaml"
    p.write_text(p.read_text().replace("pricing: 69", "pricing: 79"))
    commit(gitrepo, "price")
    cs = detect_changes(gitrepo, "base")
    assert cs.everything is None
    assert {c.stack for c in cs.changes} == {"bodegaperez"}  # the only pyme tenant


def test_preset_edit_touches_tenants_using_the_preset(gitrepo: Path) -> None:
    p = gitrepo / "reseller.yaml"
    p.write_text(p.read_text() + "presets:\n  hotel: [dashboard, documents, hotels]\n")
    commit(gitrepo, "preset")
    assert actions(gitrepo) == {"hotelsol": "up"}


def test_module_edit_touches_tenants_with_the_module(gitrepo: Path) -> None:
    p = gitrepo / "reseller.yaml"
    p.write_text(p.read_text() + "modules:\n  - {value: reports, label: Informes, app_id: 4}\n")
    commit(gitrepo, "module label")
    # reports: included by contaapi and ferreteriaandina, in the hotel and restaurante presets
    assert set(actions(gitrepo)) == {"contaapi", "ferreteriaandina", "hotelsol", "nandu"}


def test_reseller_setting_change_touches_every_tenant(gitrepo: Path) -> None:
    p = gitrepo / "reseller.yaml"
    p.write_text(p.read_text().replace("bcrypt_cost: 10", "bcrypt_cost: 11"))
    commit(gitrepo, "cost")
    cs = detect_changes(gitrepo, "base")
    assert cs.everything and "reseller" in cs.everything
    assert set(actions(gitrepo)) == ALL


@pytest.mark.parametrize("path", ["tenant_templates/tenant.env.j2", "infra/__main__.py",
                                  "Pulumi.yaml"])
def test_platform_change_touches_every_tenant(gitrepo: Path, path: str) -> None:
    (gitrepo / path).write_text((gitrepo / path).read_text() + "# changed\n")
    commit(gitrepo, "platform")
    assert actions(gitrepo) == dict.fromkeys(ALL, "up")


def test_unrelated_change_touches_nothing_and_list_is_a_matrix(gitrepo: Path,
                                                               run_cli) -> None:
    (gitrepo / "NOTES.md").write_text("hello\n")
    commit(gitrepo, "docs")
    assert actions(gitrepo) == {}
    p = gitrepo / "tenants" / "hotelsol.yaml"
    p.write_text(p.read_text() + "limit_emission: true\n")
    (gitrepo / "tenants" / "contaapi.yaml").unlink()
    commit(gitrepo, "two")
    code, out, _ = run_cli("--repo", gitrepo, "plan", "--base", "base", "--list",
                           "--format", "json")
    assert code == 0
    assert json.loads(out) == {"include": [{"stack": "hotelsol", "action": "up"},
                                           {"stack": "contaapi", "action": "destroy"}]} or \
        json.loads(out) == {"include": [{"stack": "contaapi", "action": "destroy"},
                                        {"stack": "hotelsol", "action": "up"}]}


def test_unknown_base_is_a_usage_error(gitrepo: Path, run_cli) -> None:
    code, _, err = run_cli("--repo", gitrepo, "plan", "--base", "nope", "--list")
    assert code == 2
    assert "unknown git revision 'nope'" in err
    assert "Traceback" not in err


def _many_tenants(repo: Path, count: int, plan_of: Callable[[int], str]) -> None:
    for i in range(count):
        sub = "nested/" if i % 7 == 0 else ""
        path = repo / "tenants" / f"{sub}bulk{i}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'ruc: "20{i:09d}"\ncompany_name: Bulk {i} S.A.C.\nsubdomain: bulk{i}\n'
                        f"admin_email: a@bulk{i}.example.pe\nplan: {plan_of(i)}\n")


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 199), min_size=1, max_size=120),
       absent=st.lists(st.integers(200, 260), max_size=5))
def test_many_files_read_by_object_id_equal_git_show(gitrepo: Path, picks: list[int],
                                                     absent: list[int]) -> None:
    """More files than DIRECT_READS are read by blob id from directory listings: every text
    must be what `git show REV:path` gives, at both revisions, and an absent file None."""
    if not (gitrepo / "tenants" / "bulk1.yaml").exists():
        _many_tenants(gitrepo, 200, lambda i: "pyme")
        commit(gitrepo, "bulk")
    reader = Git(gitrepo)
    path = lambda i: f"tenants/{'nested/' if i % 7 == 0 else ''}bulk{i}.yaml"  # noqa: E731
    specs = [f"HEAD:{path(i)}" for i in picks] + [f"base:{path(i)}" for i in picks[:3]]
    specs += [f"HEAD:{path(i)}" for i in absent] + ["HEAD:reseller.yaml"]
    specs += [f"HEAD:{path(i)}" for i in range(DIRECT_READS + 1 - len(specs))]
    texts = reader.blobs(specs)
    for spec in specs:
        proc = subprocess.run(["git", "show", spec], cwd=gitrepo, capture_output=True,
                              text=True, check=False)
        assert texts[spec] == (proc.stdout if proc.returncode == 0 else None), spec


def test_catalog_edit_at_scale_marks_exactly_the_plans_tenants(gitrepo: Path) -> None:
    _many_tenants(gitrepo, 150, lambda i: ("pyme", "emprendedor", "ilimitado")[i % 3])
    commit(gitrepo, "bulk")
    git(gitrepo, "tag", "-f", "base")
    p = gitrepo / "reseller.yaml"
    p.write_text(p.read_text().replace("limit_documents: 2000", "limit_documents: 2500"))
    commit(gitrepo, "limit")
    cs = detect_changes(gitrepo, "base")
    assert cs.everything is None
    expected = {f"bulk{i}" for i in range(0, 150, 3)} | {"bodegaperez"}
    assert {c.stack for c in cs.changes} == expected
    assert all(c.new_text and f"subdomain: {c.stack}" in c.new_text
               for c in cs.changes if c.stack.startswith("bulk"))


def test_a_tenant_whose_plan_is_not_text_is_marked_not_a_crash(gitrepo: Path) -> None:
    (gitrepo / "tenants" / "odd.yaml").write_text("subdomain: odd\nplan: [pyme]\n"
                                                 "modules: {preset: [basico]}\n")
    commit(gitrepo, "odd")
    git(gitrepo, "tag", "-f", "base")
    p = gitrepo / "reseller.yaml"
    p.write_text(p.read_text().replace("pricing: 69", "pricing: 79"))
    commit(gitrepo, "price")
    assert actions(gitrepo) == {"bodegaperez": "up"}


def test_plan_list_starts_without_pydantic(gitrepo: Path) -> None:
    """`plan --list` runs on every push: neither a tenant edit nor a plan's catalog edit may
    pull in the models (pydantic), Pulumi, boto3 or zeep."""
    p = gitrepo / "reseller.yaml"
    p.write_text(p.read_text().replace("pricing: 69", "pricing: 79"))
    t = gitrepo / "tenants" / "nandu.yaml"
    t.write_text(t.read_text() + "limit_emission: true\n")
    commit(gitrepo, "price and a tenant")
    probe = ("import sys\nfrom provisioner.cli import main\ncode = main(['plan', '--list', "
             "'--base', 'base', '--format', 'json'])\nheavy = [m for m in ('pydantic', "
             "'pulumi', 'boto3', 'zeep', 'jinja2') if m in sys.modules]\n"
             "print(code, heavy, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=gitrepo, capture_output=True,
                          text=True, check=True)
    assert proc.stderr.strip() == "0 []"
    assert {i["stack"] for i in json.loads(proc.stdout)["include"]} == {"bodegaperez", "nandu"}
