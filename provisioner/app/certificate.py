"""The signing certificate: read as certificate authorities issue it, checked, converted once.

The app takes a PKCS#12 (.pfx) and its password and stores one PEM with the private key and the
certificate (`GenerateCertificate::typePEM`), under `storage/app/certificates/`, named in
`companies.certificate`. We do the same conversion once, with `cryptography`, after checking
what the app does not: the certificate is in force, its subject carries the tenant's RUC, the
key belongs to it and is RSA.

RSA only: the app signs its XML with greenter's xmldsig, whose SignatureMethod is
`http://www.w3.org/2000/09/xmldsig#rsa-sha1` (github.com/thegreenter/xmldsig README); SUNAT's
XML signatures are RSA-SHA1/RSA-SHA256, so an EC or DSA key would be accepted here and fail at
the first invoice.

The RUC: the reference (`facturador-app.md`, `sunat.md`) does not spell out the subject layout;
Peruvian CAs put the company's RUC in `serialNumber` (e.g. `RUC:20512333797` or the bare
number), in `organizationIdentifier` (ETSI's `VATPE-<RUC>`), in an `OU` or in the `CN`. We
read those subject fields and take each run of digits in them as a whole: the RUC must be one
of those runs exactly (`RUC1<ruc>9` is a 13-digit run, not the RUC).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Final

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


_PEM_BLOCK: Final = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\s.*?-----END \1-----", re.DOTALL)
_DIGIT_RUN: Final = re.compile(r"(?<![0-9])[0-9]+(?![0-9])")
_FILE_SUFFIXES: Final = (".pfx", ".p12", ".pem", ".crt", ".cer", ".key")


def ruc_fields() -> tuple[Any, ...]:
    """The subject attributes a certificate authority carries the RUC in."""
    from cryptography.x509.oid import NameOID

    return (NameOID.SERIAL_NUMBER, NameOID.ORGANIZATION_IDENTIFIER,
            NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.COMMON_NAME)


def subject_rucs(cert: Any) -> set[str]:
    """Every whole run of 11 digits in the subject fields that carry a RUC."""
    found: set[str] = set()
    for oid in ruc_fields():
        for attribute in cert.subject.get_attributes_for_oid(oid):
            value = attribute.value if isinstance(attribute.value, str) else ""
            found.update(run for run in _DIGIT_RUN.findall(value) if len(run) == 11)
    return found


def looks_like_a_file_name(raw: bytes) -> bool:
    """A path or file name given where the file's content is expected."""
    text = raw.strip()
    if not text or len(text) > 4096 or b"\n" in text or text.startswith(b"-----BEGIN"):
        return False
    lowered = text.lower()
    return (lowered.endswith(tuple(s.encode() for s in _FILE_SUFFIXES))
            or text.startswith((b"/", b"./", b"../", b"~/")) or b"\\" in text)


def load_certificate(data: bytes | str, password: str, ruc: str,
                     now: dt.datetime | None = None) -> Certificate:
    """A PKCS#12 (raw, or base64 as `base64 file.pfx` prints it) or a PEM (key + certificate,
    with or without its chain), checked for this RUC."""
    from cryptography.hazmat.primitives import serialization

    raw = data.encode() if isinstance(data, str) else bytes(data)
    if looks_like_a_file_name(raw):
        raise CertificateError(
            "the certificate value looks like a file name, not the file's content: give the "
            "content (PROVISIONER_CERTIFICATE=\"$(base64 -w0 cert.pfx)\", or the PEM text)")
    secret = password.encode() if password else None
    if raw.lstrip().startswith(b"-----BEGIN"):
        key, certs = _read_pem(raw, secret)
    else:
        key, certs = _read_pkcs12(raw, secret)
    cert = _leaf(key, certs)
    _check_key_type(key)
    now = now or dt.datetime.now(dt.UTC)
    if cert.not_valid_after_utc <= now:
        raise CertificateError(f"the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    if cert.not_valid_before_utc > now:
        raise CertificateError(
            f"the certificate is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    if ruc not in subject_rucs(cert):
        raise CertificateError(
            f"the certificate's subject does not carry the RUC {ruc} (read from its "
            "serialNumber, organizationIdentifier, OU and CN fields)")
    encoding = serialization.Encoding.PEM
    pem = key.private_bytes(encoding, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()) + cert.public_bytes(encoding)
    return Certificate(pem=pem, not_after=cert.not_valid_after_utc,
                       subject=cert.subject.rfc4514_string())


def _read_pem(raw: bytes, secret: bytes | None) -> tuple[Any, list[Any]]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    blocks = [(m.group(1).decode(), m.group(0)) for m in _PEM_BLOCK.finditer(raw)]
    keys = [b for kind, b in blocks if kind.endswith("PRIVATE KEY")]
    certs_pem = [b for kind, b in blocks if kind in {"CERTIFICATE", "X509 CERTIFICATE"}]
    if len(keys) != 1 or not certs_pem:
        raise CertificateError("the PEM must hold one private key and its certificate (found "
                               f"{len(keys)} key(s) and {len(certs_pem)} certificate(s))")
    try:
        key = serialization.load_pem_private_key(keys[0], password=secret)
        certs = [x509.load_pem_x509_certificate(b) for b in certs_pem]
    except (ValueError, TypeError):
        raise CertificateError("the PEM certificate or its key cannot be read "
                               "(wrong password, or not a key and a certificate)") from None
    return key, certs


def _read_pkcs12(raw: bytes, secret: bytes | None) -> tuple[Any, list[Any]]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    der = raw
    if raw[:1] != b"\x30":  # DER (a PKCS#12 is a SEQUENCE) starts with 0x30: else base64
        # `base64 file.pfx` wraps at 76 columns; an env file or a paste adds spaces and CRs
        compact = b"".join(raw.split())
        try:
            der = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise CertificateError("the certificate is neither a PKCS#12 (.pfx), its base64, "
                                   "nor a PEM") from None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(der, secret)
    except (ValueError, TypeError):
        raise CertificateError("the PKCS#12 (.pfx) cannot be opened: wrong password or "
                               "not a PKCS#12 file") from None
    if key is None or cert is None:
        raise CertificateError("the PKCS#12 (.pfx) must hold a private key and its certificate")
    return key, [cert, *extra]


def _public(obj: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return obj.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _leaf(key: Any, certs: list[Any]) -> Any:
    """The certificate of this private key, wherever it stands in a bundle (a chain pasted with
    the CA first is judged by the leaf, not by the CA)."""
    mine = _public(key)
    for cert in certs:
        if _public(cert) == mine:
            return cert
    raise CertificateError("the private key does not belong to the certificate"
                           + (" (nor to any certificate of the bundle)" if len(certs) > 1 else ""))


def _check_key_type(key: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not isinstance(key, rsa.RSAPrivateKey):
        kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "") or "this"
        raise CertificateError(
            f"the certificate's key is {kind}, not RSA: SUNAT's XML signatures (and the app's "
            "signer) are RSA-SHA1/RSA-SHA256; ask the certificate authority for an RSA key")
