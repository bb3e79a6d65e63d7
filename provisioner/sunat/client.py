"""SOAP clients for SUNAT's billService and billConsultService (and OSEs that copy them).

The WSDLs are our own, self-contained, and shipped in this package: SUNAT's live WSDL
imports remote files zeep cannot load. The endpoint is never taken from a WSDL; callers
pass it from `provisioner.sunat.profile.soap_profile` (or an OSE URL). TLS verification is
always on and every request has connect and read timeouts. zeep and requests are imported
inside functions so the CLI starts fast.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import Any, Final

from provisioner.package_data import wsdl_path
from provisioner.sunat.classify import (
    Outcome,
    Redact,
    classify_exception,
    classify_response,
)

NAMESPACE: Final = "http://service.sunat.gob.pe"
BILL_SERVICE_WSDL: Final = wsdl_path("billService.wsdl")  # ours, shipped as package data
BILL_CONSULT_WSDL: Final = wsdl_path("billConsultService.wsdl")
BILL_SERVICE_BINDING: Final = f"{{{NAMESPACE}}}BillServicePortBinding"
BILL_CONSULT_BINDING: Final = f"{{{NAMESPACE}}}BillConsultServicePortBinding"

# SUNAT answers 0127 (or 0126) for a ticket it does not know, but only after authenticating
MADE_UP_TICKET: Final = "0000000000000"
REDACTED: Final = "[REDACTED]"


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for 'SUNAT unavailable' answers: backoff, 2×backoff, 4×backoff…"""

    retries: int = 3  # extra attempts after the first
    backoff: float = 2.0
    max_delay: float = 60.0

    def delay(self, retry: int) -> float:
        """The wait before retry number `retry` (0-based)."""
        return float(min(self.backoff * (2 ** retry), self.max_delay))


class SoapClient:
    """One of our WSDLs bound to one endpoint, signing every request as one SOL user."""

    def __init__(self, wsdl: Path, binding: str, address: str, username: str, password: str,
                 timeouts: Timeouts = Timeouts()) -> None:
        import requests
        import zeep
        from zeep.wsse.username import UsernameToken

        session = requests.Session()
        session.verify = True  # never configurable: SOL passwords travel in this request
        self._transport: Any = _make_status_transport()(
            session=session, timeout=timeouts.connect,
            operation_timeout=(timeouts.connect, timeouts.read))
        self.client = zeep.Client(str(wsdl), transport=self._transport,
                                  wsse=UsernameToken(username, password))
        self.service: Any = self.client.create_service(binding, address)
        self.address = address

    @property
    def last_http_status(self) -> int | None:
        return self._transport.last_status

    def call(self, operation: str, **kwargs: Any) -> Any:
        self._transport.last_status = None
        return getattr(self.service, operation)(**kwargs)

    def close(self) -> None:
        self._transport.session.close()


@cache
def _make_status_transport() -> type:
    from zeep.transports import Transport

    class StatusTransport(Transport):  # type: ignore[misc]
        """Remembers the last HTTP status: zeep's Fault does not carry it, and an HTTP 500
        with a non-SOAP body must read as 'unavailable', not as a bad answer."""

        last_status: int | None = None

        def post(self, address: str, message: Any, headers: Any) -> Any:
            response = super().post(address, message, headers)
            self.last_status = response.status_code
            return response

    return StatusTransport


def bill_service(address: str, username: str, password: str,
                 timeouts: Timeouts = Timeouts()) -> SoapClient:
    """billService: sendBill, sendSummary, sendPack, getStatus(ticket)."""
    return SoapClient(BILL_SERVICE_WSDL, BILL_SERVICE_BINDING, address, username, password,
                      timeouts)


def bill_consult_service(address: str, username: str, password: str,
                         timeouts: Timeouts = Timeouts()) -> SoapClient:
    """billConsultService: getStatus and getStatusCdr by RUC, type, series and number."""
    return SoapClient(BILL_CONSULT_WSDL, BILL_CONSULT_BINDING, address, username, password,
                      timeouts)


@dataclass(frozen=True)
class CheckResult:
    outcome: Outcome
    attempts: int


def probe(client: SoapClient, who: str = "SUNAT", ticket: str = MADE_UP_TICKET,
          redact: Redact = None) -> Outcome:
    """One getStatus with a made-up ticket, classified from the raw answer: zeep writes the
    request, `classify_response` reads the answer leniently (SUNAT's real answers do not all
    fit its WSDL)."""
    try:
        with client.client.settings(raw_response=True):
            response = client.call("getStatus", ticket=ticket)
        return classify_response(response.status_code, response.content or b"", who, redact)
    except Exception as exc:  # classify_exception re-raises what it does not know
        return classify_exception(exc, who, client.last_http_status, redact)


def check_credentials(address: str, username: str, password: str, *,
                      timeouts: Timeouts = Timeouts(), retry: RetryPolicy = RetryPolicy(),
                      who: str = "SUNAT",
                      sleep: Callable[[float], None] = time.sleep) -> CheckResult:
    """Ask billService whether `username`/`password` are accepted, retrying while SUNAT says
    it is unavailable (0100, 0109, 0110, 0130–0138, 0200, `Internal Error` faults, HTTP 401
    and 5xx)."""
    client = bill_service(address, username, password, timeouts)
    redact = RedactingFilter([password]).redact  # a fault may echo what it was sent
    try:
        attempts = 0
        while True:
            outcome = probe(client, who, redact=redact)
            attempts += 1
            if not outcome.retryable or attempts > retry.retries:
                return CheckResult(outcome, attempts)
            sleep(retry.delay(attempts - 1))
    finally:
        client.close()


class RedactingFilter(logging.Filter):
    """Replaces secrets in a log record's final message: zeep logs whole envelopes (with the
    WS-Security password) at DEBUG, as text, XML-escaped or as a bytes repr."""

    def __init__(self, secrets: Iterator[str] | list[str] | tuple[str, ...]) -> None:
        super().__init__()
        forms: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            for text in (secret, escape(secret, quote=False), escape(secret, quote=True)):
                forms.add(text)
                forms.add(repr(text.encode())[2:-1])  # as in b'...' reprs
                forms.add(repr(text)[1:-1])  # as in '...' reprs
        self._forms = sorted((f for f in forms if f), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not ours
            message = str(record.msg)
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


@contextmanager
def redacted_logging(*secrets: str) -> Iterator[RedactingFilter]:
    """Redact `secrets` from every log record created meanwhile, by any logger.

    A filter attached to a logger only sees that logger's own records, not its children's
    (zeep.transports, urllib3.connectionpool, ...), and handlers come and go (pytest's
    caplog); so the filter runs where every record is made, in the record factory.
    """
    filt = RedactingFilter(secrets)
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        filt.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    try:
        yield filt
    finally:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)
