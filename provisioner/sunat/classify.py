"""What a SUNAT (or OSE) answer to a credential check means, per shared/reference/sunat.md.

`check-sol` calls `getStatus` with a made-up ticket: SUNAT authenticates first, so the kind
of "no" it answers tells whether the SOL user and password work. Every answer, fault or
network failure maps to exactly one `Verdict`, each with its own exit code and a sentence an
operator can act on. zeep and requests are imported lazily: this module loads with the CLI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final


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

ACCEPTED_CODES: Final = frozenset({"0126", "0127"})
AUTH_CODES: Final = frozenset({"0101", "0102", "0103", "0104", "0105", "0106", "0110"})
PROFILE_CODES: Final = frozenset({"0111", "0112", "0113"})
RETRY_CODES: Final = frozenset({"0100", "0109", "0200", *(f"{n:04d}" for n in range(130, 139))})

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


def _quote(text: str | None) -> str:
    text = " ".join((text or "").split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f' ("{text}")' if text else ""


def classify_code(code: str, message: str | None = None, who: str = "SUNAT",
                  http_status: int | None = None) -> Outcome:
    """The verdict for a SUNAT code, whether it came as a fault or as a getStatus statusCode."""
    said = f"{who} answered {code}{_quote(message)}"
    if code in ACCEPTED_CODES:
        return Outcome(Verdict.ACCEPTED, f"the credentials were accepted: {said} to a made-up "
                       "ticket, which it only does after authenticating the user",
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
    if code in RETRY_CODES:
        return Outcome(Verdict.UNAVAILABLE, f"{who} is unavailable: {said}; try again later",
                       code, http_status)
    return Outcome(Verdict.UNEXPECTED, f"{said}, a code that says nothing about the "
                   "credentials", code, http_status)


def classify_status(result: Any, who: str = "SUNAT") -> Outcome:
    """A normal getStatus answer: its statusCode carries the verdict."""
    status = getattr(result, "status", result)
    code = getattr(status, "statusCode", None) if status is not None else None
    if not code:
        return Outcome(Verdict.MALFORMED, f"{who} answered getStatus without a statusCode",
                       http_status=200)
    code = str(code).strip()
    if code in {"0", "98", "99"}:
        # the status of a processed or pending ticket: the made-up one cannot have it
        return Outcome(Verdict.UNEXPECTED, f"{who} answered statusCode {code} (a real ticket's "
                       "status) to a made-up ticket", code, 200)
    if not code.isdigit():
        return Outcome(Verdict.UNEXPECTED, f"{who} answered statusCode {code!r}", code, 200)
    return classify_code(code, getattr(status, "statusMessage", None), who, 200)


def classify_http(status: int, who: str = "SUNAT") -> Outcome:
    """A non-SOAP answer, known only by its HTTP status."""
    if status >= 500:
        return Outcome(Verdict.UNAVAILABLE, f"{who} answered HTTP {status} without a SOAP "
                       "fault; try again later", http_status=status)
    if status == 200:
        return Outcome(Verdict.REJECTED, f"{who} answered HTTP 200 with an empty body: the "
                       "request was rejected and no reason was given (SUNAT production does "
                       "this, e.g. for an unknown user); this is not a success",
                       http_status=status)
    return Outcome(Verdict.UNEXPECTED, f"{who} answered HTTP {status} without a SOAP answer; "
                   "check the endpoint URL", http_status=status)


def classify_exception(exc: BaseException, who: str = "SUNAT",
                       http_status: int | None = None) -> Outcome:
    """Faults, HTTP-level answers, unparseable answers and network failures.

    `http_status` is the status of the last HTTP answer, when there was one: zeep's faults
    do not carry it.
    """
    import requests
    from lxml.etree import XMLSyntaxError as LxmlSyntaxError
    from zeep import exceptions as zx

    if isinstance(exc, zx.Fault):
        code = sunat_code(exc.code, exc.message)
        if code is not None:
            return classify_code(code, exc.message, who, http_status)
        if exc.code is None and http_status is not None and http_status != 200:
            return classify_http(http_status, who)  # XML, but not a SOAP fault
        return Outcome(Verdict.UNEXPECTED, f"{who} answered a fault without a SUNAT code: "
                       f"{exc.code or 'no faultcode'}{_quote(exc.message)}",
                       http_status=http_status)
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
                       f"getStatus: {_first_line(exc)}", http_status=http_status)
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
        return Outcome(Verdict.UNREACHABLE, f"the request to {who} failed: {_first_line(exc)}")
    if isinstance(exc, zx.Error | ValueError):  # ValueError: e.g. an answer not in UTF-8
        return Outcome(Verdict.MALFORMED, f"{who}'s answer could not be read: "
                       f"{_first_line(exc)}", http_status=http_status)
    raise exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


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
