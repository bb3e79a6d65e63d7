"""Hostile and careless input. Each class of defect is tested as a class (hypothesis
over Unicode categories, control characters and YAML scalars), not only by its first example.
"""

from __future__ import annotations

import json
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.errors import Finding
from provisioner.model.catalog import DEFAULT_CATALOG
from provisioner.model.models import ResellerSpec
from provisioner.model.repository import LoadedTenant, parse_tenant
from provisioner.model.rules import is_ascii_digits, ruc_problem
from provisioner.model.yaml_parse import SpecLoader as _SpecLoader
from provisioner.model.yaml_source import Source
from provisioner.safe_text import escape_controls, printable_problem, redact_userinfo, shorten

Run = Callable[..., tuple[int, str, str]]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RESELLER = ResellerSpec(base_domain="facturador.example.pe")
SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
PRODUCTION = ("ruc: '20131312955'\ncompany_name: SUNAT\nsubdomain: base\n"
              "admin_email: a@example.pe\nplan: pyme\n"
              "soap: {environment: production, sol_user: FACTURA1}\ncertificate: true\n")


def parse(text: str, name: str = "base.yaml") -> tuple[LoadedTenant | None, list[Finding]]:
    return parse_tenant(Source(Path(name), text), RESELLER, DEFAULT_CATALOG)


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def with_line(text: str, key: str, line: str) -> str:
    """`text` with the top-level `key:` line replaced by `line`."""
    out = [line if raw.startswith(f"{key}:") else raw for raw in text.splitlines()]
    if line not in out:
        out.append(line)
    return "\n".join(out) + "\n"


def test_base_spec_is_valid() -> None:
    loaded, findings = parse(PRODUCTION)
    assert loaded is not None and not errors(findings)


# --- ASCII digits ---------------------------------------------------------------------------

NON_ASCII_DIGITS = st.characters(whitelist_categories=("Nd",)).filter(lambda c: not c.isascii())


@SETTINGS
@given(digit=NON_ASCII_DIGITS, position=st.integers(0, 10))
def test_a_unicode_digit_never_passes_as_a_ruc_digit(digit: str, position: int) -> None:
    ruc = "20131312955"
    spelled = ruc[:position] + digit + ruc[position + 1:]
    assert ruc_problem(spelled) is not None
    loaded, findings = parse(with_line(PRODUCTION, "ruc", f"ruc: '{spelled}'"))
    assert loaded is None
    assert any(f.field == "ruc" for f in errors(findings))


@given(st.text(max_size=14))
def test_ascii_digits_helper_is_exactly_0_to_9(text: str) -> None:
    assert is_ascii_digits(text) == (bool(text) and all("0" <= c <= "9" for c in text))


def test_full_width_ruc_is_not_a_second_spelling(repo: Path, run_cli: Run) -> None:
    text = (repo / "tenants" / "bodegaperez.yaml").read_text(encoding="utf-8")
    full = "".join(chr(ord(c) - ord("0") + 0xFF10) for c in "10054148289")
    twin = text.replace('"10054148289"', f'"{full}"').replace("bodegaperez", "bodegatwin")
    (repo / "tenants" / "bodegatwin.yaml").write_text(twin, encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 1 and "tenants/bodegatwin.yaml" in err and "ruc" in err


def test_company_names_compare_by_normalised_form(repo: Path, run_cli: Run) -> None:
    text = (repo / "tenants" / "bodegaperez.yaml").read_text(encoding="utf-8")
    # full-width capitals and a decomposed é: the same razón social to the app's users
    other = unicodedata.normalize("NFD", "ＰÉＲＥＺ   quispe JUAN")
    twin = (text.replace("Pérez Quispe Juan", other).replace("bodegaperez", "bodegatwin")
            .replace('"10054148289"', '"20131312955"'))
    (repo / "tenants" / "bodegatwin.yaml").write_text(twin, encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 1 and "company name already used by" in err


# --- printable names ------------------------------------------------------------------------

# the BMP: json.dumps writes astral characters as surrogate pairs, which YAML refuses earlier
UNPRINTABLE = st.characters(whitelist_categories=("Cc", "Cf", "Co", "Zl", "Zp"),
                            max_codepoint=0xFFFF)


@SETTINGS
@given(bad=UNPRINTABLE, position=st.integers(1, 5),
       field=st.sampled_from(["company_name", "trade_name"]))
def test_control_and_invisible_characters_are_refused_in_names(bad: str, position: int,
                                                               field: str) -> None:
    name = "Bodega"[:position] + bad + "Bodega"[position:]
    line = f"{field}: {json.dumps(name)}"  # a YAML double-quoted scalar with \\u escapes
    loaded, findings = parse(with_line(PRODUCTION, field, line))
    assert loaded is None
    found = [f for f in errors(findings) if f.field == field]
    assert found and "control or invisible character" in found[0].message
    for f in findings:  # the message names the character, it never contains it
        assert str(f).isprintable()


def test_a_cr_in_a_name_is_refused_not_mangled_in_tenant_env() -> None:
    loaded, findings = parse(with_line(PRODUCTION, "company_name", 'company_name: "A\\rB"'))
    assert loaded is None and "U+000D" in str(errors(findings)[0])


@SETTINGS
@given(st.text(min_size=1, max_size=30))
def test_printable_helper_agrees_with_unicode_categories(text: str) -> None:
    bad = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
    assert (printable_problem(text) is None) == all(
        unicodedata.category(c) not in bad for c in text)


# --- escaping everything printed ------------------------------------------------------------

@SETTINGS
@given(file=st.text(max_size=20), field=st.text(max_size=20), message=st.text(max_size=40))
def test_no_finding_prints_a_control_character_or_a_workflow_command(
        file: str, field: str, message: str) -> None:
    line = str(Finding(file, 1, 1, field, message))
    assert line.isprintable()
    assert not line.startswith("::")
    assert "\n" not in Finding(file, 1, 1, field, message).as_dict()["field"]


def test_a_key_with_a_newline_cannot_write_a_workflow_command(repo: Path, run_cli: Run) -> None:
    path = repo / "tenants" / "nandu.yaml"
    path.write_text(path.read_text(encoding="utf-8")
                    + '"x\\n::error file=README.md::pwned": 1\n', encoding="utf-8")
    code, out, err = run_cli("--repo", repo, "validate")
    assert code == 1
    for line in (out + err).splitlines():
        assert not line.startswith("::") and line.isprintable()
    assert "x\\n::error" in err  # shown, escaped


def test_file_names_are_escaped_too(repo: Path, run_cli: Run) -> None:
    (repo / "tenants" / "a\x1b[31m.yaml").write_text("ruc: 1\n", encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 1 and "\x1b" not in err and "a\\x1b[31m.yaml" in err


@given(st.text(max_size=300), st.text(min_size=4, max_size=20).filter(str.strip))
def test_shorten_redacts_before_it_normalises_or_cuts(text: str, secret: str) -> None:
    message = text + secret + text
    shown = shorten(message, 120, lambda t: t.replace(secret, "[REDACTED]"))
    assert " ".join(secret.split()) not in shown or " ".join(secret.split()) in " ".join(
        (text.replace(secret, "")).split())
    assert escape_controls(shown) == shown


# --- YAML 1.1 scalars that change type ------------------------------------------------------

YAML11_BOOLS = ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "On", "OFF", "Y", "N"]
YAML11_NUMBERS = ["0755", "010", "1_000", "0b101", "1:30", "+0o7"]


@pytest.mark.parametrize("word", YAML11_BOOLS)
def test_yaml11_boolean_for_a_boolean_field_is_an_error_that_says_what_to_write(
        word: str) -> None:
    loaded, findings = parse(with_line(PRODUCTION, "limit_emission", f"limit_emission: {word}"))
    assert loaded is None
    (f,) = [f for f in errors(findings) if f.field == "limit_emission"]
    assert "YAML 1.1" in f.message and "write " in f.message


@SETTINGS
@given(word=st.sampled_from(YAML11_BOOLS + YAML11_NUMBERS),
       field=st.sampled_from(["port", "max_accounts", "bcrypt_cost"]))
def test_yaml11_scalar_never_becomes_a_number(word: str, field: str) -> None:
    if field == "port":
        text = PRODUCTION + f"smtp: {{host: smtp.example.pe, username: u, port: {word}}}\n"
        _, findings = parse(text)
    else:
        from provisioner.model.repository import _load_reseller

        path = Path("/nonexistent")  # parse from text through a Source
        source = Source(path, f"base_domain: x.example.pe\n{field}: {word}\n")
        from provisioner.model import yaml_source

        data = yaml_source.parse_mapping(source)
        assert isinstance(data, dict) and isinstance(data[field], str)
        del _load_reseller
        try:
            spec = ResellerSpec.model_validate(data)
        except Exception:
            return  # refused: fine
        findings = source.ambiguity_findings(spec, [])
    assert any(f.severity == "error" for f in findings), findings


def test_yaml_octal_ruc_is_kept_as_written_with_a_hint_to_quote_it() -> None:
    _, findings = parse(with_line(PRODUCTION, "ruc", "ruc: 01234567012"))
    messages = " ".join(f.message for f in findings if f.field == "ruc")
    assert "01234567012" in messages and "quote it" in messages
    assert "167374346" not in messages  # the octal reading is only named as YAML 1.1's


def test_yaml11_text_for_a_text_field_is_a_warning() -> None:
    loaded, findings = parse(with_line(PRODUCTION, "trade_name", "trade_name: yes"))
    assert loaded is not None and loaded.spec.trade_name == "yes"
    assert [f.severity for f in findings if f.field == "trade_name"] == ["warning"]


@SETTINGS
@given(st.recursive(st.one_of(st.sampled_from(YAML11_BOOLS + YAML11_NUMBERS + ["true", "12",
                                                                                "1.5", "~"]),
                              st.text(max_size=5)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=4), inner,
                                                            max_size=3)), max_leaves=10))
def test_loader_equals_pyyaml_except_that_ambiguous_scalars_stay_text(value: object) -> None:
    text = yaml.safe_dump({"v": value}, default_style=None, allow_unicode=True)
    text = text.replace("'", "")  # unquote, so YAML 1.1-only forms appear plain
    try:
        expected = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return
    loader = _SpecLoader(text)
    try:
        got = loader.get_single_data()
    finally:
        loader.dispose()

    def same(a: object, b: object) -> bool:
        if isinstance(a, dict) and isinstance(b, dict):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a.values(), b.values(),
                                                                          strict=True))
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        return a == b or (isinstance(a, str) and not isinstance(b, str))

    assert same(got, expected)


# --- secrets in keys and URLs ---------------------------------------------------------------

@pytest.mark.parametrize("key", ["db_password", "SMTP_PASSWD", "api-token", "Clave_SOL",
                                 "client_secret", "ContrasenaSOL"])
def test_a_secret_named_label_is_an_error(key: str) -> None:
    loaded, findings = parse(PRODUCTION + f"labels: {{{key}: hunter2}}\n")
    assert loaded is None
    assert any("passwords never go in a spec file" in f.message for f in errors(findings))


def test_a_secret_named_reseller_tag_is_an_error(repo: Path, run_cli: Run) -> None:
    path = repo / "reseller.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  db_password: hunter2\n",
                    encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 1 and "reseller.yaml" in err and "passwords never go" in err
    assert "hunter2" not in err


@pytest.mark.parametrize("url", ["https://user:s3cr3tpw@ose.example.pe/billService",
                                 "https://s3cr3tpw@ose.example.pe/bill Service"])
def test_a_url_with_credentials_is_refused_without_echoing_them(url: str) -> None:
    text = PRODUCTION.replace("soap: {environment: production, sol_user: FACTURA1}",
                              f"soap: {{send: ose, environment: production, sol_user: U1, "
                              f"ose_url: '{url}'}}")
    loaded, findings = parse(text)
    assert loaded is None
    assert any(f.field == "soap.ose_url" for f in errors(findings))
    assert "s3cr3tpw" not in " ".join(str(f) for f in findings)


@given(st.text(st.characters(blacklist_characters="@/?# \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85"
                             "\xa0\u2028\u2029"), min_size=6, max_size=20)
       .filter(lambda t: not any(c.isspace() for c in t)))
def test_userinfo_redaction(secret: str) -> None:
    shown = redact_userinfo(f"see https://u:{secret}@h.example.pe/x and more")
    assert shown == "see https://***@h.example.pe/x and more"


# --- AWS tag rules --------------------------------------------------------------------------

def test_aws_prefix_is_reserved() -> None:
    loaded, findings = parse(PRODUCTION + "labels: {'aws:team': x}\n")
    assert loaded is None and any("'aws:' is reserved" in f.message for f in findings)


def test_more_than_50_tags_is_an_error() -> None:
    labels = ", ".join(f"k{i}: v" for i in range(46))
    loaded, findings = parse(PRODUCTION + f"labels: {{{labels}}}\n")
    assert loaded is None and any("AWS allows at most 50" in f.message for f in findings)
    labels = ", ".join(f"k{i}: v" for i in range(45))
    assert parse(PRODUCTION + f"labels: {{{labels}}}\n")[0] is not None


def test_a_label_named_like_a_stack_tag_is_an_error() -> None:
    loaded, findings = parse(PRODUCTION + "labels: {tenant: other}\n")
    assert loaded is None and any("the stack sets itself" in f.message for f in findings)


# --- reseller file --------------------------------------------------------------------------

def test_a_plan_or_module_defined_twice_is_an_error(repo: Path, run_cli: Run) -> None:
    path = repo / "reseller.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "plans:\n", "plans:\n  - {name: pyme, pricing: 1}\n")
    text += "modules:\n  - {value: extra, label: A}\n  - {value: extra, label: B}\n"
    path.write_text(text, encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 1
    assert "plans[1].name: plan 'pyme' is defined twice (first at plans[0])" in err
    assert "modules[1].value: module 'extra' is defined twice" in err


def test_reseller_yml_beside_reseller_yaml_is_an_error(repo: Path, run_cli: Run) -> None:
    (repo / "reseller.yml").write_text("base_domain: other.example.pe\n", encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 1 and "reseller.yaml and reseller.yml both exist" in err


@pytest.mark.parametrize("name", ["nuevo.YAML", "nuevo.Yml", "Reseller.yaml"])
def test_a_yaml_file_in_another_letter_case_is_an_error_not_silence(
        repo: Path, run_cli: Run, name: str) -> None:
    where = repo if name.startswith("Reseller") else repo / "tenants"
    (where / name).write_text("ruc: 1\n", encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 1 and name in err and "not read" in err


@pytest.mark.parametrize(("value", "words"), [
    ("missing", "no such directory"), ("..", "inside the spec repository"),
    ("/etc", "inside the spec repository"), ("link", "inside the spec repository")])
def test_templates_dir_must_be_a_directory_inside_the_repository(
        repo: Path, run_cli: Run, value: str, words: str) -> None:
    (repo / "link").symlink_to("/tmp")
    path = repo / "reseller.yaml"
    path.write_text(path.read_text(encoding="utf-8") + f"templates_dir: {value}\n",
                    encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 1 and "templates_dir" in err and words in err
    code, _, err = run_cli("--repo", repo, "render", "nandu")
    assert code == 1 and "templates_dir" in err


def test_repo_flag_never_walks_up_to_a_parent(repo: Path, run_cli: Run) -> None:
    (repo / "sub").mkdir()
    code, _, err = run_cli("--repo", repo / "sub", "validate")
    assert code == 1 and "no reseller file" in err


@pytest.mark.parametrize(("cost", "ok"), [(15, True), (16, False), (31, False), (3, False)])
def test_bcrypt_cost_is_bounded(repo: Path, run_cli: Run, cost: int, ok: bool) -> None:
    path = repo / "reseller.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("bcrypt_cost: 10",
                                                             f"bcrypt_cost: {cost}"),
                    encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert (code == 0) is ok, err


@pytest.mark.parametrize("cap", ["0", "-1", "null"])
def test_max_accounts_zero_or_less_means_no_cap(repo: Path, run_cli: Run, cap: str) -> None:
    path = repo / "reseller.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("max_accounts: 50",
                                                             f"max_accounts: {cap}"),
                    encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 0, err


def test_new_counts_every_tenant_file_like_validate(repo: Path, run_cli: Run) -> None:
    (repo / "tenants" / "broken.yaml").write_text("ruc: 1\n", encoding="utf-8")
    files = len(list((repo / "tenants").glob("*.yaml")))
    path = repo / "reseller.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("max_accounts: 50",
                                                             f"max_accounts: {files}"),
                    encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "new", "--no-input", "--no-lookup", "--ruc",
                           "20999999991", "--company-name", "Nueva SAC", "--subdomain", "nueva",
                           "--email", "a@nueva.example.pe", "--plan", "pyme", "--dry-run")
    assert code == 1 and "límite de clientes" in err and f"{files + 1} tenants" in err


def test_ose_usernames_are_free_text_sunat_sol_users_are_not() -> None:
    ose = PRODUCTION.replace(
        "soap: {environment: production, sol_user: FACTURA1}",
        "soap: {send: ose, environment: production, sol_user: 'ose.user-01@acme',"
        " ose_url: 'https://ose.example.pe/billService'}")
    assert parse(ose)[0] is not None
    loaded, findings = parse(PRODUCTION.replace("sol_user: FACTURA1", "sol_user: 'FACT.1'"))
    assert loaded is None and any(f.field == "soap.sol_user" for f in errors(findings))


# --- misleading messages and hostile sizes --------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_files_are_named_as_such(tmp_path: Path, encoding: str) -> None:
    from provisioner.model.yaml_source import read_source

    path = tmp_path / "t.yaml"
    path.write_bytes(PRODUCTION.encode(encoding))
    found = read_source(path)
    assert isinstance(found, Finding)
    assert encoding.split("-")[0].upper().replace("UTF", "UTF-") in found.message
    assert "save the file as UTF-8" in found.message


def test_one_more_problems_line_whatever_the_mix(tmp_path: Path) -> None:
    text = PRODUCTION + "".join(f"unknown{i}: 1\n" for i in range(80)) + "plan: x\n" * 30
    _, findings = parse(text)
    more = [f for f in findings if "more problems" in f.message]
    assert len(more) == 1
    shown = len(findings) - 1
    # 80 unknown keys, 30 duplicates, and the unknown plan 'x' (reported with the rest)
    assert f"and {80 + 30 + 1 - shown:,} more" in more[0].message


def test_a_file_of_generated_lines_is_refused_before_parsing() -> None:
    for text in ("k: 1\n" * 20_000, "{" + "k: 1, " * 20_000 + "}\n"):
        loaded, findings = parse(text)
        assert loaded is None and len(findings) == 1
        assert "a spec file holds at most 10,000" in findings[0].message


def test_many_duplicate_keys_are_counted_not_each_walked() -> None:
    text = PRODUCTION + "k: 1\n" * 9_000
    _, findings = parse(text)
    more = [f for f in findings if "more problems" in f.message]
    assert len(more) == 1 and len(findings) <= 51
    assert "duplicate key 'k'" in findings[0].message or any(
        "duplicate key 'k'" in f.message for f in findings)


# --- render --out ---------------------------------------------------------------------------

def test_render_out_never_writes_through_a_planted_symlink(repo: Path, run_cli: Run,
                                                           tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("untouched", encoding="utf-8")
    for name in ("tenant.env", "bootstrap.json"):
        (out / f".{name}.tmp").symlink_to(victim)
    monkeypatch.setenv("PROVISIONER_SMTP_PASSWORD", "smtp-secret-1")
    code, _, err = run_cli("--repo", repo, "render", "nandu", "--out", out, "--reveal")
    assert code == 0, err
    assert victim.read_text(encoding="utf-8") == "untouched"
    assert (out / "tenant.env").stat().st_mode & 0o777 == 0o600
    assert "smtp-secret-1" in (out / "tenant.env").read_text(encoding="utf-8")


def test_render_out_is_all_or_nothing(repo: Path, run_cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "tenant.env").write_text("previous", encoding="utf-8")
    (out / "bootstrap.json").mkdir()  # the second document cannot be written
    code, _, err = run_cli("--repo", repo, "render", "nandu", "--out", out)
    assert code == 1 and "bootstrap.json" in err
    assert (out / "tenant.env").read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in out.iterdir()) == ["bootstrap.json", "tenant.env"]


def test_render_out_rolls_back_when_a_rename_fails(repo: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from provisioner.cli import render

    out = tmp_path / "out"
    out.mkdir()
    (out / "tenant.env").write_text("previous", encoding="utf-8")
    real = os.replace
    calls = []

    def failing(src: object, dst: object) -> None:
        calls.append(dst)
        if str(dst).endswith("bootstrap.json"):
            raise OSError(28, "No space left on device")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError):
        render._write_all(out, {"tenant.env": "new", "bootstrap.json": "{}"}, private=False)
    monkeypatch.setattr(os, "replace", real)
    assert (out / "tenant.env").read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in out.iterdir()) == ["tenant.env"]


def test_admin_password_shorter_than_6_is_refused(repo: Path, run_cli: Run,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_ADMIN_PASSWORD", "12345")
    monkeypatch.setenv("PROVISIONER_SMTP_PASSWORD", "x")
    code, out, err = run_cli("--repo", repo, "render", "nandu", "--reveal")
    assert code == 1 and "at least 6" in err and "12345" not in out + err


def test_per_tenant_alternate_server(repo: Path, run_cli: Run) -> None:
    path = repo / "tenants" / "hotelsol.yaml"
    code, out, _ = run_cli("--repo", repo, "render", "hotelsol", "--template", "tenant.env")
    assert code == 0 and "SOAP_URL_INVOICES='https://e-factura.sunat.gob.pe" in out
    path.write_text(path.read_text(encoding="utf-8") + "sunat_alternate_server: true\n",
                    encoding="utf-8")
    code, out, _ = run_cli("--repo", repo, "render", "hotelsol", "--template", "tenant.env")
    assert code == 0 and "SOAP_URL_INVOICES='https://www.sunat.gob.pe/" in out


# --- plan --list ----------------------------------------------------------------------------

def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_plan_list_refuses_a_stack_name_that_is_not_a_subdomain(repo: Path, run_cli: Run
                                                                ) -> None:
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.email=t@e.pe", "-c", "user.name=t", "add", "-A")
    _git(repo, "-c", "user.email=t@e.pe", "-c", "user.name=t", "commit", "-qm", "base")
    (repo / "tenants" / "evil.yaml").write_text(
        'subdomain: "x\\n::error::pwned"\nruc: 1\n', encoding="utf-8")
    _git(repo, "-c", "user.email=t@e.pe", "-c", "user.name=t", "add", "-A")
    _git(repo, "-c", "user.email=t@e.pe", "-c", "user.name=t", "commit", "-qm", "evil")
    code, out, err = run_cli("--repo", repo, "plan", "--list", "--base", "HEAD~1",
                             "--format", "json")
    assert code == 1 and out == ""
    assert "stack name" in err
    for line in err.splitlines():
        assert not line.startswith("::")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(key=st.text(min_size=1, max_size=12), value=st.text(max_size=12),
       fmt=st.sampled_from(["text", "json"]))
def test_validate_output_is_printable_whatever_the_keys(repo: Path, run_cli: Run, key: str,
                                                       value: str, fmt: str) -> None:
    path = repo / "tenants" / "nandu.yaml"
    base = (EXAMPLES / "tenants" / "nandu.yaml").read_text(encoding="utf-8")
    path.write_text(base + f"{json.dumps('::' + key)}: {json.dumps(value)}\n"
                    f"labels: {{{json.dumps(key)}: {json.dumps(value)}}}\n", encoding="utf-8")
    code, out, err = run_cli("--repo", repo, "validate", "--format", fmt)
    assert code in (0, 1)
    for line in (out + err).splitlines():
        assert line.isprintable() and not line.startswith("::"), line
