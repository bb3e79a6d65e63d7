"""A SUNAT billService stand-in on 127.0.0.1 for tests that go through zeep over real HTTP.

It reads what SUNAT reads (the SOAP envelope, the WS-Security UsernameToken, the operation)
and answers the way SUNAT does for a scenario: a fault code, a statusCode, an empty 200, a
slow answer, an HTTP 500, broken XML. Every request is recorded for assertions.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/"
                 "oasis-200401-wss-username-token-profile-1.0#PasswordText")
SUNAT_NS = "http://service.sunat.gob.pe"

FAULT_TEXT = {
    "0100": "El sistema no puede responder su solicitud. Intente nuevamente",
    "0101": "El encabezado de seguridad es incorrecto",
    "0102": "Usuario o contraseña incorrectos",
    "0103": "El Usuario ingresado no existe",
    "0104": "La Clave ingresada es incorrecta",
    "0105": "El Usuario no está activo",
    "0106": "El Usuario no es válido",
    "0109": "El sistema de autenticación no está disponible",
    "0110": "No se pudo obtener la información del tipo de usuario",
    "0111": "No tiene el perfil para enviar comprobantes electrónicos",
    "0112": "El usuario debe ser secundario",
    "0113": "El usuario no está afiliado a Factura Electrónica",
    "0125": "No se pudo obtener la constancia",
    "0126": "El ticket no le pertenece al usuario",
    "0127": "El ticket no existe",
    "0200": "No se pudo procesar su solicitud",
}

# Shapes of SUNAT's real answers that do not fit its own WSDL (beta and production captures):
# a status whose base64 `content` is plain text, an extra statusMessage, a code only in the
# text, an `Internal Error` fault without a code, a SOAP 1.2 fault, a fault echoing the request.
SHAPES = ("status-text", "status-message", "status-code-in-text", "internal-error",
          "soap12-fault", "echo-password", "http401")


@dataclass
class Received:
    """One request as SUNAT would see it."""

    path: str
    soap_action: str | None
    operation: str | None
    username: str | None
    password: str | None
    password_type: str | None
    arguments: dict[str, str | None]
    body: bytes


@dataclass
class Emulator:
    """Scenarios: "auth" (check the account: 0127 if valid, else 0102), "fault:NNNN",
    "status:NNNN" (a normal getStatus answer), the SHAPES below ("status-text:NNNN",
    "status-message:NNNN", "status-code-in-text:NNNN", "internal-error", "soap12-fault:NNNN",
    "echo-password", "http401"), "cdr:NNNN" (a billConsultService getStatusCdr
    answer), "empty" (HTTP 200, no body), "slow" (answers after `slow_seconds`), "http500"
    (HTML error page), "http500-empty", "malformed" (broken XML), "not-soap" (well-formed
    XML, no envelope), "bad-utf8", "http404". `queue` scenarios are used
    first, one per request, then `scenario` for the rest."""

    accounts: dict[str, str] = field(default_factory=dict)
    scenario: str = "auth"
    queue: deque[str] = field(default_factory=deque)
    accepted_as: str = "fault"  # how "auth" says yes: "fault" 0127 or "status" 0127
    slow_seconds: float = 2.0
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Emulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                received = parse_request(self.path, self.headers.get("SOAPAction"), body)
                with emulator._lock:
                    emulator.requests.append(received)
                    scenario = emulator.queue.popleft() if emulator.queue else emulator.scenario
                status, content_type, payload = emulator.answer(scenario, received)
                if scenario == "slow":
                    emulator._stop.wait(emulator.slow_seconds)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # quiet in test output
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and hung up is part of the test

        self._server = Server(("127.0.0.1", 0), Handler)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}/ol-ti-itcpfegem-beta/billService"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, scenario: str, received: Received) -> tuple[int, str, bytes]:
        xml = "text/xml; charset=utf-8"
        if scenario == "auth":
            if received.username is None or received.password_type != PASSWORD_TEXT:
                return fault("0101")
            if self.accounts.get(received.username) != received.password:
                return fault("0102")
            return status_answer("0127") if self.accepted_as == "status" else fault("0127")
        kind, _, code = scenario.partition(":")
        if kind == "fault":
            return fault(code)
        if kind == "status":
            return status_answer(code)
        if kind == "cdr":
            return status_answer(code, "La constancia existe", "getStatusCdrResponse",
                                 "statusCdr")
        if scenario in ("empty", "slow"):
            return (200, xml, b"") if scenario == "empty" else fault("0127")
        if scenario == "http500":
            return 500, "text/html", b"<html><body><h1>Error 500</h1><p>Internal error"
        if scenario == "http500-empty":
            return 500, xml, b""
        if scenario == "http404":
            return 404, "text/html", b"<html><body>Not Found</body></html>"
        if scenario == "malformed":
            return 200, xml, (f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}"><soap-env:Body>'
                              "<br:getStatusResponse").encode()
        if scenario == "bad-utf8":
            return 200, xml, b"<?xml version='1.0' encoding='utf-8'?><a>\xff</a>"
        if kind == "status-text":  # beta, unknown ticket: content is text, not base64
            return status_raw(f"<statusCode>{code}</statusCode>"
                              f"<content>{FAULT_TEXT.get(code, 'Error')}</content>")
        if kind == "status-message":  # statusMessage beside content, as billConsultService
            return status_raw(f"<content>{FAULT_TEXT.get(code, 'Error')}</content>"
                              f"<statusCode>{code}</statusCode>"
                              f"<statusMessage>{FAULT_TEXT.get(code, 'Error')}</statusMessage>")
        if kind == "status-code-in-text":  # no statusCode: "0126 - El ticket no le pertenece"
            return status_raw(f"<content>{code} - {FAULT_TEXT.get(code, 'Error')}</content>")
        if scenario == "internal-error":
            return raw_fault("env:Client", "Internal Error")
        if kind == "soap12-fault":
            body = (f'<env:Envelope xmlns:env="{SOAP12_ENV}"><env:Body><env:Fault>'
                    "<env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>"
                    f"ns:{code}</env:Value></env:Subcode></env:Code><env:Reason><env:Text "
                    f'xml:lang="es">{FAULT_TEXT.get(code, "Error")}</env:Text></env:Reason>'
                    "</env:Fault></env:Body></env:Envelope>")
            return 500, "application/soap+xml; charset=utf-8", body.encode()
        if scenario == "echo-password":  # a fault string that quotes what it was sent
            pw = escape(received.password or "")
            return raw_fault("soap-env:Client", "Error interno" + " ." * 78
                             + f" clave   recibida:\n {pw}  fin")
        if scenario == "http401":
            return 401, "text/html", b"<html><body>401 Unauthorized</body></html>"
        if scenario == "not-soap":
            return 200, xml, b"<?xml version='1.0'?><status><code>0127</code></status>"
        raise ValueError(f"unknown scenario {scenario!r}")


def parse_request(path: str, soap_action: str | None, body: bytes) -> Received:
    """What SUNAT reads from a request; tolerant, since bad requests are worth recording."""
    username = password = password_type = operation = None
    arguments: dict[str, str | None] = {}
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        root = None
    if root is not None:
        token = root.find(f"{{{SOAP_ENV}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
        if token is not None:
            username = token.findtext(f"{{{WSSE}}}Username")
            pw = token.find(f"{{{WSSE}}}Password")
            if pw is not None:
                password, password_type = pw.text or "", pw.get("Type")
        payload = root.find(f"{{{SOAP_ENV}}}Body/*")
        if payload is not None:
            operation = payload.tag
            arguments = {child.tag: child.text for child in payload}
    return Received(path, soap_action, operation, username, password, password_type, arguments,
                    body)


def fault(code: str) -> tuple[int, str, bytes]:
    """A SOAP 1.1 fault as SUNAT sends it: HTTP 500, `soap-env:Client.NNNN`."""
    text = FAULT_TEXT.get(code, "Error interno")
    body = (f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}"><soap-env:Header/><soap-env:Body>'
            f"<soap-env:Fault><faultcode>soap-env:Client.{code}</faultcode>"
            f"<faultstring>{text}</faultstring></soap-env:Fault></soap-env:Body>"
            "</soap-env:Envelope>")
    return 500, "text/xml; charset=utf-8", body.encode()


def status_answer(code: str, message: str | None = None, element: str = "getStatusResponse",
                  child: str = "status") -> tuple[int, str, bytes]:
    """A normal getStatus answer whose statusCode carries the code."""
    extra = f"<statusMessage>{message}</statusMessage>" if message else ""
    body = (f'<S:Envelope xmlns:S="{SOAP_ENV}"><S:Body><ns2:{element} xmlns:ns2="{SUNAT_NS}">'
            f"<{child}><statusCode>{code}</statusCode>{extra}</{child}></ns2:{element}>"
            "</S:Body></S:Envelope>")
    return 200, "text/xml; charset=utf-8", body.encode()


def status_raw(inner: str) -> tuple[int, str, bytes]:
    """A getStatus answer whose `status` holds `inner` as is."""
    body = (f'<S:Envelope xmlns:S="{SOAP_ENV}"><S:Body><ns2:getStatusResponse '
            f'xmlns:ns2="{SUNAT_NS}"><status>{inner}</status></ns2:getStatusResponse>'
            "</S:Body></S:Envelope>")
    return 200, "text/xml; charset=utf-8", body.encode()


def raw_fault(faultcode: str, faultstring: str) -> tuple[int, str, bytes]:
    """A SOAP 1.1 fault with any faultcode (SUNAT's `Internal Error` has no number)."""
    body = (f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}" xmlns:env="{SOAP_ENV}">'
            f"<soap-env:Body><soap-env:Fault><faultcode>{faultcode}</faultcode>"
            f"<faultstring>{faultstring}</faultstring></soap-env:Fault></soap-env:Body>"
            "</soap-env:Envelope>")
    return 500, "text/xml; charset=utf-8", body.encode()
