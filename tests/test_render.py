"""Rendering: golden files, quoting round-trips, secrets, SOAP codes and template errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import bcrypt
import dotenv
import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from provisioner.errors import TemplateError
from provisioner.model.models import TenantSpec
from provisioner.model.repository import Repository, load_repository
from provisioner.render.context import build_context
from provisioner.render.documents import masked_secrets, render_tenant, revealed_secrets
from provisioner.render.quoting import ENV_PRELUDE, env_quote
from provisioner.render.renderer import DOCUMENTS, Renderer, renderer_for
from provisioner.render.secrets import SecretValues
from provisioner.sunat.endpoints import SUNAT_ENDPOINTS, Service, Stage
from tests.conftest import EXAMPLES

GOLDEN = Path(__file__).parent / "golden"
BOOTSTRAP_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "bootstrap.schema.json")
                              .read_text(encoding="utf-8"))
EXAMPLE_TENANTS = sorted(p.stem for p in (EXAMPLES / "tenants").glob("*.yaml"))

REAL = {
    "PROVISIONER_SOL_PASSWORD": "Sol-Secret-4417",
    "PROVISIONER_SMTP_PASSWORD": "smtp pass 'with' $quotes\\",
    "PROVISIONER_ADMIN_PASSWORD": "Admin#Pass!2026",
    "PROVISIONER_CERTIFICATE": "-----BEGIN CERTIFICATE-----\nMIIBCERT\n-----END CERTIFICATE-----",
    "PROVISIONER_CERTIFICATE_PASSWORD": "cert-pass-8890",
    "PROVISIONER_DB_PASSWORD": "Db-Secret-1234",
    "PROVISIONER_API_TOKEN": "T" * 25 + "k" * 25,
}


@pytest.fixture(scope="module")
def examples() -> Repository:
    repo = load_repository(EXAMPLES)
    repo.raise_for_errors()
    return repo


def _render(repo: Repository, name: str, secrets: SecretValues | None = None) -> dict[str, str]:
    assert repo.reseller is not None and repo.catalog is not None
    spec = repo.tenant(name).spec
    return render_tenant(renderer_for(repo.reseller, repo.root), spec, repo.reseller,
                         repo.catalog, secrets or masked_secrets(spec))


def _env(text: str) -> dict[str, str | None]:
    return dict(dotenv.dotenv_values(stream=io.StringIO(text)))


@pytest.mark.parametrize("name", EXAMPLE_TENANTS)
def test_golden_files(examples: Repository, name: str) -> None:
    docs = _render(examples, name)
    for doc, text in docs.items():
        golden = GOLDEN / name / doc
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, encoding="utf-8")
        assert text == golden.read_text(encoding="utf-8"), f"{name}/{doc} differs from golden"


@pytest.mark.parametrize("name", EXAMPLE_TENANTS)
def test_bootstrap_matches_schema_and_spec(examples: Repository, name: str) -> None:
    doc = json.loads(_render(examples, name)["bootstrap.json"])
    jsonschema.validate(doc, BOOTSTRAP_SCHEMA)
    spec = examples.tenant(name).spec
    assert doc["client"]["number"] == spec.ruc == doc["company"]["number"]
    assert doc["company"]["trade_name"] == (spec.trade_name or spec.company_name)
    assert doc["user"]["type"] == spec.user_type
    assert doc["configuration"]["config_system_env"] is spec.allow_production_switch


def test_rendering_is_deterministic(examples: Repository) -> None:
    assert _render(examples, "ferreteriaandina") == _render(examples, "ferreteriaandina")


def test_sunat_demo_uses_moddatos_and_beta(examples: Repository) -> None:
    env = _env(_render(examples, "pruebademo")["tenant.env"])
    assert (env["SOAP_SEND"], env["SOAP_TYPE"]) == ("01", "01")
    assert env["SOAP_USERNAME"] == "20123456789MODDATOS"
    assert env["SOAP_PASSWORD"] == "moddatos"
    assert env["SOAP_URL_INVOICES"] == SUNAT_ENDPOINTS[Stage.BETA][Service.INVOICES]
    assert env["SOAP_URL_CDR_QUERY"] == ""
    assert "SOAP_URL" not in env


def test_sunat_production_uses_sol_user_and_production(examples: Repository) -> None:
    env = _env(_render(examples, "bodegaperez")["tenant.env"])
    assert (env["SOAP_SEND"], env["SOAP_TYPE"]) == ("01", "02")
    assert env["SOAP_USERNAME"] == "10054148289FACTURA1"
    assert env["SOAP_PASSWORD"] == "********"
    for service, key in ((Service.INVOICES, "SOAP_URL_INVOICES"),
                         (Service.OTHER_CPE, "SOAP_URL_RETENTIONS_PERCEPTIONS"),
                         (Service.DISPATCH, "SOAP_URL_DISPATCHES"),
                         (Service.CDR_QUERY, "SOAP_URL_CDR_QUERY")):
        assert env[key] == SUNAT_ENDPOINTS[Stage.PRODUCTION][service]


def test_reseller_can_send_production_to_the_alternate_server(examples: Repository) -> None:
    assert examples.reseller is not None and examples.catalog is not None
    reseller = examples.reseller.model_copy(update={"sunat_alternate_server": True})
    for name, stage in (("bodegaperez", Stage.PRODUCTION_ALTERNATE), ("pruebademo", Stage.BETA)):
        spec = examples.tenant(name).spec
        ctx = build_context(spec, reseller, examples.catalog, masked_secrets(spec),
                            db_host="db", db_port=3306)
        env = _env(renderer_for(reseller, examples.root).render("tenant.env", ctx))
        assert env["SOAP_URL_INVOICES"] == SUNAT_ENDPOINTS[stage][Service.INVOICES]


def test_ose_uses_its_url_and_username_format(examples: Repository) -> None:
    prod = _env(_render(examples, "ferreteriaandina")["tenant.env"])
    assert (prod["SOAP_SEND"], prod["SOAP_TYPE"]) == ("02", "02")
    assert prod["SOAP_USERNAME"] == "20512333797OSEUSER1"
    assert prod["SOAP_URL"] == prod["SOAP_URL_INVOICES"] == (
        "https://ose.nubefact.com/ol-ti-itcpe/billService")
    bare = _env(_render(examples, "contaapi")["tenant.env"])
    assert (bare["SOAP_SEND"], bare["SOAP_TYPE"]) == ("02", "01")
    assert bare["SOAP_USERNAME"] == "20000000001"
    boot = json.loads(_render(examples, "contaapi")["bootstrap.json"])
    assert boot["company"]["soap_url"] == "https://demo-ose.nubefact.com/ol-ti-itcpe/billService"


def test_plan_limits_modules_and_mailer(examples: Repository) -> None:
    env = _env(_render(examples, "bodegaperez")["tenant.env"])
    assert (env["LIMIT_DOCUMENTS"], env["LIMIT_USERS"]) == ("2000", "5")  # reseller's pyme
    assert env["LOCKED_EMISSION"] == "true" and env["CONFIG_SYSTEM_ENV"] == "false"
    modules = env["MODULES"].split(",")
    assert "pos" not in modules and "inventory" in modules
    assert env["MAIL_MAILER"] == "platform" and "MAIL_HOST" not in env
    hotel = json.loads(_render(examples, "hotelsol")["bootstrap.json"])
    assert "hotels" in hotel["user"]["modules"]
    assert "cash" in hotel["user"]["levels"] and "quotations" not in hotel["user"]["levels"]


def test_revealed_bcrypt_hash_verifies(examples: Repository) -> None:
    assert examples.reseller is not None
    spec = examples.tenant("contaapi").spec
    secrets, generated = revealed_secrets(spec, examples.reseller.model_copy(
        update={"bcrypt_cost": 4}), REAL)
    assert generated == []
    doc = json.loads(_render(examples, "contaapi", secrets)["bootstrap.json"])
    hashed = doc["user"]["password"]
    assert hashed.startswith("$2y$04$")
    assert bcrypt.checkpw(REAL["PROVISIONER_ADMIN_PASSWORD"].encode(),
                          ("$2b$" + hashed[4:]).encode())
    assert not bcrypt.checkpw(b"wrong", ("$2b$" + hashed[4:]).encode())


@pytest.mark.parametrize("name", EXAMPLE_TENANTS)
def test_masked_output_has_no_secret_but_revealed_has(run_cli, monkeypatch, name: str) -> None:
    for key, value in REAL.items():
        monkeypatch.setenv(key, value)
    code, masked, _ = run_cli("--repo", EXAMPLES, "render", name)
    assert code == 0
    for value in REAL.values():
        assert value not in masked
    code, revealed, _ = run_cli("--repo", EXAMPLES, "render", name, "--reveal")
    assert code == 0
    env = _env(revealed.split("# ---- bootstrap.json ----")[0])
    assert env["DB_PASSWORD"] == REAL["PROVISIONER_DB_PASSWORD"]
    assert REAL["PROVISIONER_API_TOKEN"] in revealed


def test_reveal_refuses_a_terminal_without_force(run_cli, monkeypatch) -> None:
    for key, value in REAL.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("provisioner.cli.output.is_terminal", lambda stream=None: True)
    code, out, err = run_cli("--repo", EXAMPLES, "render", "bodegaperez", "--reveal")
    assert code == 2 and "terminal" in err and out == ""
    code, out, _ = run_cli("--repo", EXAMPLES, "render", "bodegaperez", "--reveal", "--force")
    assert code == 0 and REAL["PROVISIONER_SOL_PASSWORD"] in out


def test_reveal_names_missing_environment_variables(run_cli, monkeypatch) -> None:
    monkeypatch.delenv("PROVISIONER_SOL_PASSWORD", raising=False)
    code, out, err = run_cli("--repo", EXAMPLES, "render", "ferreteriaandina", "--reveal")
    assert code == 1 and "PROVISIONER_SOL_PASSWORD" in err and out == ""


def test_out_writes_both_documents(run_cli, tmp_path: Path) -> None:
    code, _, _ = run_cli("--repo", EXAMPLES, "render", "nandu", "--out", tmp_path / "o")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(DOCUMENTS)


def _with_override(repo: Path, template: str, text: str) -> None:
    (repo / "overrides").mkdir()
    (repo / "overrides" / template).write_text(text, encoding="utf-8")
    reseller = repo / "reseller.yaml"
    reseller.write_text(reseller.read_text(encoding="utf-8") + "templates_dir: overrides\n",
                        encoding="utf-8")


def test_override_replaces_one_file_only(run_cli, repo: Path) -> None:
    _with_override(repo, "tenant.env.j2", "ONLY={{ tenant.subdomain | env }}\n")
    code, out, _ = run_cli("--repo", repo, "render", "nandu")
    assert code == 0
    assert "ONLY='nandu'\n" in out
    assert '"identity_document_type_id": "6"' in out  # bootstrap.json still the default


@pytest.mark.parametrize(("text", "expected"), [
    ("A=1\nB={{ tenant.nope }}\n", "tenant.env.j2:2: undefined variable"),
    ("A=1\n\n{% if %}\n", "tenant.env.j2:3: syntax error"),
    ("A=1\nB={{ tenant.subdomain | nosuchfilter }}\n", "tenant.env.j2:2: syntax error"),
    ("A=1\nB=2\nC={{ 1 // 0 }}\n", "tenant.env.j2:3: ZeroDivisionError"),
])
def test_template_errors_name_template_and_line(run_cli, repo: Path, text: str,
                                                expected: str) -> None:
    _with_override(repo, "tenant.env.j2", text)
    code, _, err = run_cli("--repo", repo, "render", "nandu")
    assert code == 1, err
    assert expected in err
    assert "Traceback" not in err


def test_missing_template_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not a directory"):
        Renderer(tmp_path / "nope")


# ---- env-file quoting round trips through python-dotenv and bash ----

env_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
                   max_size=60)


def _bash_reads(values: list[str], path: Path) -> list[str]:
    lines = [ENV_PRELUDE] + [f"V{i}={env_quote(v)}\n" for i, v in enumerate(values)]
    path.write_text("".join(lines), encoding="utf-8")
    script = f"source {path}; " + "; ".join(
        f"printf '%s\\0' \"$V{i}\"" for i in range(len(values)))
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    return out.decode("utf-8").split("\0")[:-1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(env_text, min_size=1, max_size=8))
@example(values=["${HOME}", "$HOME", "it's $5", "a\\b", "`id`", "x\ny", "#c", "\\'",
                 "${_PROV_DOLLAR}"])
def test_env_quote_round_trips_dotenv_and_bash(values: list[str], tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("env") / "t.env"
    text = ENV_PRELUDE + "".join(f"V{i}={env_quote(v)}\n" for i, v in enumerate(values))
    parsed = _env(text)
    assert [parsed[f"V{i}"] for i in range(len(values))] == values
    assert _bash_reads(values, path) == values


name_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Co", "Cn", "Zl", "Zp")),
                    min_size=1, max_size=80).map(str.strip).filter(bool)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(company=name_text, trade=name_text)
def test_rendered_names_round_trip(examples: Repository, company: str, trade: str,
                                   tmp_path_factory) -> None:
    assert examples.reseller is not None and examples.catalog is not None
    data = yaml.safe_load((EXAMPLES / "tenants" / "nandu.yaml").read_text(encoding="utf-8"))
    spec = TenantSpec.model_validate({**data, "company_name": company, "trade_name": trade})
    ctx = build_context(spec, examples.reseller, examples.catalog, masked_secrets(spec),
                        db_host="db", db_port=3306)
    text = renderer_for(examples.reseller, examples.root).render("tenant.env", ctx)
    env = _env(text)
    assert (env["TENANT_COMPANY_NAME"], env["TENANT_TRADE_NAME"]) == (company, trade)
    path = tmp_path_factory.mktemp("env") / "tenant.env"
    path.write_text(text, encoding="utf-8")
    out = subprocess.run(["bash", "-c", f"source {path}; printf '%s\\0%s' "
                          "\"$TENANT_COMPANY_NAME\" \"$TENANT_TRADE_NAME\""],
                         capture_output=True, check=True).stdout.decode("utf-8")
    assert out.split("\0") == [company, trade]
    assert json.loads(renderer_for(examples.reseller, examples.root)
                      .render("bootstrap.json", ctx))["company"]["trade_name"] == trade
