"""`provisioner form` in a real browser: Debian's headless chromium driven by Playwright fills
the "Nuevo cliente" form as an admin would, sees each class of error appear and clear, saves,
and the pull request's branch holds a file `provisioner validate` accepts. Screenshots go to
.artifacts/form/ (git-ignored)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.form_env import GITHUB_REPO, TOKEN, FormServers, Served, git

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / ".artifacts" / "form"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SOL_PASSWORD = "S0l-Pass-Never-Stored"
SMTP_PASSWORD = "Smtp-Pass-Never-Stored"
CERT_PASSWORD = "Cert-Pass-Never-Stored"
CERT_BODY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
SUNAT_NAME = "SUPERINTENDENCIA NACIONAL DE ADUANAS Y DE ADMINISTRACION TRIBUTARIA - SUNAT"


def _browser_or_skip() -> None:
    if CHROMIUM.is_file():
        return
    if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
        pytest.fail("chromium is needed in CI (scripts/test.sh installs it)", pytrace=False)
    pytest.skip("no /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `provisioner form` on a fresh repository (a git clone with a bare remote) and a
    GitHub stand-in; `edit(work)` changes the repository first."""
    with FormServers(tmp_path) as servers:
        yield servers.start


@pytest.fixture
def page() -> Iterator[object]:
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def shot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def login(page: object, served: Served) -> None:
    page.goto(served.url)  # type: ignore[attr-defined]
    page.get_by_label("Token de acceso").fill(served.token)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Entrar").click()  # type: ignore[attr-defined]
    page.wait_for_selector("#tenant-form")  # type: ignore[attr-defined]


def message(page: object, name: str) -> object:
    return page.locator(f"#msg-{name}")  # type: ignore[attr-defined]


def test_an_admin_fills_the_form_sees_errors_come_and_go_and_opens_a_pull_request(
        serve: Callable[..., Served], page: object, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    served = serve()
    before = served.repos.state()
    page.goto(served.url)
    expect(page.get_by_label("Token de acceso")).to_be_visible()
    page.get_by_label("Token de acceso").fill("wrong")
    page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_text("Token incorrecto.")).to_be_visible()
    login(page, served)
    expect(page.get_by_role("heading", name="Nuevo Cliente")).to_be_visible()
    shot(page, "empty")

    # RUC: an invalid check digit, then a RUC another tenant has, then a good one
    ruc = page.get_by_label("RUC", exact=True)
    ruc.fill("20131312956")
    expect(message(page, "ruc")).to_contain_text("invalid check digit")
    ruc.fill("20600055519")  # hotelsol's
    expect(message(page, "ruc")).to_contain_text("RUC already used by")
    ruc.fill("20131312955")
    expect(message(page, "ruc")).not_to_contain_text("already used")
    expect(message(page, "ruc")).not_to_contain_text("check digit")
    page.get_by_role("button", name="SUNAT").click()  # the padrón fills the company name
    expect(page.get_by_label("Nombre de la Empresa")).to_have_value(SUNAT_NAME)

    # a company name another tenant has, as the app's collation compares it
    name = page.get_by_label("Nombre de la Empresa")
    name.fill("HOTEL EL SOL  de cusco e.i.r.l.")
    expect(message(page, "company_name")).to_contain_text("company name already used")

    # subdomain: reserved, then taken, then free; the base domain is shown beside it
    expect(page.locator("#base-domain")).to_have_text(".facturador.example.pe")
    sub = page.get_by_label("Nombre de Subdominio")
    sub.fill("www")
    expect(message(page, "subdomain")).to_contain_text("reserved")
    sub.fill("hotelsol")
    expect(message(page, "subdomain")).to_contain_text("already used")
    page.get_by_label("Correo de Acceso").fill("ti@aduanas")
    expect(message(page, "email")).to_contain_text("not valid")
    # production needs a SOL user: the field appears, with its rule
    expect(page.get_by_label("SOAP Usuario")).to_be_hidden()
    page.get_by_label("SOAP Tipo").select_option("production")
    expect(page.get_by_label("SOAP Usuario")).to_be_visible()
    page.get_by_label("SOAP Usuario").fill("ADUANA-01")
    expect(message(page, "sol_user")).to_contain_text("letters and digits")
    expect(message(page, "company_name")).to_contain_text("company name already used")
    shot(page, "errors")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "errors-top.png"),  # the README's picture
                    clip={"x": 0, "y": 0, "width": 1100, "height": 620})

    name.fill(SUNAT_NAME)
    expect(message(page, "company_name")).to_have_text("")
    sub.fill("aduanas")
    expect(message(page, "subdomain")).to_have_text("")
    page.get_by_label("Correo de Acceso").fill("ti@aduanas.example.pe")
    expect(message(page, "email")).to_have_text("")
    page.get_by_label("SOAP Usuario").fill("ADUANA01")
    expect(message(page, "sol_user")).to_have_text("")
    page.get_by_label("SOAP Password", exact=True).fill(SOL_PASSWORD)

    # OSE shows its URL; back to SUNAT hides it again
    page.get_by_label("SOAP Envio").select_option("ose")
    expect(page.get_by_label("SOAP Url")).to_be_visible()
    page.get_by_label("SOAP Envio").select_option("sunat")
    expect(page.get_by_label("SOAP Url")).to_be_hidden()

    page.get_by_label("Plan", exact=True).select_option("pyme")
    expect(page.get_by_label("Plan", exact=True).locator("option:checked")).to_contain_text(
        "2,000 comprobantes")
    # a preset, then a module off and one on, and one level of a module off
    page.get_by_label("Hotel", exact=True).check()
    expect(page.locator("#m-hotels")).to_be_checked()
    expect(page.locator("#m-purchases")).not_to_be_checked()
    page.locator("#m-pos").uncheck()
    expect(page.locator("#l-pos-cash")).not_to_be_checked()
    page.locator("#m-ecommerce").check()
    page.locator("#l-documents-contracts").uncheck()
    yaml_box = page.locator("#yaml")
    expect(yaml_box).to_contain_text("preset: hotel")
    expect(yaml_box).to_contain_text("add: [ecommerce]")
    expect(yaml_box).to_contain_text("remove: [pos]")

    page.get_by_label("Usar un servidor de correo propio").check()
    expect(page.get_by_label("Dirección del host de correo")).to_have_value("smtp.gmail.com")
    page.get_by_label("Nombre de usuario de correo").fill("ti@aduanas.example.pe")
    page.get_by_label("Contraseña del usuario de correo").fill(SMTP_PASSWORD)
    cert = tmp_path / "aduanas.pfx"
    cert.write_text(CERT_BODY)
    page.get_by_label("Certificado pfx").set_input_files(str(cert))
    page.get_by_label("Contraseña certificado").fill(CERT_PASSWORD)
    expect(yaml_box).to_contain_text("certificate: true")
    expect(page.locator("#general")).to_have_text("")

    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(re.compile(r".*/saved/.*"))
    expect(page.get_by_role("heading", name="Pull request abierto")).to_be_visible()
    expect(page.locator("#pr-link")).to_have_attribute(
        "href", f"https://github.com/{GITHUB_REPO}/pull/1")
    steps = page.locator("#next-steps")
    expect(steps).to_contain_text("pulumi config set --secret --stack aduanas solPassword")
    expect(steps).to_contain_text("pulumi config set --secret --stack aduanas smtpPassword")
    expect(steps).to_contain_text("base64 -w0 certificate.pfx | pulumi config set")
    shot(page, "saved")
    result_html = page.content()

    # the branch on the remote holds a file `provisioner validate` accepts
    branch = "new-tenant/aduanas"
    assert branch in served.repos.remote_branches()
    text = served.repos.remote_file(branch, "tenants/aduanas.yaml")
    assert "preset: hotel" in text and "sol_user: ADUANA01" in text
    clone = tmp_path / "review"
    git(tmp_path, "clone", "--quiet", "--branch", branch, str(served.repos.bare), str(clone))
    checked = subprocess.run([sys.executable, "-m", "provisioner", "--repo", str(clone),
                              "validate"], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # the pull request as GitHub's API takes it
    assert served.github.problems == []
    (pull,) = served.github.pulls
    assert pull["body"]["title"] == f"Nuevo cliente: {SUNAT_NAME} (aduanas)"
    assert (pull["body"]["head"], pull["body"]["base"]) == (branch, "main")
    assert "tenants/aduanas.yaml" in pull["body"]["body"]
    assert "pulumi config set --secret --stack aduanas solPassword" in pull["body"]["body"]

    # secrets: nowhere, and the admin's checkout untouched
    history = git(served.repos.bare, "log", "-p", "--all")
    output = served.output()
    for secret in (SOL_PASSWORD, SMTP_PASSWORD, CERT_PASSWORD, "MIIEvQIBADANBgkq"):
        for where, haystack in (("file", text), ("history", history), ("page", result_html),
                                ("server output", output), ("pull request", str(pull))):
            assert secret not in haystack, f"{secret} in the {where}"
    assert TOKEN not in output
    assert served.repos.state() == before


def test_the_same_subdomain_again_is_refused_as_its_branch_exists(
        serve: Callable[..., Served], page: object) -> None:
    from playwright.sync_api import expect

    served = serve()
    git(served.repos.work, "branch", "new-tenant/nuevo")  # a pull request of the day before
    login(page, served)
    page.get_by_label("RUC", exact=True).fill("20100070970")
    page.get_by_label("Nombre de la Empresa").fill("Panadería Peña S.A.C.")
    page.get_by_label("Nombre de Subdominio").fill("nuevo")
    page.get_by_label("Correo de Acceso").fill("caja@pena.example.pe")
    page.get_by_label("Plan", exact=True).select_option("emprendedor")
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator("#general")).to_contain_text("branch new-tenant/nuevo already exists")
    assert served.repos.remote_branches() == ["main"]
    assert served.github.pulls == []


def test_the_account_cap_shows_above_the_form_and_clears_when_raised(
        serve: Callable[..., Served], page: object) -> None:
    from playwright.sync_api import expect

    def cap_at_six(work: Path) -> None:
        path = work / "reseller.yaml"
        path.write_text(path.read_text().replace("max_accounts: 50", "max_accounts: 6"))

    served = serve(cap_at_six)
    login(page, served)
    expect(page.locator("#general")).to_contain_text("Ha alcanzado el límite de clientes")
    reseller = served.repos.work / "reseller.yaml"
    reseller.write_text(reseller.read_text().replace("max_accounts: 6", "max_accounts: 7"))
    page.get_by_label("Nombre de Subdominio").fill("otro")
    expect(page.locator("#general")).to_have_text("")


def test_keyboard_alone_reaches_every_field_and_guardar_and_every_input_has_a_label(
        serve: Callable[..., Served], page: object) -> None:
    from playwright.sync_api import expect

    served = serve()
    login(page, served)
    unlabeled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.ariaLabel)
        .map(el => el.id || el.name)""")
    assert unlabeled == []
    page.locator("body").focus()
    reached: list[str] = []
    for _ in range(400):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.id")
        if focused == "f-smtp":
            page.keyboard.press("Space")  # the SMTP fields appear, reachable next
            expect(page.get_by_label("Dirección del host de correo")).to_be_visible()
        reached.append(focused)
        if focused == "save":
            break
    # a radio group is one Tab stop (its arrows choose within it), as in every browser
    visible = page.evaluate("""() => [...document.querySelectorAll(
        '#tenant-form input, #tenant-form select, #tenant-form button')]
        .filter(el => el.offsetParent !== null)
        .map(el => el.type === 'radio' ? 'radio:' + el.name : el.id)""")
    radios = {r: page.evaluate(f"""() => [...document.querySelectorAll(
        'input[name="{r[6:]}"]')].map(el => el.id)""") for r in visible if r.startswith("radio:")}
    missing = [v for v in dict.fromkeys(visible) if v not in reached and not (
        v in radios and set(radios[v]) & set(reached))]
    assert missing == [], missing
    assert "f-smtp_host" in reached and reached[-1] == "save"
    page.locator("#preset-none").focus()
    page.keyboard.press("ArrowRight")  # the first preset, chosen by keyboard, ticks its tree
    expect(page.locator("#preset-basico")).to_be_checked()
    expect(page.locator("#m-purchases")).not_to_be_checked()
    page.locator("#save").focus()
    page.keyboard.press("Enter")  # Guardar by keyboard: what is missing is said
    expect(message(page, "ruc")).to_contain_text("a value is required")
    expect(page.locator("#f-ruc")).to_be_focused()
