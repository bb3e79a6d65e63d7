"""The signing certificate: read as certificate authorities issue it, checked, converted once.

The app takes a PKCS#12 (.pfx) and its password and stores one PEM with the private key and the
certificate (`GenerateCertificate::typePEM`), under `storage/app/certificates/`, named in
`companies.certificate`. We do the same conversion once, with `cryptography`, after checking
what the app does not: the certificate is in force, its subject carries the tenant's RUC, and
the key belongs to it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

from provisioner.errors import ProvisionerError


class CertificateError(ProvisionerError):
    """The certificate cannot be used; the message never quotes the certificate or password."""


@dataclass(frozen=True)
class Certificate:
    pem: bytes  # private key (PKCS#8, unencrypted) + certificate, as the app's PEM file holds
    not_after: dt.datetime
    subject: str

    def file_name(self, ruc: str) -> str:
        """The app's own name for an uploaded certificate (`update()`: certificate_<RUC>.pem)."""
        return f"certificate_{ruc}.pem"


def load_certificate(data: bytes | str, password: str, ruc: str,
                     now: dt.datetime | None = None) -> Certificate:
    """A PKCS#12 (raw or base64) or a PEM (key + certificate), checked for this RUC."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    raw = data.encode() if isinstance(data, str) else data
    secret = password.encode() if password else None
    if raw.lstrip().startswith(b"-----BEGIN"):
        try:
            cert = x509.load_pem_x509_certificate(raw)
            key = serialization.load_pem_private_key(raw, password=secret)
        except (ValueError, TypeError):
            raise CertificateError("the PEM certificate or its key cannot be read "
                                   "(wrong password, or not a key and a certificate)") from None
    else:
        try:
            der = base64.b64decode(raw, validate=True) if _looks_base64(raw) else raw
        except binascii.Error:
            der = raw
        try:
            key, cert, _extra = pkcs12.load_key_and_certificates(der, secret)
        except (ValueError, TypeError):
            raise CertificateError("the PKCS#12 (.pfx) cannot be opened: wrong password or "
                                   "not a PKCS#12 file") from None
        if key is None or cert is None:
            raise CertificateError("the PKCS#12 (.pfx) must hold a private key and its certificate")
    now = now or dt.datetime.now(dt.UTC)
    if cert.not_valid_after_utc <= now:
        raise CertificateError(f"the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    if cert.not_valid_before_utc > now:
        raise CertificateError(
            f"the certificate is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    subject = cert.subject.rfc4514_string()
    if ruc not in subject:
        raise CertificateError(f"the certificate's subject does not carry the RUC {ruc}")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.PEM
    if key.public_key().public_bytes(encoding, public) != cert.public_key().public_bytes(
            encoding, public):
        raise CertificateError("the private key does not belong to the certificate")
    pem = key.private_bytes(encoding, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()) + cert.public_bytes(encoding)
    return Certificate(pem=pem, not_after=cert.not_valid_after_utc, subject=subject)


def _looks_base64(raw: bytes) -> bool:
    return raw[:1] != b"\x30"  # DER (a PKCS#12 is a SEQUENCE) starts with 0x30
