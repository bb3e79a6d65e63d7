"""reseller.yaml is read as typed: booleans are YAML booleans (never "on"/"yes"/1), and what
the app keeps one row of (a module's id, a plan's label) is given once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provisioner.model.catalog import DEFAULT_MODULES, DEFAULT_PLANS
from provisioner.model.crossfile import same_name_key
from provisioner.model.repository import load_reseller

BOOLEAN_FIELDS = [("app", "force_https"), ("app", "delete_tenant_database"),
                  ("app", "delete_tenant_database_user"), ("platform", "ipv6"),
                  ("sunat_alternate_server",), ("plans", 0, "locked")]


def _errors(repo: Path, edit) -> list:  # type: ignore[no-untyped-def]
    path = repo / "reseller.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    _r, _c, findings = load_reseller(path)
    return [f for f in findings if f.severity == "error"]


def _set(data: dict, where: tuple, value: object) -> None:
    for key in where[:-1]:
        data = data[key]
    data[where[-1]] = value


def test_the_example_has_no_finding(repo: Path) -> None:
    assert _errors(repo, lambda d: None) == []


@settings(max_examples=40, deadline=None)
@given(where=st.sampled_from(BOOLEAN_FIELDS),
       value=st.sampled_from(["on", "off", "yes", "no", "true", "false", "1", "0", "y", 1, 0,
                              "True"]))
@example(where=("app", "force_https"), value="on")
def test_a_lax_boolean_is_refused_where_it_is_written(tmp_path_factory, where, value) -> None:  # type: ignore[no-untyped-def]
    import shutil

    repo = tmp_path_factory.mktemp("r") / "repo"
    shutil.copytree(Path(__file__).resolve().parent.parent / "examples", repo)
    found = _errors(repo, lambda d: _set(d, where, value))
    assert found, f"{where} = {value!r} passed"
    assert ".".join(map(str, where)).replace(".0.", "[0].") in found[0].field \
        or where[-1] in found[0].field
    assert found[0].line > 0


def test_two_modules_with_one_app_id_are_refused(repo: Path) -> None:
    taken = DEFAULT_MODULES[0]

    def edit(d: dict) -> None:
        d["modules"] = [{"value": "reportes_extra", "label": "Reportes extra",
                         "app_id": taken.app_id}]
    found = _errors(repo, edit)
    assert [f.field for f in found] == ["modules[0].app_id"]
    assert f"app id {taken.app_id}" in found[0].message and taken.value in found[0].message


def test_two_reseller_modules_with_one_new_id_are_refused(repo: Path) -> None:
    def edit(d: dict) -> None:
        d["modules"] = [{"value": "a_mod", "label": "A", "app_id": 900},
                        {"value": "b_mod", "label": "B", "app_id": 900}]
    found = _errors(repo, edit)
    assert [f.field for f in found] == ["modules[1].app_id"]


def test_replacing_a_default_module_keeps_its_id(repo: Path) -> None:
    m = DEFAULT_MODULES[0]

    def edit(d: dict) -> None:
        d["modules"] = [{"value": m.value, "label": "Otro nombre", "app_id": m.app_id}]
    assert _errors(repo, edit) == []


@pytest.mark.parametrize("label", ["Emprendedor", "EMPRENDEDOR", "emprendedor ", "Émprendedor"])
def test_a_plan_with_anothers_label_is_refused(repo: Path, label: str) -> None:
    def edit(d: dict) -> None:
        d["plans"].append({"name": "emprendedor2", "label": label})
    found = _errors(repo, edit)
    assert [f.field for f in found] == ["plans[1].label"]
    assert "emprendedor" in found[0].message


def test_a_plan_whose_name_is_anothers_label_is_refused(repo: Path) -> None:
    def edit(d: dict) -> None:
        d["plans"].append({"name": "ilimitado2", "label": "Pyme"})
    assert [f.field for f in _errors(repo, edit)] == ["plans[1].label"]


def test_the_default_catalog_is_unique() -> None:
    ids = [m.app_id for m in DEFAULT_MODULES if m.app_id is not None]
    assert len(ids) == len(set(ids))
    labels = [same_name_key(p.label or p.name) for p in DEFAULT_PLANS]
    assert len(labels) == len(set(labels))
