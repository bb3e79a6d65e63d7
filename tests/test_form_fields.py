"""The form's fields turned into the tenant file: the modules tree written as the spec writes
it (a preset with add/remove, or the list itself; levels only where not all) means exactly
the modules and levels ticked, for any ticks; hidden fields are left out; the labels are the
app dialog's."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from provisioner import newtenant as nt
from provisioner.form.checks import evaluate
from provisioner.form.fields import LABELS, answers_from, form_field_of, visible_fields
from provisioner.model.catalog import build_catalog
from provisioner.model.repository import load_repository, parse_tenant
from provisioner.model.semantics import resolve_modules
from provisioner.model.yaml_source import Source

ROOT = Path(__file__).resolve().parent.parent
REPO = load_repository(ROOT / "examples")
CATALOG = REPO.catalog or build_catalog()
ALL_LEVELS = [f"{m.value}:{lv}" for m in CATALOG.modules.values() for lv in m.levels]
BASE = {"ruc": "20131312955", "company_name": "Aduanas del Perú S.A.",
        "subdomain": "aduanas", "email": "ti@aduanas.example.pe", "plan": "pyme"}


@st.composite
def ticks(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    preset = draw(st.sampled_from(["", *CATALOG.presets]))
    modules = draw(st.lists(st.sampled_from(list(CATALOG.modules)), min_size=1, unique=True))
    levels = [lv for lv in ALL_LEVELS if lv.split(":")[0] in modules and draw(st.booleans())]
    return preset, modules, levels


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ticks())
@example(("hotel", ["dashboard", "documents", "hotels", "ecommerce"], ["documents:catalogs"]))
@example(("", list(CATALOG.modules), ALL_LEVELS))  # the dialog's initial state
def test_the_file_means_exactly_the_modules_and_levels_ticked(
        tick: tuple[str, list[str], list[str]]) -> None:
    preset, modules, levels = tick
    form = answers_from({**BASE, "preset": preset, "modules": modules, "levels": levels},
                        CATALOG)
    text = nt.render_yaml(nt.tenant_document(form.answers))
    loaded, findings = parse_tenant(Source(REPO.root / "tenants" / "aduanas.yaml", text),
                                    REPO.reseller, CATALOG)
    assert loaded is not None, [str(f) for f in findings]
    chosen = resolve_modules(loaded.spec, CATALOG)
    assert set(chosen.modules) == set(modules)
    for module in chosen.modules:
        if CATALOG.modules[module].levels:
            ticked = {lv.split(":")[1] for lv in levels if lv.split(":")[0] == module}
            assert set(chosen.levels[module]) == ticked
    sel = loaded.spec.modules
    assert sel.preset == (preset or None)
    if not preset:
        assert sel.include is not None


def test_fields_the_form_hides_are_left_out_of_the_file() -> None:
    payload = {**BASE, "send": "sunat", "environment": "demo", "sol_user": "KEPT",
               "ose_url": "https://ose.example.pe/bill", "smtp": False,
               "smtp_host": "smtp.gmail.com", "smtp_username": "ti"}
    form = answers_from(payload, CATALOG)
    shown = visible_fields(form)
    assert not shown["sol_user"] and not shown["ose_url"] and not shown["smtp_host"]
    doc = nt.tenant_document(form.answers)
    assert doc["soap"] == {"send": "sunat", "environment": "demo"} and "smtp" not in doc
    # the same values once their section applies
    form = answers_from({**payload, "send": "ose", "environment": "production",
                         "smtp": True}, CATALOG)
    doc = nt.tenant_document(form.answers)
    assert doc["soap"]["ose_url"] == "https://ose.example.pe/bill"
    assert doc["soap"]["sol_user"] == "KEPT" and doc["smtp"]["host"] == "smtp.gmail.com"


def test_secret_fields_count_only_as_given_never_as_values() -> None:
    form = answers_from({**BASE, "environment": "production", "sol_password": "hunter22",
                         "certificate": True, "certificate_password": True}, CATALOG)
    assert form.secrets_given == {"certificate", "certificate_password"}
    assert form.answers.certificate is True
    assert "hunter22" not in nt.render_yaml(nt.tenant_document(form.answers))


def test_every_finding_of_a_form_field_lands_next_to_it() -> None:
    assert form_field_of("admin_email") == "email"
    assert form_field_of("modules.levels.pos[1]") == "modules"
    assert form_field_of("soap.sol_user") == "sol_user"
    assert form_field_of("smtp.port") == "smtp_port"
    assert form_field_of("max_accounts") is None  # above the form
    for spec_field in nt.FLAGS:  # every field `new` sets has a place in the form
        assert form_field_of(spec_field) in LABELS, spec_field


def test_a_complete_form_gives_the_file_new_would_write() -> None:
    payload = {**BASE, "preset": "basico", "modules": CATALOG.presets["basico"],
               "levels": [lv for lv in ALL_LEVELS if lv.split(":")[0] in
                          CATALOG.presets["basico"]], "limit_emission": False,
               "allow_production_switch": True}
    ev = evaluate(payload, REPO)
    assert ev.ok, ev.as_dict()
    answers = nt.TenantAnswers(**{k: v for k, v in BASE.items()}, preset="basico",
                               limit_emission=False, allow_production_switch=True)
    expected = nt.render_yaml(nt.tenant_document(answers), modeline=nt.schema_comment(
        REPO.root), made_by="provisioner form")
    assert ev.text == expected


FIELD_VALUES = {
    "ruc": ["20131312955", "20131312956", "20600055519", "2013131295", ""],
    "company_name": ["Aduanas del Perú S.A.", "HOTEL EL SOL DE CUSCO  e.i.r.l.", "", "A\u0007B"],
    "subdomain": ["aduanas", "www", "Adu-anas", "a" * 40, "admin"],
    "email": ["ti@aduanas.example.pe", "ti@aduanas", ""],
    "plan": ["pyme", "nope", ""],
    "environment": ["demo", "production"],
    "send": ["sunat", "ose"],
    "sol_user": ["", "ADUANA01", "bad user"],
    "ose_url": ["", "https://ose.example.pe/bill", "http://ose.example.pe"],
    "ose_username_format": ["ruc_user", "ruc"],
    "smtp": [False, True],
    "smtp_host": ["smtp.gmail.com", "bad host"],
    "smtp_port": ["465", "0", "abc"],
    "smtp_username": ["ti", ""],
    "limit_emission": [False, True],
    "allow_production_switch": [True, False],
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    root = tmp_path_factory.mktemp("form") / "repo"
    shutil.copytree(ROOT / "examples", root)
    assert load_repository(root).errors == []
    return root


@settings(max_examples=80, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(list(FIELD_VALUES)), max_size=3, unique=True).flatmap(
    lambda changed: st.fixed_dictionaries({
        k: st.sampled_from(v) if k in changed else st.just(v[0])
        for k, v in FIELD_VALUES.items()})))  # a valid form with up to three fields changed
@example({**{k: v[0] for k, v in FIELD_VALUES.items()}, "environment": "production"})
@example({**{k: v[0] for k, v in FIELD_VALUES.items()}, "send": "ose", "sol_user": ""})
def test_the_form_accepts_exactly_the_files_validate_accepts(
        scratch: Path, values: dict[str, object]) -> None:
    """No rule of the form's own: what it calls fine, `validate` passes once written, and
    what it refuses, `validate` refuses too (the form's own view of a taken subdomain aside)."""
    repo = load_repository(scratch)
    payload = {**values, "preset": "", "modules": ["dashboard", "documents"], "levels": []}
    ev = evaluate(payload, repo)
    path = scratch / ev.path
    path.write_text(ev.text, encoding="utf-8")
    try:
        errors = load_repository(scratch).errors
    finally:
        path.unlink()
    assert ev.ok == (errors == []), (ev.as_dict(), [str(f) for f in errors])


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*LABELS, "levels", "modules", "preset"]), JSON))
@example({"modules": ["nope", 3], "levels": ["pos:", ":x", "nope:y"], "preset": "nope"})
@example({"smtp": True, "smtp_port": "１２３"})  # full-width digits: not a port
def test_any_json_the_page_could_send_gets_an_answer_not_a_crash(
        payload: dict[str, object]) -> None:
    import json

    ev = evaluate(payload, REPO)
    json.dumps(ev.as_dict())
    assert ev.ok is False or ev.spec is not None
