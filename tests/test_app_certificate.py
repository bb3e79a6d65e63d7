"""The signing certificate: PKCS#12 or PEM, checked for validity, RUC and key, converted once."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from provisioner.app.certificate import CertificateError, load_certificate

RUC = "20512333797"
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _cert(ruc: str = RUC, days: int = 365, start: int = -1, key=None):
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FERRETERIA ANDINA S.A."),
                      x509.NameAttribute(NameOID.SERIAL_NUMBER, f"RUC:{ruc}")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW + dt.timedelta(days=start))
            .not_valid_after(NOW + dt.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    return key, cert


def _pfx(key, cert, password: bytes = b"pfx-pass") -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"cert", key, cert, None, serialization.BestAvailableEncryption(password))


def test_a_pkcs12_in_base64_becomes_the_apps_pem() -> None:
    key, cert = _cert()
    loaded = load_certificate(base64.b64encode(_pfx(key, cert)), "pfx-pass", RUC, now=NOW)
    assert loaded.pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert b"-----BEGIN CERTIFICATE-----" in loaded.pem
    assert x509.load_pem_x509_certificate(loaded.pem) == cert
    assert loaded.file_name(RUC) == f"certificate_{RUC}.pem"


def test_raw_pkcs12_and_pem_are_accepted() -> None:
    key, cert = _cert()
    assert load_certificate(_pfx(key, cert), "pfx-pass", RUC, now=NOW)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(b"pem-pass")) + \
        cert.public_bytes(serialization.Encoding.PEM)
    assert load_certificate(pem.decode(), "pem-pass", RUC, now=NOW)


@pytest.mark.parametrize(("case", "message"), [
    ("expired", "expired"), ("future", "not valid before"), ("ruc", "does not carry the RUC"),
    ("password", "wrong password"), ("key", "does not belong")])
def test_unusable_certificates_are_refused_without_quoting_secrets(case, message) -> None:
    key, cert = _cert(days=-1, start=-30) if case == "expired" else (
        _cert(start=5) if case == "future" else _cert(ruc="20999999990" if case == "ruc" else RUC))
    data = _pfx(key, cert)
    password = "wrong" if case == "password" else "pfx-pass"
    if case == "key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        data = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()) + \
            cert.public_bytes(serialization.Encoding.PEM)
        password = ""
    with pytest.raises(CertificateError, match=message) as err:
        load_certificate(data, password, RUC, now=NOW)
    assert "pfx-pass" not in str(err.value)
