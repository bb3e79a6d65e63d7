"""What a SUNAT (or OSE) answer to a credential check means, per shared/reference/sunat.md.

`check-sol` calls `getStatus` with a made-up ticket: SUNAT authenticates first, so the kind
of "no" it answers tells whether the SOL user and password work. Every answer, fault or
network failure maps to exactly one `Verdict`, each with its own exit code and a sentence an
operator can act on. zeep and requests are imported lazily: this module loads with the CLI.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from provisioner.safe_text import shorten

Redact = Callable[[str], str] | None


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    BAD_CREDENTIALS = "bad_credentials"
    NO_PROFILE = "no_profile"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"
    MALFORMED = "malformed"
    UNEXPECTED = "unexpected"
    NOT_APPLICABLE = "not_applicable"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self]

    @property
    def retryable(self) -> bool:
        """Only SUNAT saying it is down is worth asking again; a 'no' stays a 'no'."""
        return self is Verdict.UNAVAILABLE


# 1 (spec/other errors) and 2 (usage) are the CLI's; 10 is a missing password.
EXIT_CODES: Final[dict[Verdict, int]] = {
    Verdict.ACCEPTED: 0,
    Verdict.NOT_APPLICABLE: 0,
    Verdict.BAD_CREDENTIALS: 3,
    Verdict.NO_PROFILE: 4,
    Verdict.UNAVAILABLE: 5,
    Verdict.REJECTED: 6,
    Verdict.UNREACHABLE: 7,
    Verdict.MALFORMED: 8,
    Verdict.UNEXPECTED: 9,
}
EXIT_NO_PASSWORD: Final = 10

# 0125 ("could not get the receipt") is only given to a user SUNAT has authenticated.
ACCEPTED_CODES: Final = frozenset({"0125", "0126", "0127"})
AUTH_CODES: Final = frozenset({"0101", "0102", "0103", "0104", "0105", "0106"})
PROFILE_CODES: Final = frozenset({"0111", "0112", "0113"})
# 0110 ("could not get the user type") is SUNAT's user directory failing, seen to pass on a
# second try: retried like the other back-end failures, with a hint if it persists.
RETRY_CODES: Final = frozenset({"0100", "0109", "0110", "0200",
                                *(f"{n:04d}" for n in range(130, 139))})
# faultstrings SUNAT gives (as env:Client, without a code) while its back end fails
_INTERNAL_ERROR = re.compile(r"^\s*(internal error|error interno)\b", re.IGNORECASE)

_CODE_AT_END = re.compile(r"(?<!\d)(\d{4})\s*$")
_CODE_AT_START = re.compile(r"^\s*(\d{4})(?!\d)")


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    sentence: str
    code: str | None = None  # SUNAT's 4-digit code, when it gave one
    http_status: int | None = None

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def retryable(self) -> bool:
        return self.verdict.retryable


def sunat_code(faultcode: str | None, faultstring: str | None = None) -> str | None:
    """SUNAT's code from `soap-env:Client.0127`, `ns0:0102`, or else a faultstring that starts
    with it (`0109 - ...`); SUNAT and the OSEs are not consistent about where they put it."""
    for text, pattern in ((faultcode, _CODE_AT_END), (faultstring, _CODE_AT_START)):
        match = pattern.search(text or "")
        if match:
            return match.group(1)
    return None


def _quote(text: str | None, redact: Redact = None) -> str:
    """A server's text, redacted before it is normalised or cut (see safe_text.shorten)."""
    text = shorten(text, 200, redact)
    return f' ("{text}")' if text else ""


def classify_code(code: str, message: str | None = None, who: str = "SUNAT",
                  http_status: int | None = None, redact: Redact = None) -> Outcome:
    """The verdict for a SUNAT code, whether it came as a fault or as a getStatus statusCode."""
    said = f"{who} answered {code}{_quote(message, redact)}"
    if code in ACCEPTED_CODES:
        return Outcome(Verdict.ACCEPTED, f"the credentials were accepted: {said} to a made-up "
                       "ticket, which it only does after authenticating the user (this proves "
                       "the password, not the right to send: that shows on the first sendBill)",
                       code, http_status)
    if code in AUTH_CODES:
        return Outcome(Verdict.BAD_CREDENTIALS, f"the SOL user or password is wrong: {said}; "
                       "check the secondary user and its password in SUNAT Operaciones en Línea",
                       code, http_status)
    if code in PROFILE_CODES:
        return Outcome(Verdict.NO_PROFILE, f"the password is right but this user cannot send "
                       f"electronic documents: {said}; give the secondary user the sending "
                       "profile, or enrol the taxpayer in electronic invoicing",
                       code, http_status)
    if code == "0110":
        return Outcome(Verdict.UNAVAILABLE, f"{who} could not look the user up: {said}; try "
                       "again later, and if it persists check the secondary user in SUNAT "
                       "Operaciones en Línea", code, http_status)
    if code in RETRY_CODES:
        return Outcome(Verdict.UNAVAILABLE, f"{who} is unavailable: {said}; try again later",
                       code, http_status)
    return Outcome(Verdict.UNEXPECTED, f"{said}, a code that says nothing about the "
                   "credentials", code, http_status)


def classify_status(result: Any, who: str = "SUNAT", redact: Redact = None) -> Outcome:
    """A getStatus answer zeep parsed: its statusCode carries the verdict."""
    status = getattr(result, "status", result)
    code = getattr(status, "statusCode", None) if status is not None else None
    message = getattr(status, "statusMessage", None) if status is not None else None
    content = getattr(status, "content", None) if status is not None else None
    if isinstance(content, bytes):
        content = _content_text(content)
    return classify_status_code(None if code is None else str(code), message or content, who,
                                200, redact)


def classify_status_code(code: str | None, message: str | None, who: str = "SUNAT",
                         http_status: int | None = 200, redact: Redact = None) -> Outcome:
    """A status by its statusCode; its message (statusMessage, or content that is text where
    base64 was expected) is only quoted. Without a statusCode, a message that starts with a
    SUNAT code (`0126 - ...`) still says which."""
    code = (code or "").strip()
    if not code:
        found = sunat_code(None, message)
        if found is None:
            return Outcome(Verdict.MALFORMED, f"{who} answered getStatus without a statusCode"
                           f"{_quote(message, redact)}", http_status=http_status)
        code = found
    if code in {"0", "98", "99"}:
        # the status of a processed or pending ticket: the made-up one cannot have it
        return Outcome(Verdict.UNEXPECTED, f"{who} answered statusCode {code} (a real ticket's "
                       "status) to a made-up ticket", code, http_status)
    if not (code.isascii() and code.isdigit()):
        return Outcome(Verdict.UNEXPECTED, f"{who} answered statusCode "
                       f"\"{shorten(code, 40, redact)}\"", None, http_status)
    return classify_code(code.zfill(4) if len(code) < 4 else code, message, who, http_status,
                         redact)


def _content_text(raw: bytes | str) -> str | None:
    """getStatus' `content` is base64 (a CDR zip) in the WSDL, but beta sends plain text for
    an unknown ticket ("El ticket no existe"): text is returned as text, a zip as None."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    compact = "".join(text.split())
    if compact and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", compact) and len(compact) % 4 == 0:
        try:
            data = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            return text
        if data.startswith(b"PK"):
            return None  # a CDR: nothing to quote
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return text
    return text


def classify_fault(faultcode: str | None, faultstring: str | None, who: str = "SUNAT",
                   http_status: int | None = None, redact: Redact = None) -> Outcome:
    """A SOAP fault: SUNAT's code where it put one, else what the text says."""
    code = sunat_code(faultcode, faultstring)
    if code is not None:
        return classify_code(code, faultstring, who, http_status, redact)
    if _INTERNAL_ERROR.match(faultstring or ""):
        return Outcome(Verdict.UNAVAILABLE, f"{who} answered a fault "
                       f"{shorten(faultcode or 'without a faultcode', 60, redact)}"
                       f"{_quote(faultstring, redact)}, which SUNAT gives while its back end "
                       "fails; try again later", http_status=http_status)
    return Outcome(Verdict.UNEXPECTED, f"{who} answered a fault without a SUNAT code: "
                   f"{shorten(faultcode or 'no faultcode', 60, redact)}"
                   f"{_quote(faultstring, redact)}", http_status=http_status)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def classify_response(http_status: int, body: bytes, who: str = "SUNAT",
                      redact: Redact = None) -> Outcome:
    """A getStatus answer read leniently from its bytes: a SOAP 1.1 or 1.2 fault, or a status
    with statusCode, statusMessage and a content that may be base64 or plain text, in any
    namespace and order. zeep's strict reading turned the shapes SUNAT really sends (an extra
    statusMessage, text in a base64 field) into "malformed" answers."""
    from lxml import etree

    if not body.strip():
        return classify_http(http_status, who)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        if http_status != 200:
            return classify_http(http_status, who)  # an HTML error page
        return Outcome(Verdict.MALFORMED, f"{who} answered HTTP {http_status} with something "
                       "that is not XML", http_status=http_status)
    soap_body = None
    if _local(root.tag) == "Envelope":
        soap_body = next((c for c in root if _local(c.tag) == "Body"), None)
    if soap_body is None:
        if http_status != 200:
            return classify_http(http_status, who)
        return Outcome(Verdict.MALFORMED, f"{who} answered XML that is not a SOAP answer to "
                       "getStatus (no SOAP envelope)", http_status=http_status)
    texts: dict[str, str] = {}
    for element in soap_body.iter():
        name = _local(element.tag)
        if name and name not in texts:
            texts[name] = "".join(element.itertext()).strip()
    if "Fault" in texts:
        code = texts.get("faultcode")
        if code is None and "Code" in texts:  # SOAP 1.2: Code/Value, Subcode/Value
            fault = next(e for e in soap_body.iter() if _local(e.tag) == "Fault")
            code = " ".join(e.text or "" for e in fault.iter() if _local(e.tag) == "Value")
        message = texts.get("faultstring") or texts.get("Text") or texts.get("message")
        return classify_fault(code, message, who, http_status, redact)
    if "statusCode" not in texts and "content" not in texts and "statusMessage" not in texts:
        if http_status != 200:
            return classify_http(http_status, who)
        return Outcome(Verdict.MALFORMED, f"{who} answered a SOAP body without a getStatus "
                       "status", http_status=http_status)
    message = texts.get("statusMessage") or (
        _content_text(texts["content"]) if texts.get("content") else None)
    return classify_status_code(texts.get("statusCode"), message, who, http_status, redact)


def classify_http(status: int, who: str = "SUNAT") -> Outcome:
    """A non-SOAP answer, known only by its HTTP status."""
    if status >= 500:
        return Outcome(Verdict.UNAVAILABLE, f"{who} answered HTTP {status} without a SOAP "
                       "fault; try again later", http_status=status)
    if status == 401:  # beta's front end, at times, before any credential is read
        return Outcome(Verdict.UNAVAILABLE, f"{who} answered HTTP 401 without a SOAP fault "
                       "(SUNAT's front end does this at times; a wrong password comes as a "
                       "SOAP fault 0102, not as HTTP 401); try again later", http_status=status)
    if status == 200:
        return Outcome(Verdict.REJECTED, f"{who} answered HTTP 200 with an empty body: the "
                       "request was rejected and no reason was given (SUNAT production does "
                       "this, e.g. for an unknown user); this is not a success",
                       http_status=status)
    return Outcome(Verdict.UNEXPECTED, f"{who} answered HTTP {status} without a SOAP answer; "
                   "check the endpoint URL", http_status=status)


def classify_exception(exc: BaseException, who: str = "SUNAT",
                       http_status: int | None = None, redact: Redact = None) -> Outcome:
    """Faults, HTTP-level answers, unparseable answers and network failures.

    `http_status` is the status of the last HTTP answer, when there was one: zeep's faults
    do not carry it.
    """
    import requests
    from lxml.etree import XMLSyntaxError as LxmlSyntaxError
    from zeep import exceptions as zx

    if isinstance(exc, zx.Fault):
        if (exc.code is None and sunat_code(None, exc.message) is None
                and http_status is not None and http_status != 200):
            return classify_http(http_status, who)  # XML, but not a SOAP fault
        return classify_fault(exc.code, exc.message, who, http_status, redact)
    if isinstance(exc, zx.TransportError):
        status = exc.status_code or http_status or 0
        if not exc.content:
            return classify_http(status, who)
        if status >= 500:
            return classify_http(status, who)  # an error page, not XML
        return Outcome(Verdict.MALFORMED, f"{who} answered HTTP {status} with something that "
                       "is not XML", http_status=status)
    if isinstance(exc, zx.XMLSyntaxError | zx.XMLParseError | LxmlSyntaxError | zx.ValidationError):
        return Outcome(Verdict.MALFORMED, f"{who} answered XML that is not a SOAP answer to "
                       f"getStatus: {_first_line(exc, redact)}", http_status=http_status)
    if isinstance(exc, requests.exceptions.Timeout):
        phase = "connect" if isinstance(exc, requests.exceptions.ConnectTimeout) else "answer"
        return Outcome(Verdict.UNREACHABLE, f"{who} did not {phase} in time (timeout)")
    if isinstance(exc, requests.exceptions.SSLError):
        return Outcome(Verdict.UNREACHABLE, f"the TLS connection to {who} failed: "
                       f"{_root_reason(exc)}")
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = _root_reason(exc)
        if _is_dns(exc):
            return Outcome(Verdict.UNREACHABLE, f"{who}'s host name does not resolve (DNS): "
                           f"{reason}")
        return Outcome(Verdict.UNREACHABLE, f"cannot connect to {who}: {reason}")
    if isinstance(exc, requests.exceptions.RequestException):
        return Outcome(Verdict.UNREACHABLE, f"the request to {who} failed: "
                       f"{_first_line(exc, redact)}")
    if isinstance(exc, zx.Error | ValueError):  # ValueError: e.g. an answer not in UTF-8
        return Outcome(Verdict.MALFORMED, f"{who}'s answer could not be read: "
                       f"{_first_line(exc, redact)}", http_status=http_status)
    raise exc


def _first_line(exc: BaseException, redact: Redact = None) -> str:
    text = str(exc)
    if redact is not None:
        text = redact(text)  # before the cut: a cut secret is no longer found
    lines = text.strip().splitlines()
    return shorten(lines[0], 300) if lines else type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        nested = current.args[0] if current.args else None
        reason = getattr(current, "reason", None)
        current = (current.__cause__ or current.__context__
                   or (reason if isinstance(reason, BaseException) else None)
                   or (nested if isinstance(nested, BaseException) else None))
    return seen


def _is_dns(exc: BaseException) -> bool:
    import socket

    from urllib3.exceptions import NameResolutionError

    return any(isinstance(e, NameResolutionError | socket.gaierror) for e in _chain(exc))


def _root_reason(exc: BaseException) -> str:
    """The innermost cause, which says what happened ('Connection refused') without
    urllib3's pool and retry wrapping."""
    import socket

    for e in reversed(_chain(exc)):
        if isinstance(e, OSError | socket.gaierror) and str(e):
            text = str(e)
            return text.split(": ", 1)[-1] if "object at 0x" in text else text
    return _first_line(exc)
