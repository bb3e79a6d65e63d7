"""Our MySQL connections (provisioner/app/connection.py Server) as a runner makes them: TLS
verified against the configured CA bundle and the host name, against a real MariaDB with a
certificate of a CA made here; and through a SOCKS5 tunnel, as pulumi-mysql goes."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.app.connection import CA_BUNDLE_ENV, PROXY_ENV, AppError, Server
from tests.mariadb_server import ROOT_PASSWORD, MariaDBServer, TlsFiles


def _ca(tmp: Path, name: str):  # -> (key, certificate)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tmp / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _server_cert(tmp: Path, ca_key, ca_cert, names: list[str]) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = tmp / "server-cert.pem", tmp / "server-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MariaDBServer, Path]]:
    """MariaDB with TLS: a certificate for `localhost` only (not for 127.0.0.1) from our CA."""
    from tests.mariadb_server import ServerUnavailable, start_server

    tmp = tmp_path_factory.mktemp("tls")
    ca_key, ca_cert = _ca(tmp, "tenants-test-ca")
    _ca(tmp, "some-other-ca")
    cert, key = _server_cert(tmp, ca_key, ca_cert, ["localhost"])
    try:
        server = start_server(tmp, tls=TlsFiles(tmp / "tenants-test-ca.pem", cert, key))
    except ServerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"MariaDB server needed in CI: {exc}", pytrace=False)
        pytest.skip(f"no MariaDB server: {exc}")
    yield server, tmp
    server.stop()


def _server(port: int, host: str = "localhost") -> Server:
    return Server(host, port, "root", ROOT_PASSWORD)


def _cipher(conn) -> str:
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return str(cur.fetchone()["Value"])


def test_runner_db_connects_with_the_right_ca_and_host_name(
        tls_server: tuple[MariaDBServer, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    server, tmp = tls_server
    monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp / "tenants-test-ca.pem"))
    conn = _server(server.port).connect()
    try:
        assert _cipher(conn)  # the session is encrypted
    finally:
        conn.close()


def test_runner_db_refuses_a_certificate_of_another_ca(
        tls_server: tuple[MariaDBServer, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    server, tmp = tls_server
    monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp / "some-other-ca.pem"))
    with pytest.raises(AppError) as caught:
        _server(server.port).connect()
    message = str(caught.value)
    assert message.startswith(f"cannot connect to localhost:{server.port} as root: TLS "
                              "certificate refused: ")
    # the server sends its CA along: a chain that ends in a CA we do not trust
    assert ("self-signed certificate in certificate chain" in message
            or "unable to get local issuer certificate" in message), message
    assert "some-other-ca.pem" in message and ROOT_PASSWORD not in message


def test_runner_db_refuses_a_certificate_for_another_host_name(
        tls_server: tuple[MariaDBServer, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    server, tmp = tls_server
    monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp / "tenants-test-ca.pem"))
    with pytest.raises(AppError, match=r"TLS certificate refused: .*(mismatch|127\.0\.0\.1)"):
        _server(server.port, "127.0.0.1").connect()  # the certificate names localhost only


def test_runner_db_refuses_a_server_without_tls(
        mariadb_server: MariaDBServer, tls_server: tuple[MariaDBServer, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that offers no TLS (a stripped handshake looks the same) is refused, never
    talked to in plain text: PyMySQL 1.2's required mode."""
    _, tmp = tls_server
    monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp / "tenants-test-ca.pem"))
    with pytest.raises(AppError, match="SSL is required but the server doesn't support it"):
        _server(mariadb_server.port).connect()


def test_runner_db_a_remote_host_always_needs_a_verified_certificate(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import ssl

    from provisioner.app.connection import tls_context

    monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)
    assert tls_context("127.0.0.1") is None and tls_context("localhost") is None
    remote = tls_context("tenants.cluster-abc.us-east-1.rds.amazonaws.com")
    assert remote is not None and remote.verify_mode == ssl.CERT_REQUIRED
    assert remote.check_hostname
    monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp_path / "missing.pem"))
    with pytest.raises(AppError, match=r"missing\.pem: no such file"):
        tls_context("db.example.com")


class _Socks5:
    """A minimal SOCKS5 server on 127.0.0.1 (RFC 1928, no authentication, CONNECT only) that
    records the destinations it was asked for and relays the bytes."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.asked: list[tuple[str, int]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    @staticmethod
    def _exact(sock: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                raise OSError("closed")
            data += chunk
        return data

    def _handle(self, client: socket.socket) -> None:
        with client:
            _, count = self._exact(client, 2)
            self._exact(client, count)
            client.sendall(b"\x05\x00")
            _, cmd, _, kind = self._exact(client, 4)
            if kind == 3:
                host = self._exact(client, self._exact(client, 1)[0]).decode()
            else:
                host = str(ipaddress.ip_address(self._exact(client, 4)))
            (port,) = struct.unpack("!H", self._exact(client, 2))
            self.asked.append((host, port))
            if host != "localhost" or cmd != 1:  # only what the test expects, on loopback
                client.sendall(b"\x05\x02\x00\x01" + bytes(6))
                return
            upstream = socket.create_connection(("127.0.0.1", port))
            client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") +
                           struct.pack("!H", port))
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            self._pipe(client, upstream)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.sock.close()


def test_runner_db_goes_through_the_socks_tunnel_with_tls_end_to_end(
        tls_server: tuple[MariaDBServer, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """PROVISIONER_DB_PROXY: the proxy is asked for the server's name (resolved on its side,
    as a private RDS name is inside the VPC) and the certificate is still checked against it."""
    server, tmp = tls_server
    proxy = _Socks5()
    try:
        monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp / "tenants-test-ca.pem"))
        monkeypatch.setenv(PROXY_ENV, f"socks5://127.0.0.1:{proxy.port}")
        conn = _server(server.port).connect()
        try:
            assert _cipher(conn)
        finally:
            conn.close()
        assert proxy.asked == [("localhost", server.port)]
        monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp / "some-other-ca.pem"))
        with pytest.raises(AppError, match="TLS certificate refused"):
            _server(server.port).connect()
    finally:
        proxy.close()


def test_runner_db_proxy_refusal_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = _Socks5()
    try:
        monkeypatch.setenv(PROXY_ENV, f"socks5://127.0.0.1:{proxy.port}")
        monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)
        with pytest.raises(AppError) as caught:
            Server("db.internal.example", 3306, "root", "pw").connect()
        assert f"through the proxy {PROXY_ENV}" in str(caught.value)
        assert "\n" not in str(caught.value) and "pw" not in str(caught.value).split(": ")[0]
    finally:
        proxy.close()
