"""Certificates read as the app and SUNAT read them: the RUC compared exactly from the subject's
fields, base64 as `base64 file.pfx` prints it, a file name given for the content named as such,
a bundle judged by the leaf of its key, RSA only. Certificates made with `cryptography`."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provisioner.app.certificate import CertificateError, load_certificate

RUC = "20512333797"
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = serialization.Encoding.PEM


def _name(**fields: str) -> x509.Name:
    oids = {"cn": NameOID.COMMON_NAME, "serial": NameOID.SERIAL_NUMBER,
            "ou": NameOID.ORGANIZATIONAL_UNIT_NAME, "o": NameOID.ORGANIZATION_NAME,
            "org_id": NameOID.ORGANIZATION_IDENTIFIER}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in fields.items()])


def _cert(subject: x509.Name, key=RSA_KEY, issuer: x509.Name | None = None, signer=None):
    signer = signer or (key if issuer is None else CA_KEY)
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer or subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=365)).sign(signer, algorithm))


def _pfx(key, cert, extra=None) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"c", key, cert, extra, serialization.BestAvailableEncryption(b"pw"))


def _key_pem(key) -> bytes:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


# --- the RUC, read from the subject's fields ---------------------------------------------------

@pytest.mark.parametrize("fields", [
    {"cn": "FERRETERIA", "serial": f"RUC:{RUC}"}, {"cn": "FERRETERIA", "serial": RUC},
    {"cn": "X", "org_id": f"VATPE-{RUC}"}, {"cn": "X", "ou": f"RUC {RUC}"},
    {"cn": f"FERRETERIA ANDINA S.A. - {RUC}"}])
def test_the_ruc_is_found_where_authorities_put_it(fields: dict[str, str]) -> None:
    cert = _cert(_name(**fields))
    assert load_certificate(_pfx(RSA_KEY, cert), "pw", RUC, now=NOW)


@pytest.mark.parametrize("fields", [
    {"cn": "X", "serial": f"RUC1{RUC}9"}, {"cn": "X", "serial": f"{RUC}0"},
    {"cn": "X", "serial": f"9{RUC}"}, {"cn": "X", "o": f"RUC {RUC}"},
    {"cn": "X", "serial": RUC[:-1]}])
def test_a_ruc_inside_a_longer_number_or_an_unread_field_is_refused(
        fields: dict[str, str]) -> None:
    with pytest.raises(CertificateError, match="does not carry the RUC"):
        load_certificate(_pfx(RSA_KEY, _cert(_name(**fields))), "pw", RUC, now=NOW)


@settings(max_examples=60, deadline=None)
@given(before=st.text("0123456789", max_size=3), after=st.text("0123456789", max_size=3),
       sep=st.sampled_from(["", " ", ":", "-", "RUC", "x"]))
@example(before="1", after="9", sep="RUC")
def test_the_ruc_matches_only_as_a_whole_number(before: str, after: str, sep: str) -> None:
    value = f"{sep}{before}{RUC}{after}"
    cert = _cert(_name(cn="X", serial=value))
    if before or after:
        with pytest.raises(CertificateError, match="does not carry"):
            load_certificate(_pfx(RSA_KEY, cert), "pw", RUC, now=NOW)
    else:
        assert load_certificate(_pfx(RSA_KEY, cert), "pw", RUC, now=NOW)


# --- the forms people paste ------------------------------------------------------------------

GOOD = _cert(_name(cn="X", serial=f"RUC:{RUC}"))


@settings(max_examples=40, deadline=None)
@given(width=st.integers(4, 120), newline=st.sampled_from(["\n", "\r\n", " ", "\t", "\n\n"]),
       edges=st.sampled_from(["", "\n", "  ", "\r\n"]))
@example(width=76, newline="\n", edges="\n")  # what `base64 file.pfx` prints
def test_wrapped_base64_is_the_same_certificate(width: int, newline: str, edges: str) -> None:
    flat = base64.b64encode(_pfx(RSA_KEY, GOOD)).decode()
    wrapped = edges + newline.join(flat[i:i + width] for i in range(0, len(flat), width)) + edges
    loaded = load_certificate(wrapped, "pw", RUC, now=NOW)
    assert x509.load_pem_x509_certificate(loaded.pem) == GOOD


@pytest.mark.parametrize("value", ["cert.pfx", "./empresa.p12", "/srv/firmas/certificado.PFX",
                                   "~/firma.pem", "C:\\certs\\firma.pfx"])
def test_a_file_name_for_the_content_gets_its_own_message(value: str) -> None:
    with pytest.raises(CertificateError, match="looks like a file name") as err:
        load_certificate(value, "pw", RUC, now=NOW)
    assert "base64" in str(err.value)


def test_text_that_is_no_certificate_at_all_says_so() -> None:
    with pytest.raises(CertificateError, match="neither a PKCS#12"):
        load_certificate("not a certificate!", "pw", RUC, now=NOW)


# --- bundles: judged by the leaf of the private key -----------------------------------------

CA = _cert(_name(cn="CA PERU", serial="20100000001"), key=CA_KEY)
LEAF = _cert(_name(cn="X", serial=f"RUC:{RUC}"), issuer=CA.subject)


@pytest.mark.parametrize("order", [("key", "ca", "leaf"), ("ca", "leaf", "key"),
                                   ("ca", "key", "leaf"), ("leaf", "ca", "key")])
def test_a_pem_bundle_in_any_order_is_judged_by_the_leaf(order: tuple[str, ...]) -> None:
    parts = {"key": _key_pem(RSA_KEY), "ca": CA.public_bytes(PEM), "leaf": LEAF.public_bytes(PEM)}
    loaded = load_certificate(b"".join(parts[p] for p in order), "", RUC, now=NOW)
    assert x509.load_pem_x509_certificate(loaded.pem) == LEAF
    assert loaded.pem.count(b"BEGIN CERTIFICATE") == 1


def test_a_bundle_without_the_keys_certificate_is_refused() -> None:
    data = _key_pem(RSA_KEY) + CA.public_bytes(PEM)
    with pytest.raises(CertificateError, match="does not belong"):
        load_certificate(data, "", RUC, now=NOW)


def test_a_pkcs12_with_its_chain_is_judged_by_its_key() -> None:
    loaded = load_certificate(_pfx(RSA_KEY, LEAF, [CA]), "pw", RUC, now=NOW)
    assert x509.load_pem_x509_certificate(loaded.pem) == LEAF


# --- RSA only --------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: ec.generate_private_key(ec.SECP256R1()), lambda: ed25519.Ed25519PrivateKey.generate(),
    lambda: dsa.generate_private_key(2048)], ids=["ec", "ed25519", "dsa"])
@pytest.mark.parametrize("form", ["pfx", "pem"])
def test_a_key_that_is_not_rsa_is_refused(make, form: str) -> None:
    key = make()
    cert = _cert(_name(cn="X", serial=f"RUC:{RUC}"), key=key, signer=key)
    data = _pfx(key, cert) if form == "pfx" else _key_pem(key) + cert.public_bytes(PEM)
    with pytest.raises(CertificateError, match="not RSA") as err:
        load_certificate(data, "pw" if form == "pfx" else "", RUC, now=NOW)
    assert "RSA-SHA" in str(err.value)
