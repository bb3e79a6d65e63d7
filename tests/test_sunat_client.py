"""The SOAP client and the fault classification, through zeep over real HTTP to an emulator."""

from __future__ import annotations

import logging
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from sunat_emulator import PASSWORD_TEXT, SUNAT_NS, Emulator

from provisioner.sunat.classify import (
    EXIT_CODES,
    EXIT_NO_PASSWORD,
    Verdict,
    classify_exception,
    sunat_code,
)
from provisioner.sunat.client import (
    BILL_CONSULT_WSDL,
    BILL_SERVICE_WSDL,
    MADE_UP_TICKET,
    REDACTED,
    RedactingFilter,
    RetryPolicy,
    Timeouts,
    bill_consult_service,
    check_credentials,
    redacted_logging,
)
from tests.reference_files import SUNAT_WSDL, require

USER, PASSWORD = "20000000001MODDATOS", "moddatos"
FAST = Timeouts(connect=2.0, read=0.5)


@pytest.fixture
def sunat() -> Iterator[Emulator]:
    emulator = Emulator(accounts={USER: PASSWORD}, slow_seconds=3.0).start()
    yield emulator
    emulator.stop()


def check(emulator: Emulator, retries: int = 0, password: str = PASSWORD,
          sleeps: list[float] | None = None, url: str | None = None) -> tuple[Verdict, str, int]:
    result = check_credentials(url or emulator.url, USER, password, timeouts=FAST,
                               retry=RetryPolicy(retries=retries, backoff=0.01),
                               sleep=(sleeps.append if sleeps is not None else lambda _: None))
    return result.outcome.verdict, result.outcome.sentence, result.attempts


A, B, P, U = Verdict.ACCEPTED, Verdict.BAD_CREDENTIALS, Verdict.NO_PROFILE, Verdict.UNAVAILABLE
FAULT_TABLE = {  # shared/reference/sunat.md, "Fault codes"
    "0100": U, "0101": B, "0102": B, "0103": B, "0104": B, "0105": B, "0106": B, "0109": U,
    "0110": U, "0111": P, "0112": P, "0113": P, "0125": A, "0126": A,
    "0127": A, **{f"{n:04d}": U for n in range(130, 139)}, "0200": U,
}


@pytest.mark.parametrize(("code", "verdict"), sorted(FAULT_TABLE.items()))
def test_each_sunat_fault_code_gets_its_class(sunat: Emulator, code: str,
                                              verdict: Verdict) -> None:
    sunat.scenario = f"fault:{code}"
    got, sentence, attempts = check(sunat)
    assert got is verdict
    assert code in sentence  # the operator sees which code SUNAT gave
    assert attempts == 1 and len(sunat.requests) == 1


@pytest.mark.parametrize(("scenario", "verdict", "words"), [
    ("status:0127", Verdict.ACCEPTED, "accepted"),
    ("status:0126", Verdict.ACCEPTED, "accepted"),
    ("status:0104", Verdict.BAD_CREDENTIALS, "password is wrong"),
    ("status:0113", Verdict.NO_PROFILE, "cannot send"),
    ("status:0", Verdict.UNEXPECTED, "real ticket"),
    ("empty", Verdict.REJECTED, "empty body"),
    ("slow", Verdict.UNREACHABLE, "timeout"),
    ("http500", Verdict.UNAVAILABLE, "HTTP 500"),
    ("http500-empty", Verdict.UNAVAILABLE, "HTTP 500"),
    ("http404", Verdict.UNEXPECTED, "HTTP 404"),
    ("malformed", Verdict.MALFORMED, "not XML"),
    ("not-soap", Verdict.MALFORMED, "not a SOAP answer"),
    ("fault:0999", Verdict.UNEXPECTED, "0999"),
])
def test_non_fault_answers_are_classified(sunat: Emulator, scenario: str, verdict: Verdict,
                                          words: str) -> None:
    sunat.scenario = scenario
    got, sentence, _ = check(sunat)
    assert got is verdict
    assert words in sentence


def test_empty_200_is_never_success(sunat: Emulator) -> None:
    sunat.scenario = "empty"
    verdict, _, _ = check(sunat, retries=3)
    assert verdict is Verdict.REJECTED and verdict.exit_code != 0
    assert len(sunat.requests) == 1  # a rejection is not retried


def test_emulator_checks_the_token_as_sunat_does(sunat: Emulator) -> None:
    assert check(sunat)[0] is Verdict.ACCEPTED
    assert check(sunat, password="wrong")[0] is Verdict.BAD_CREDENTIALS
    sunat.accepted_as = "status"
    assert check(sunat)[0] is Verdict.ACCEPTED
    first = sunat.requests[0]
    assert first.operation == f"{{{SUNAT_NS}}}getStatus"
    assert first.soap_action == '"urn:getStatus"'
    assert (first.username, first.password, first.password_type) == (USER, PASSWORD,
                                                                      PASSWORD_TEXT)
    assert first.arguments == {"ticket": MADE_UP_TICKET}


def test_unavailable_is_retried_with_exponential_backoff(sunat: Emulator) -> None:
    sunat.queue.extend(["fault:0109", "http500", "fault:0133"])
    sleeps: list[float] = []
    verdict, _, attempts = check(sunat, retries=3, sleeps=sleeps)
    assert verdict is Verdict.ACCEPTED
    assert attempts == 4 and len(sunat.requests) == 4
    assert sleeps == pytest.approx([0.01, 0.02, 0.04])


def test_retries_are_bounded(sunat: Emulator) -> None:
    sunat.scenario = "http500"
    sleeps: list[float] = []
    verdict, _, attempts = check(sunat, retries=2, sleeps=sleeps)
    assert verdict is Verdict.UNAVAILABLE
    assert attempts == 3 and len(sunat.requests) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("code", ["0102", "0111", "0127"])
def test_answers_about_the_credentials_are_not_retried(sunat: Emulator, code: str) -> None:
    sunat.scenario = f"fault:{code}"
    check(sunat, retries=3)
    assert len(sunat.requests) == 1


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(retries=10, backoff=2.0, max_delay=10.0)
    assert [policy.delay(n) for n in range(5)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_connection_refused_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = check_credentials(f"http://127.0.0.1:{port}/billService", USER, PASSWORD,
                               timeouts=FAST, retry=RetryPolicy(retries=2, backoff=0))
    assert result.outcome.verdict is Verdict.UNREACHABLE
    assert "refused" in result.outcome.sentence
    assert result.attempts == 1


def test_tls_failure_is_unreachable(sunat: Emulator) -> None:
    verdict, sentence, _ = check(sunat, url=sunat.url.replace("http://", "https://"))
    assert verdict is Verdict.UNREACHABLE
    assert "TLS" in sentence


def test_dns_failure_is_unreachable() -> None:
    import requests
    from urllib3.exceptions import MaxRetryError, NameResolutionError

    cause = NameResolutionError("e-factura.sunat.invalid", None,  # type: ignore[arg-type]
                                socket.gaierror(-2, "Name or service not known"))
    exc = requests.exceptions.ConnectionError(MaxRetryError(None, "/", cause))  # type: ignore[arg-type]
    outcome = classify_exception(exc)
    assert outcome.verdict is Verdict.UNREACHABLE
    assert "DNS" in outcome.sentence


@pytest.mark.parametrize(("faultcode", "faultstring", "code"), [
    ("soap-env:Client.0127", "El ticket no existe", "0127"),
    ("ns0:0102", "Usuario o contraseña incorrectos", "0102"),
    ("env:Server", "0109 - El sistema de autenticación no está disponible", "0109"),
    ("soap-env:Client.0102 ", None, "0102"),
    ("soap-env:Server", "El ticket 123456789012 no existe", None),
    (None, None, None),
])
def test_sunat_code_is_found_where_servers_put_it(faultcode: str | None,
                                                 faultstring: str | None,
                                                 code: str | None) -> None:
    assert sunat_code(faultcode, faultstring) == code


def test_every_failure_has_its_own_exit_code() -> None:
    failures = [v for v in Verdict if v not in (Verdict.ACCEPTED, Verdict.NOT_APPLICABLE)]
    codes = [EXIT_CODES[v] for v in failures] + [EXIT_NO_PASSWORD]
    assert len(set(codes)) == len(codes)
    assert not set(codes) & {0, 1, 2}  # those belong to success, spec errors, usage errors


def test_consult_service_queries_a_cdr(sunat: Emulator) -> None:
    sunat.scenario = "cdr:0004"
    client = bill_consult_service(sunat.url, USER, PASSWORD, FAST)
    try:
        result = client.call("getStatusCdr", rucComprobante="20000000001", tipoComprobante="01",
                             serieComprobante="F001", numeroComprobante=42)
    finally:
        client.close()
    assert result.statusCode == "0004"
    assert result.statusMessage == "La constancia existe"
    received = sunat.requests[0]
    assert received.soap_action == '"urn:getStatusCdr"'
    assert received.username == USER
    assert received.arguments == {"rucComprobante": "20000000001", "tipoComprobante": "01",
                                  "serieComprobante": "F001", "numeroComprobante": "42"}


def test_redacting_filter_catches_the_forms_a_password_takes_in_logs() -> None:
    secret = 'ñu&<"pw'
    filt = RedactingFilter([secret])
    escaped = "ñu&amp;&lt;\"pw"
    for text in (secret, escaped, repr(escaped.encode()), repr(secret)):
        assert secret not in filt.redact(f"x {text} y")
        assert REDACTED in filt.redact(f"x {text} y")


def test_redacted_logging_restores_the_record_factory(caplog: pytest.LogCaptureFixture) -> None:
    before = logging.getLogRecordFactory()
    with caplog.at_level(logging.DEBUG), redacted_logging("hunter2"):
        logging.getLogger("zeep.transports").debug("<Password>%s</Password>", "hunter2")
    logging.getLogger("zeep.transports").debug("after: hunter2")
    assert logging.getLogRecordFactory() is before
    assert "<Password>[REDACTED]</Password>" in caplog.text


# --- our WSDLs against SUNAT's -----------------------------------------------------------

def _operations(wsdl: Path) -> dict[str, tuple[str, ...]]:
    import zeep

    client = zeep.Client(str(wsdl))
    ops: dict[str, tuple[str, ...]] = {}
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            for name, op in port.binding._operations.items():
                ops[name] = (op.input.signature(), op.output.signature(as_output=True),
                             str(op.soapaction), str(op.input.body.qname),
                             str(op.output.body.qname))
    return ops


def _request(wsdl: Path, operation: str, **kwargs: object) -> str:
    """The body element zeep would send, canonicalised (prefixes aside)."""
    import zeep
    from lxml import etree

    client = zeep.Client(str(wsdl))
    envelope = client.create_message(client.service, operation, **kwargs)
    body = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    return ET.canonicalize(etree.tostring(body).decode(), strip_text=True)


@pytest.mark.parametrize(("ours", "reference", "sample"), [
    (BILL_SERVICE_WSDL, "billService.wsdl",
     ("sendBill", {"fileName": "20000000001-01-F001-1.zip", "contentFile": b"PK\x03\x04"})),
    (BILL_CONSULT_WSDL, "billConsultService.wsdl",
     ("getStatusCdr", {"rucComprobante": "20000000001", "tipoComprobante": "01",
                       "serieComprobante": "F001", "numeroComprobante": 7})),
])
def test_our_wsdl_matches_sunats(ours: Path, reference: str,
                                 sample: tuple[str, dict[str, object]]) -> None:
    ref = require(SUNAT_WSDL / reference, "SUNAT's reference WSDL")
    assert _operations(ours) == _operations(ref)
    operation, kwargs = sample
    assert _request(ours, operation, **kwargs) == _request(ref, operation, **kwargs)


@pytest.mark.parametrize("wsdl", [BILL_SERVICE_WSDL, BILL_CONSULT_WSDL])
def test_our_wsdls_are_self_contained(wsdl: Path) -> None:
    root = ET.parse(wsdl).getroot()
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        assert local not in ("import", "include", "redefine"), f"{wsdl.name} imports"
        assert "schemaLocation" not in element.attrib



@pytest.mark.parametrize("level", [logging.WARNING, logging.DEBUG])
def test_answer_not_in_utf8_is_malformed_not_a_crash(sunat: Emulator,
                                                    caplog: pytest.LogCaptureFixture,
                                                    level: int) -> None:
    # at DEBUG zeep decodes the body to log it and fails before parsing
    caplog.set_level(level)
    sunat.scenario = "bad-utf8"
    verdict, _, _ = check(sunat)
    assert verdict is Verdict.MALFORMED
