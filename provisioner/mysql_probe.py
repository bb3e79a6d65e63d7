"""Does a MySQL/MariaDB server accept TLS? The protocol's own way, without credentials.

A client learns it from the server's first packet (the Initial Handshake, whose capability flags
carry CLIENT_SSL) and switches to TLS by sending an SSLRequest packet, then the TLS handshake:
https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html
Doctor needs only that much, so no MySQL driver is imported (the admin password is not needed).
"""

from __future__ import annotations

import socket
import ssl
import struct
from dataclasses import dataclass
from typing import Final

from provisioner.errors import ProvisionerError

CLIENT_PROTOCOL_41: Final = 0x0200
CLIENT_SSL: Final = 0x0800
CLIENT_SECURE_CONNECTION: Final = 0x8000
MAX_PACKET: Final = 16 * 1024 * 1024
MAX_GREETING: Final = 64 * 1024
UTF8MB4_GENERAL_CI: Final = 45


class ProbeError(ProvisionerError):
    """The server could not be reached, is not MySQL, or refuses TLS."""


@dataclass(frozen=True)
class TlsResult:
    server_version: str
    tls_version: str
    cipher: str


def _read_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ProbeError("the server closed the connection during the handshake")
        data += chunk
    return data


def _read_first_packet(sock: socket.socket) -> bytes:
    """The server's first packet: sequence id 0 and, for a handshake or an error, small."""
    header = _read_exact(sock, 4)
    length = header[0] | header[1] << 8 | header[2] << 16
    if header[3] != 0 or not 0 < length <= MAX_GREETING:
        raise ProbeError("not a MySQL server (its first bytes are no MySQL packet)")
    return _read_exact(sock, length)


def parse_handshake(payload: bytes) -> tuple[str, int]:
    """(server version, capability flags) of an Initial Handshake v10 packet."""
    if not payload:
        raise ProbeError("not a MySQL server (empty first packet)")
    if payload[0] == 0xFF:  # an ERR packet: e.g. "Host ... is blocked", too many connections
        message = payload[9:] if payload[3:4] == b"#" else payload[3:]
        raise ProbeError("the server refused the connection: "
                         + message.decode("utf-8", "replace")[:200])
    if payload[0] != 10:
        raise ProbeError(f"not a MySQL server (protocol byte {payload[0]}, expected 10)")
    end = payload.find(b"\0", 1)
    # version, NUL, connection id (4), auth data part 1 (8), filler (1), capabilities low (2)
    if end < 0 or len(payload) < end + 1 + 4 + 8 + 1 + 2:
        raise ProbeError("not a MySQL server (truncated handshake)")
    version = payload[1:end].decode("ascii", "replace")
    offset = end + 1 + 4 + 8 + 1
    low = struct.unpack_from("<H", payload, offset)[0]
    high = 0
    if len(payload) >= offset + 2 + 1 + 2 + 2:  # charset (1), status (2), capabilities high
        high = struct.unpack_from("<H", payload, offset + 2 + 1 + 2)[0]
    return version, low | high << 16


def ssl_request() -> bytes:
    """The SSLRequest packet (sequence id 1): the client's flags with CLIENT_SSL set."""
    flags = CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION
    body = struct.pack("<IIB23s", flags, MAX_PACKET, UTF8MB4_GENERAL_CI, b"\0" * 23)
    return struct.pack("<I", len(body))[:3] + b"\x01" + body


def probe_tls(host: str, port: int, *, cafile: str | None = None, timeout: float = 5.0,
              via: tuple[str, int] | None = None) -> TlsResult:
    """Connect (to `via`, a tunnel's local end, if given), read the handshake, ask for TLS and
    complete it: the certificate is checked against the system's CAs or `cafile`, and against
    `host`, the server's own name, even through a tunnel."""
    address = via or (host, port)
    try:
        sock = socket.create_connection(address, timeout=timeout)
    except OSError as exc:
        raise ProbeError(f"cannot connect to {address[0]}:{address[1]}: "
                         f"{exc.strerror or exc}") from None
    with sock:
        try:
            version, flags = parse_handshake(_read_first_packet(sock))
            if not flags & CLIENT_SSL:
                raise ProbeError(f"{host}:{port} ({version}) does not offer TLS")
            sock.sendall(ssl_request())
            context = ssl.create_default_context(cafile=cafile)
            with context.wrap_socket(sock, server_hostname=host) as tls:
                return TlsResult(version, tls.version() or "?", (tls.cipher() or ("?",))[0])
        except ssl.SSLCertVerificationError as exc:
            raise ProbeError(f"TLS certificate of {host}:{port} not trusted: "
                             f"{exc.verify_message or exc.reason}") from None
        except ssl.SSLError as exc:
            raise ProbeError(f"TLS handshake with {host}:{port} failed: "
                             f"{exc.reason or exc}") from None
        except TimeoutError:
            raise ProbeError(f"{host}:{port} did not answer in {timeout:g}s") from None
        except OSError as exc:
            raise ProbeError(f"{host}:{port}: {exc.strerror or exc}") from None
