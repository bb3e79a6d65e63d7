"""`provisioner ruc lookup`: from the local index, or from an HTTP lookup service when there is
no index; warnings for taxpayers SUNAT would reject, clear errors and exit codes otherwise."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from provisioner.ruc.lookup import RucLookupError, lookup_http, taxpayer_from_json
from tests.padron_sample import padron_index as sample_index

Run = Callable[..., tuple[int, str, str]]

PADRON_ROWS = (
    "10054148289|PE?A QUISPE JUAN|BAJA DE OFICIO|NO HABIDO|080101|JR.|MANTAS|URB.|CENTRO|12|-|-"
    "|-|-|-|",
    "20600055519|HOTEL EL SOL DE CUSCO E.I.R.L.|ACTIVO|NO HALLADO SE MUDO DE DOMICILIO|080101"
    "|-|-|-|-|-|-|-|-|-|-|",
)


@pytest.fixture
def index(tmp_path: Path) -> Path:
    return sample_index(tmp_path, *PADRON_ROWS)


@pytest.fixture(autouse=True)
def _no_default_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the developer's own ~/.cache index."""
    monkeypatch.setenv("PROVISIONER_PADRON_INDEX", str(tmp_path / "no-index.sqlite3"))
    monkeypatch.delenv("PROVISIONER_RUC_LOOKUP_TOKEN", raising=False)


def test_lookup_prints_name_state_condition_and_address(index: Path, run_cli: Run) -> None:
    code, out, err = run_cli("ruc", "lookup", "20131312955", "--index", index)
    assert code == 0 and err == ""
    assert "Name:      SUPERINTENDENCIA NACIONAL DE ADUANAS" in out
    assert "State:     ACTIVO" in out and "Condition: HABIDO" in out
    assert "Address:   AV. GARCILASO DE LA VEGA NRO. 1472" in out
    assert "Ubigeo:    150115" in out


def test_lookup_json(index: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("ruc", "lookup", "10054148289", "--index", index, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "PEÑA QUISPE JUAN"
    assert data["address"] == "JR. MANTAS NRO. 12 URB. CENTRO"
    assert (data["state"], data["condition"], data["ubigeo"]) == ("BAJA DE OFICIO", "NO HABIDO",
                                                                  "080101")
    assert data["active_and_located"] is False


@pytest.mark.parametrize(("ruc", "shown"), [
    ("10054148289", "is BAJA DE OFICIO and NO HABIDO"),
    ("20600055519", "is ACTIVO and NO HALLADO SE MUDO DE DOMICILIO"),
])
def test_lookup_warns_when_not_active_and_located(index: Path, run_cli: Run, ruc: str,
                                                  shown: str) -> None:
    code, out, err = run_cli("ruc", "lookup", ruc, "--index", index)
    assert code == 0 and ruc in out
    assert err.startswith("warning: ") and shown in err and "ACTIVO and HABIDO" in err


def test_lookup_not_found(index: Path, run_cli: Run) -> None:
    code, out, err = run_cli("ruc", "lookup", "20512333797", "--index", index)
    assert (code, out) == (1, "")
    assert "RUC 20512333797 not found in the padrón index" in err


@pytest.mark.parametrize(("ruc", "why"), [
    ("123", "must be 11 digits"),
    ("2013131295A", "must be 11 digits"),
    ("20131312956", "invalid check digit (expected 5)"),
    ("99131312955", "prefix 99"),
])
def test_lookup_rejects_what_cannot_be_a_ruc(index: Path, run_cli: Run, ruc: str,
                                             why: str) -> None:
    code, out, err = run_cli("ruc", "lookup", ruc, "--index", index)
    assert code == 2 and out == ""
    assert "is not a valid RUC" in err and why in err


def test_lookup_without_index_or_service_says_how_to_get_one(
        tmp_path: Path, repo: Path, run_cli: Run) -> None:
    code, _, err = run_cli("--repo", repo, "ruc", "lookup", "20131312955")
    assert code == 1
    assert "no padrón index at" in err and "provisioner ruc import" in err
    assert "ruc_lookup_url" in err


def test_lookup_in_a_file_that_is_not_an_index(tmp_path: Path, run_cli: Run) -> None:
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_bytes(b"not sqlite at all" * 100)
    code, _, err = run_cli("ruc", "lookup", "20131312955", "--index", bogus)
    assert code == 1 and "is not a padrón index" in err and "Traceback" not in err


# ---- the HTTP lookup service ----------------------------------------------------------------

class _Service(http.server.BaseHTTPRequestHandler):
    """A lookup service in the style of the common Peruvian APIs (apis.net.pe v1)."""

    answers: ClassVar[dict[str, tuple[int, Any]]] = {}
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        ruc = self.path.rsplit("=", 1)[-1].rsplit("/", 1)[-1]
        status, body = self.answers.get(ruc, (404, {"error": "not found"}))
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


SUNAT_JSON = {
    "nombre": "SUPERINTENDENCIA NACIONAL DE ADUANAS Y DE ADMINISTRACION TRIBUTARIA - SUNAT",
    "tipoDocumento": "6", "numeroDocumento": "20131312955", "estado": "ACTIVO",
    "condicion": "HABIDO", "direccion": "AV. GARCILASO DE LA VEGA NRO. 1472",
    "ubigeo": "150115", "viaTipo": "AV.", "viaNombre": "GARCILASO DE LA VEGA",
    "zonaCodigo": "-", "zonaTipo": "-", "numero": "1472", "interior": "-", "lote": "-",
    "dpto": "-", "manzana": "-", "kilometro": "-", "distrito": "LINCE", "provincia": "LIMA",
    "departamento": "LIMA",
}


def _serve(context: ssl.SSLContext | None = None) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    _Service.seen = []
    _Service.answers = {
        "20131312955": (200, SUNAT_JSON),
        "20600055519": (200, {"success": True, "data": {
            "ruc": "20600055519", "nombre_o_razon_social": "HOTEL EL SOL DE CUSCO E.I.R.L.",
            "estado": "ACTIVO", "condicion": "NO HABIDO", "ubigeo": ["08", "0801", "080101"],
            "direccion_completa": "CAL. PLATEROS 345, CUSCO"}}),
        "10054148289": (200, b"<html>gateway error</html>"),
        "20512333797": (200, {"numeroDocumento": "20000000001", "nombre": "OTRA"}),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def service() -> Iterator[str]:
    yield from _serve()


def test_http_lookup_maps_the_answer_and_sends_the_token(service: str) -> None:
    found = lookup_http("20131312955", f"{service}/v1/ruc?numero={{ruc}}", "s3cret")
    assert found is not None
    assert found.name.startswith("SUPERINTENDENCIA") and found.is_active_and_located
    assert (found.ubigeo, found.via_name, found.number) == ("150115", "GARCILASO DE LA VEGA",
                                                            "1472")
    assert found.address == "AV. GARCILASO DE LA VEGA NRO. 1472"
    assert found.apartment == ""  # "departamento" is the region in these APIs, not a flat
    assert _Service.seen == [("/v1/ruc?numero=20131312955", "Bearer s3cret")]


def test_http_lookup_wrapped_answer_and_ruc_appended_to_the_path(service: str) -> None:
    found = lookup_http("20600055519", f"{service}/api/ruc", None)
    assert found is not None and _Service.seen == [("/api/ruc/20600055519", None)]
    assert (found.name, found.condition, found.ubigeo) == (
        "HOTEL EL SOL DE CUSCO E.I.R.L.", "NO HABIDO", "080101")
    assert found.address == "CAL. PLATEROS 345, CUSCO" and not found.is_active_and_located


def test_http_lookup_failures_are_clear(service: str) -> None:
    assert lookup_http("20100070970", f"{service}/ruc/{{ruc}}") is None  # 404: not found
    with pytest.raises(RucLookupError, match="did not answer JSON"):
        lookup_http("10054148289", f"{service}/ruc/{{ruc}}")
    with pytest.raises(RucLookupError, match="answered for RUC 20000000001, not 20512333797"):
        lookup_http("20512333797", f"{service}/ruc/{{ruc}}")
    _Service.answers["20131312955"] = (401, {"message": "Unauthorized"})
    with pytest.raises(RucLookupError, match=r"HTTP 401.*set PROVISIONER_RUC_LOOKUP_TOKEN"):
        lookup_http("20131312955", f"{service}/ruc/{{ruc}}")
    _Service.answers["20131312955"] = (500, {})
    with pytest.raises(RucLookupError, match="failed: HTTP 500"):
        lookup_http("20131312955", f"{service}/ruc/{{ruc}}")


def test_http_lookup_of_a_service_that_is_down() -> None:
    with pytest.raises(RucLookupError, match="did not answer: ConnectionError"):
        lookup_http("20131312955", "http://127.0.0.1:9/ruc/{ruc}", timeout=2)


@pytest.mark.parametrize("answer", [{"success": False, "message": "no existe"}, {}])
def test_service_answers_meaning_not_found(answer: dict[str, Any]) -> None:
    assert taxpayer_from_json("20131312955", answer, "test") is None


@pytest.fixture
def tls_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The service over https (reseller.yaml only accepts https URLs), trusted via
    REQUESTS_CA_BUNDLE as an operator behind a private CA would do."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    yield from _serve(context)


def test_cli_uses_the_service_from_reseller_yaml_when_there_is_no_index(
        repo: Path, tls_service: str, monkeypatch: pytest.MonkeyPatch, run_cli: Run) -> None:
    reseller = repo / "reseller.yaml"
    reseller.write_text(reseller.read_text(encoding="utf-8")
                        + f"ruc_lookup_url: {tls_service}/v1/ruc?numero={{ruc}}\n",
                        encoding="utf-8")
    monkeypatch.setenv("PROVISIONER_RUC_LOOKUP_TOKEN", "tok-123")
    code, out, err = run_cli("--repo", repo, "ruc", "lookup", "20131312955")
    assert code == 0, err
    assert "Name:      SUPERINTENDENCIA NACIONAL" in out and "Ubigeo:    150115" in out
    assert "Source:    lookup service https://127.0.0.1:" in out
    assert _Service.seen == [("/v1/ruc?numero=20131312955", "Bearer tok-123")]

    code, out, err = run_cli("--repo", repo, "ruc", "lookup", "20600055519")
    assert code == 0 and "warning:" in err and "NO HABIDO" in err

    code, _, err = run_cli("--repo", repo, "ruc", "lookup", "20100070970")
    assert code == 1 and "not found in the lookup service" in err
