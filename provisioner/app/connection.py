"""A connection to one of the app's MySQL/MariaDB servers, and its failures as one line each.

Every connection to a server that is not on this machine is TLS with the server's certificate
checked against a CA bundle and its host name (`PROVISIONER_DB_CA_BUNDLE`: a PEM file such as
RDS's global bundle, docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html; else
the system's CAs). PyMySQL takes the `ssl.SSLContext` as is (`ssl=`; connections.py
`_create_ssl_ctx`), wraps the socket with `server_hostname=host`, and from 1.2 refuses a server
that does not offer TLS when TLS is asked for ("SSL is required but the server doesn't support
it"; 1.1 fell back to plain text), hence PyMySQL>=1.2. A loopback server (local mode, tests)
needs TLS only when a CA bundle is set.

PyMySQL opens a plain socket and reads no proxy variable, while the workflows reach a private
server through a SOCKS5 tunnel (pulumi-mysql's `proxy`, from ALL_PROXY). With
`PROVISIONER_DB_PROXY=socks5://host:port` our connections use the same tunnel: python-socks
opens the socket through it and PyMySQL is handed that socket (`defer_connect=True`, then
`Connection.connect(sock)`); TLS and the host-name check are unchanged, end to end."""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass, field
from typing import Any, Final

from provisioner.errors import ProvisionerError

CA_BUNDLE_ENV: Final = "PROVISIONER_DB_CA_BUNDLE"
PROXY_ENV: Final = "PROVISIONER_DB_PROXY"
LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})


class AppError(ProvisionerError):
    """The app's databases refused or are not in a state we may write to; one line."""


class AppUnreachable(AppError):
    """The app's database could not be reached, or refused the credentials: nothing is known
    about the account (never taken for "it exists" nor for "it is gone")."""


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(host: str, cafile: str | None = None) -> ssl.SSLContext | None:
    """The TLS settings for `host`: certificate and host name checked (CERT_REQUIRED,
    check_hostname), TLS 1.2 at least; None for a loopback server without a CA bundle."""
    cafile = cafile or os.environ.get(CA_BUNDLE_ENV) or None
    if cafile is None and is_loopback(host):
        return None
    if cafile is not None and not os.path.isfile(cafile):
        raise AppError(f"{CA_BUNDLE_ENV}={cafile}: no such file (the database servers' CA "
                       "bundle, e.g. RDS's global-bundle.pem)")
    try:
        context = ssl.create_default_context(cafile=cafile)
    except ssl.SSLError as exc:
        raise AppError(f"{cafile}: not a PEM CA bundle ({exc.reason or exc})") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def proxy_socket(url: str, host: str, port: int, timeout: float) -> Any:
    """A socket to host:port through the SOCKS5 proxy at `url` (the name is resolved by the
    proxy, `rdns`: a private RDS name resolves inside the VPC)."""
    from python_socks import ProxyError, ProxyTimeoutError
    from python_socks.sync import Proxy

    try:
        proxy = Proxy.from_url(url, rdns=True)
        return proxy.connect(dest_host=host, dest_port=port, timeout=timeout)
    except ValueError as exc:
        raise AppError(f"{PROXY_ENV}: not a proxy URL ({exc})") from None
    except (ProxyError, ProxyTimeoutError, OSError) as exc:
        raise AppError(f"cannot reach {host}:{port} through the proxy {PROXY_ENV}: "
                       f"{exc}") from None


@dataclass(frozen=True)
class Server:
    """A MySQL/MariaDB server and an account on it (password never printed)."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str | None = None

    def connect(self, database: str | None = None, *, user: str | None = None,
                password: str | None = None):
        import pymysql

        who = user or self.user
        context = tls_context(self.host)
        proxy = os.environ.get(PROXY_ENV) or None
        try:
            conn = pymysql.connect(
                host=self.host, port=self.port, user=who,
                password=self.password if password is None else password,
                database=database if database is not None else self.database,
                autocommit=False, charset="utf8mb4", connect_timeout=10, read_timeout=60,
                write_timeout=60, cursorclass=pymysql.cursors.DictCursor,
                ssl=context, defer_connect=True)
            conn.connect(proxy_socket(proxy, self.host, self.port, 10) if proxy else None)
            return conn
        except pymysql.MySQLError as exc:
            raise AppError(f"cannot connect to {self.host}:{self.port} as {who}: "
                           f"{connect_reason(exc)}") from None


def connect_reason(exc: Exception) -> str:
    """Why a connection failed; a refused certificate says which check and what to set."""
    original = getattr(exc, "original_exception", None)
    if isinstance(original, ssl.SSLCertVerificationError):
        bundle = os.environ.get(CA_BUNDLE_ENV)
        where = f"the CA bundle {bundle}" if bundle else f"the system's CAs ({CA_BUNDLE_ENV} unset)"
        return (f"TLS certificate refused: {original.verify_message or original.reason} "
                f"(checked against {where} and the host name)")
    if isinstance(original, ssl.SSLError):
        return f"TLS handshake failed: {original.reason or original}"
    return error_reason(exc)


def error_reason(exc: Exception) -> str:
    """A server error as `message (error code)`, else the exception's type name."""
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[1], str):
        return f"{args[1]} (error {args[0]})"
    return type(exc).__name__
