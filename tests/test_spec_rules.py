"""One bad file per rule of the tenant and reseller specs: the message, its line:column, its field.

Every case edits a known-good tenant (BASE) or the example reseller file inside a copy of
examples/, validates the whole repository, and looks at what a user would see.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.errors import Finding
from provisioner.model.repository import load_repository
from provisioner.model.rules import validate_email_address

BASE = """\
ruc: "20601112222"
company_name: Comercial Base S.A.C.
subdomain: base
admin_email: admin@base.example.pe
plan: pyme
modules:
  preset: basico
  add: [inventory]
  levels:
    pos: [pos, cash]
soap:
  send: sunat
  environment: production
  sol_user: BASEUSER
certificate: true
allow_production_switch: false
"""
FILE = "tenants/base.yaml"


@pytest.fixture
def spec_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The examples copy as the working directory, so findings name `tenants/<file>`."""
    monkeypatch.chdir(repo)
    return repo


def check(repo: Path, text: str, name: str = "base") -> list[Finding]:
    (repo / "tenants" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return load_repository(repo).findings


def only(findings: list[Finding], file: str, field: str) -> Finding:
    matching = [f for f in findings if f.file == file and f.field == field]
    assert len(matching) == 1, f"expected one finding for {file} {field}: {findings}"
    return matching[0]


def test_base_is_valid(spec_repo: Path) -> None:
    """The cases below only mean something if the unedited file is clean."""
    findings = check(spec_repo, BASE)
    assert [f for f in findings if f.file == FILE] == []


# (id, old, new, line, column, field, message substring, severity)
CASES = [
    ("ruc-11-digits", '"20601112222"', '"2060111222"', 1, 6, "ruc",
     "'2060111222' does not match the expected format", "error"),
    ("ruc-check-digit-production", '"20601112222"', '"20601112223"', 1, 6, "ruc",
     "invalid check digit (expected 2); a production tenant needs a RUC SUNAT issued", "error"),
    ("ruc-prefix-production", '"20601112222"', '"30512333792"', 1, 6, "ruc",
     "prefix 30 is not one SUNAT issues", "error"),
    ("company-name-required", "company_name: Comercial Base S.A.C.\n", "", 1, 1,
     "company_name", "required field is missing", "error"),
    ("subdomain-letters-digits", "subdomain: base", "subdomain: ba-se", 3, 12, "subdomain",
     "letters and digits only", "error"),
    ("subdomain-no-accents", "subdomain: base", "subdomain: bañe", 3, 12, "subdomain",
     "letters and digits only", "error"),
    ("subdomain-max-63", "subdomain: base", "subdomain: " + "a" * 64, 3, 12, "subdomain",
     "at most 63 characters", "error"),
    ("subdomain-reserved", "subdomain: base", "subdomain: www", 3, 12, "subdomain",
     "'www' is reserved for the platform", "error"),
    ("subdomain-fits-mysql-user", "subdomain: base", "subdomain: " + "a" * 25, 3, 12,
     "subdomain", "at most 24 so that the database user 'tenancy_aaaaaaaaaaaaaaaaaaaaaaaaa' "
     "fits MySQL's 32-character user names", "error"),
    ("admin-email-valid", "admin@base.example.pe", "admin@@base", 4, 14, "admin_email",
     "value is not a valid email address", "error"),
    ("user-type", "plan: pyme\n", "plan: pyme\nuser_type: root\n", 6, 12, "user_type",
     "Input should be 'admin' or 'integrator'", "error"),
    ("no-password-key", "plan: pyme\n", "plan: pyme\npassword: hunter2\n", 6, 1, "password",
     "passwords never go in a spec file", "error"),
    ("admin-password-not-a-password", "plan: pyme\n", "plan: pyme\nadmin_password: hunter2\n",
     6, 17, "admin_password", "must be 'generate' or 'stack_secret'", "error"),
    ("plan-from-catalog", "plan: pyme", "plan: pime", 5, 7, "plan",
     "unknown plan 'pime' (did you mean: pyme?)", "error"),
    ("limit-emission-bool", "plan: pyme\n", "plan: pyme\nlimit_emission: often\n", 6, 17,
     "limit_emission", "Input should be a valid boolean", "error"),
    ("preset-known", "preset: basico", "preset: hotell", 7, 11, "modules.preset",
     "unknown preset 'hotell' (did you mean: hotel?)", "error"),
    ("module-known", "add: [inventory]", "add: [inventori]", 8, 9, "modules.add[0]",
     "unknown module 'inventori' (did you mean: inventory?)", "error"),
    ("level-known", "pos: [pos, cash]", "pos: [pos, cashh]", 10, 16, "modules.levels.pos[1]",
     "unknown level 'cashh' (did you mean: cash?)", "error"),
    ("preset-or-include", "  preset: basico\n", "  preset: basico\n  include: [pos]\n", 7, 3,
     "modules", "give exactly one of 'preset' or 'include'", "error"),
    ("ose-needs-url", "send: sunat", "send: ose", 12, 3, "soap.ose_url",
     "ose_url is required when send is 'ose'", "error"),
    ("ose-url-https", "send: sunat", "send: ose\n  ose_url: http://ose.example.pe/bill", 13, 12,
     "soap.ose_url", "does not match the expected format ^https://", "error"),
    ("ose-username-format", "send: sunat",
     "send: ose\n  ose_url: https://ose.example.pe/bill\n  ose_username_format: dni",
     14, 24, "soap.ose_username_format", "Input should be 'ruc_user' or 'ruc'", "error"),
    ("soap-environment", "environment: production", "environment: live", 13, 16,
     "soap.environment", "Input should be 'demo', 'production' or 'internal'", "error"),
    ("production-needs-sol-user", "  sol_user: BASEUSER\n", "", 12, 3, "soap.sol_user",
     "sol_user is required for sunat production", "error"),
    ("smtp-encryption", "certificate: true\n",
     "certificate: true\nsmtp:\n  host: smtp.gmail.com\n  username: a@b.pe\n"
     "  encryption: starttls\n", 19, 15, "smtp.encryption",
     "Input should be 'ssl', 'tls' or 'none'", "error"),
    ("smtp-from-address", "certificate: true\n",
     "certificate: true\nsmtp:\n  host: smtp.gmail.com\n  username: a@b.pe\n"
     "  from_address: nobody\n", 19, 17, "smtp.from_address",
     "value is not a valid email address", "error"),
    ("smtp-host-required", "certificate: true\n", "certificate: true\nsmtp:\n  username: a@b.pe\n",
     17, 3, "smtp.host", "required field is missing", "error"),
    ("unknown-key-close-match", "plan: pyme\n", "plan: pyme\ncompnay: x\n", 6, 1, "compnay",
     "unknown field (did you mean: company_name?)", "error"),
    ("labels-shape", "plan: pyme\n", "plan: pyme\nlabels:\n  bad key: x\n", 7, 3,
     "labels.bad key", "does not match the expected format", "error"),
    ("duplicate-key", "certificate: true\n", "certificate: true\nplan: ilimitado\n", 16, 1,
     "plan", "duplicate key 'plan' (first at line 5)", "error"),
    ("file-named-after-subdomain", "subdomain: base", "subdomain: other", 3, 12, "subdomain",
     "the file must be named other.yaml", "error"),
    ("production-sunat-certificate", "certificate: true\n", "", 1, 1, "certificate",
     "set certificate: true", "warning"),
]


@pytest.mark.parametrize(("old", "new", "line", "column", "field", "message", "severity"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(spec_repo: Path, old: str, new: str, line: int, column: int, field: str,
              message: str, severity: str) -> None:
    assert old in BASE
    findings = check(spec_repo, BASE.replace(old, new, 1))
    matching = [f for f in findings if f.file == FILE and f.field == field and message in f.message]
    assert len(matching) == 1, findings
    found = matching[0]
    assert (found.line, found.column, found.severity) == (line, column, severity), str(found)


def test_password_value_is_never_echoed(spec_repo: Path) -> None:
    text = BASE + "admin_password: hunter2\nsoap_password: hunter3\n"
    findings = check(spec_repo, text)
    assert findings and not any("hunter" in str(f) for f in findings)


def test_real_looking_ruc_on_switchable_demo_warns(spec_repo: Path) -> None:
    demo = BASE.replace("environment: production\n  sol_user: BASEUSER", "environment: demo")
    switchable = check(spec_repo, demo.replace("allow_production_switch: false\n", ""))
    found = only(switchable, FILE, "ruc")
    assert (found.severity, found.line, found.column) == ("warning", 1, 6)
    assert "looks like a real RUC on a demo tenant" in found.message
    assert [f for f in check(spec_repo, demo) if f.file == FILE] == []


def test_prefix_16_is_accepted_in_production(spec_repo: Path) -> None:
    findings = check(spec_repo, BASE.replace('"20601112222"', '"16000000012"'))
    assert [f for f in findings if f.file == FILE] == []


def test_sunat_demo_needs_no_credentials(spec_repo: Path) -> None:
    text = BASE.replace("soap:\n  send: sunat\n  environment: production\n"
                        "  sol_user: BASEUSER\n", "soap:\n  environment: demo\n")
    text = text.replace('"20601112222"', '"20601112223"')  # invented RUC: a warning only
    findings = [f for f in check(spec_repo, text) if f.file == FILE]
    assert [(f.line, f.column, f.field, f.severity) for f in findings] == [
        (1, 6, "ruc", "warning")]
    assert "invalid check digit (expected 2) (accepted for a demo tenant)" in findings[0].message


def test_defaults_lowercase_and_trade_name(spec_repo: Path) -> None:
    check(spec_repo, BASE.replace("subdomain: base", "subdomain: BASE"))
    repo = load_repository(spec_repo)
    spec = repo.tenant("base").spec
    assert spec.subdomain == "base"
    assert spec.display_trade_name == "Comercial Base S.A.C."
    assert spec.allow_production_switch is False
    assert spec.user_type == "admin"


def test_reseller_reserved_subdomains(spec_repo: Path) -> None:
    reseller = spec_repo / "reseller.yaml"
    reseller.write_text(reseller.read_text() + "reserved_subdomains: [Base]\n")
    found = only(check(spec_repo, BASE), FILE, "subdomain")
    assert "'base' is reserved by the reseller file" in found.message
    assert (found.line, found.column) == (3, 12)


# ---------------------------------------------------------------------------- reseller file

def reseller_findings(repo: Path, text: str) -> list[Finding]:
    (repo / "reseller.yaml").write_text(text, encoding="utf-8")
    return [f for f in load_repository(repo).findings if f.file == "reseller.yaml"]


RESELLER_CASES = [
    ("base-domain", "base_domain: Facturador_Example", 1, 14, "base_domain",
     "does not match the expected format"),
    ("max-accounts-int", "base_domain: x.pe\nmax_accounts: many", 2, 15, "max_accounts",
     "Input should be a valid integer"),
    ("database-prefix", "base_domain: x.pe\ndatabase_prefix: Tenancy_DB", 2, 18,
     "database_prefix", "does not match the expected format"),
    ("platform-region", "base_domain: x.pe\nplatform:\n  region: lima", 3, 11,
     "platform.region", "does not match the expected format"),
    ("platform-secret-arn", "base_domain: x.pe\nplatform:\n  shared_database:\n"
     "    host: db.x.pe\n    admin_secret_arn: arn:aws:s3:::bucket", 5, 23,
     "platform.shared_database.admin_secret_arn", "does not match the expected format"),
    ("plan-shape", "base_domain: x.pe\nplans:\n  - name: Gold Plan", 3, 11, "plans[0].name",
     "does not match the expected format"),
    ("preset-modules", "base_domain: x.pe\npresets:\n  tienda: [documents, invetory]", 3, 23,
     "presets.tienda[1]", "unknown module 'invetory' (did you mean: inventory?)"),
    ("unknown-key", "base_domain: x.pe\nmax_acounts: 3", 2, 1, "max_acounts",
     "unknown field (did you mean: max_accounts?)"),
]


@pytest.mark.parametrize(("text", "line", "column", "field", "message"),
                         [c[1:] for c in RESELLER_CASES], ids=[c[0] for c in RESELLER_CASES])
def test_reseller_rule(spec_repo: Path, text: str, line: int, column: int, field: str,
                       message: str) -> None:
    found = only(reseller_findings(spec_repo, text + "\n"), "reseller.yaml", field)
    assert message in found.message
    assert (found.line, found.column) == (line, column), str(found)


def test_minimal_reseller_uses_default_catalog(spec_repo: Path) -> None:
    """Only what differs from the app is needed: the examples' plans and presets still exist."""
    (spec_repo / "reseller.yaml").write_text("base_domain: facturador.example.pe\n")
    repo = load_repository(spec_repo)
    assert repo.errors == []
    assert repo.catalog is not None and repo.reseller is not None
    assert {"ilimitado", "emprendedor", "pyme", "corporativo"} <= set(repo.catalog.plans)
    assert set(repo.catalog.presets) >= {"basico", "hotel", "farmacia", "restaurante"}
    assert (repo.reseller.max_accounts, repo.reseller.database_prefix) == (999, "tenancy")


def test_reseller_plan_is_usable_by_tenants(spec_repo: Path) -> None:
    reseller = spec_repo / "reseller.yaml"
    reseller.write_text(reseller.read_text().replace(
        "plans:\n", "plans:\n  - name: oro\n    pricing: 99\n"))
    assert [f for f in check(spec_repo, BASE.replace("plan: pyme", "plan: oro"))
            if f.severity == "error"] == []


def test_max_accounts_null_is_unlimited(spec_repo: Path) -> None:
    reseller = spec_repo / "reseller.yaml"
    reseller.write_text(reseller.read_text().replace("max_accounts: 50", "max_accounts: null"))
    assert load_repository(spec_repo).errors == []


# ---------------------------------------------------------------------------- across files

def test_max_accounts_cap_points_at_its_line(spec_repo: Path) -> None:
    reseller = spec_repo / "reseller.yaml"
    reseller.write_text(reseller.read_text().replace("max_accounts: 50", "max_accounts: 5"))
    found = only(load_repository(spec_repo).findings, "reseller.yaml", "max_accounts")
    assert "6 tenants for a cap of 5" in found.message
    assert (found.line, found.column) == (5, 15)


def test_subdomain_unique(spec_repo: Path) -> None:
    for sub in ("a", "b"):
        (spec_repo / "tenants" / sub).mkdir()
        ruc = {"a": "20601112222", "b": "20456789014"}[sub]
        (spec_repo / "tenants" / sub / "base.yaml").write_text(
            BASE.replace("20601112222", ruc).replace("Base", f"Base {sub}"))
    findings = load_repository(spec_repo).findings
    found = only(findings, "tenants/a/base.yaml", "subdomain")
    assert "subdomain already used by tenants/b/base.yaml" in found.message
    assert (found.line, found.column) == (3, 12)


def test_ruc_unique(spec_repo: Path) -> None:
    findings = check(spec_repo, BASE.replace('"20601112222"', '"20512333797"'))
    found = only(findings, FILE, "ruc")
    assert "RUC already used by tenants/ferreteriaandina.yaml" in found.message
    assert (found.line, found.column) == (1, 6)
    assert only(findings, "tenants/ferreteriaandina.yaml", "ruc").line == 3


def test_company_name_unique_ignoring_case_and_spaces(spec_repo: Path) -> None:
    findings = check(spec_repo, BASE.replace("Comercial Base S.A.C.", "HOTEL  el Sol de Cusco "
                                             "E.I.R.L."))
    found = only(findings, FILE, "company_name")
    assert "company name already used by tenants/hotelsol.yaml" in found.message
    assert (found.line, found.column) == (2, 15)


def test_single_file_still_checked_against_the_others(spec_repo: Path) -> None:
    """`validate tenants/x.yaml` must still see that x's RUC is taken by another tenant."""
    (spec_repo / "tenants" / "base.yaml").write_text(
        BASE.replace('"20601112222"', '"20512333797"'))
    repo = load_repository(paths=[spec_repo / "tenants" / "base.yaml"])
    assert {f.file for f in repo.findings} == {FILE}
    assert "RUC already used by tenants/ferreteriaandina.yaml" in repo.errors[0].message


# ---------------------------------------------------------------------------- YAML hazards

def test_alias_bomb_is_refused_quickly(spec_repo: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    bomb = BASE + "labels:\n" + "\n".join("  " + x for x in lines) + "\n"
    start = time.perf_counter()
    findings = [f for f in check(spec_repo, bomb) if f.file == FILE]
    assert time.perf_counter() - start < 5
    assert any("aliases (*name) expand this file to more than 100,000 values" in f.message
               for f in findings), findings


def test_recursive_alias_is_refused(spec_repo: Path) -> None:
    findings = check(spec_repo, BASE + "labels: &l {x: *l}\n")
    assert only(findings, FILE, "").message.startswith("an alias (*name) refers to a value")


@settings(max_examples=200, deadline=None)
@given(st.emails())
def test_email_fast_path_agrees_with_email_validator(address: str) -> None:
    """The fast path accepts exactly what pydantic's EmailStr accepts, and keeps the typed form
    (the app writes the e-mail as typed into users.email and establishments.email)."""
    from pydantic import TypeAdapter, ValidationError
    from pydantic.networks import EmailStr

    try:
        expected: str | None = TypeAdapter(EmailStr).validate_python(address)
    except ValidationError:
        expected = None
    try:
        got: str | None = validate_email_address(address)
    except ValueError:
        got = None
    assert got == (address if expected is not None else None)


OSE_DEMO_URL = "https://demo-ose.nubefact.com/ol-ti-itcpe/billService"


def test_an_ose_in_demo_needs_no_user_but_in_production_it_does(spec_repo: Path) -> None:
    """form.vue shows the user fields for an OSE in demo only when "Ingresar Usuario" is
    ticked (else it posts the admin's pre-filled ones); in production they are required."""
    demo = BASE.replace("soap:\n  send: sunat\n  environment: production\n"
                        "  sol_user: BASEUSER\n",
                        f"soap:\n  send: ose\n  environment: demo\n  ose_url: {OSE_DEMO_URL}\n")
    demo = demo.replace('"20601112222"', '"20601112223"')  # invented RUC: a warning only
    assert [(f.field, f.severity) for f in check(spec_repo, demo) if f.file == FILE] == [
        ("ruc", "warning")]
    production = demo.replace("environment: demo", "environment: production").replace(
        '"20601112223"', '"20601112222"')
    found = only(check(spec_repo, production), FILE, "soap.sol_user")
    assert "sol_user is required for ose production" in found.message


@pytest.mark.parametrize("send", ["sunat", "ose"])
@pytest.mark.parametrize("environment", ["demo", "production", "internal"])
@pytest.mark.parametrize("username_format", ["ruc_user", "ruc"])
@pytest.mark.parametrize("sol_user", [None, "USER1"])
def test_a_password_is_asked_exactly_when_a_user_is_sent(send, environment, username_format,
                                                         sol_user) -> None:
    """Every combination the model accepts: the SOL password is needed exactly when the
    username the app receives is the tenant's own (not MODDATOS, not the admin's pre-fill)."""
    from pydantic import ValidationError

    from provisioner.model.models import Soap, TenantSpec
    from provisioner.sunat.profile import soap_profile

    fields: dict = {"send": send, "environment": environment, "sol_user": sol_user}
    if send == "ose":
        fields |= {"ose_url": OSE_DEMO_URL, "ose_username_format": username_format}
    elif username_format == "ruc":
        return  # the format is an OSE's
    try:
        soap = Soap(**fields)
    except ValidationError:
        assert environment == "production" and sol_user is None and (
            send == "sunat" or username_format == "ruc_user")
        return
    spec = TenantSpec(ruc="20601112222", company_name="X S.A.C.", subdomain="x",
                      admin_email="a@x.pe", plan="pyme", soap=soap)
    profile = soap_profile(spec)
    if environment == "internal":
        assert not soap.needs_sol_password
    elif soap.needs_sol_password:
        assert profile.username is not None and profile.public_password is None
        assert "None" not in profile.username
    else:
        assert profile.username is None or profile.public_password is not None
