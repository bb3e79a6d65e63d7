"""Find a taxpayer by RUC: in the local padrón index, or through an HTTP lookup service.

The index comes first (offline, no token, no rate limit); the HTTP service, configured with
`ruc_lookup_url` in reseller.yaml, is only asked when no index exists.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from provisioner.errors import ProvisionerError, UsageError
from provisioner.model.rules import ruc_problem
from provisioner.ruc import COLUMNS, TOKEN_ENV, Taxpayer, default_index_path
from provisioner.safe_text import unprintable_chars

HTTP_TIMEOUT: Final = 10.0


class RucLookupError(ProvisionerError):
    """The lookup itself failed (no index, unreadable index, service down)."""


def check_ruc(ruc: str) -> str:
    """The RUC, or a usage error saying why it cannot be one (before any lookup is made)."""
    ruc = ruc.strip()
    problem = ruc_problem(ruc)
    if problem:
        raise UsageError(f"{ruc!r} is not a valid RUC: {problem}")
    return ruc


class PadronIndex:
    """A read-only connection to the index; reuse it for many lookups."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise RucLookupError(f"no padrón index at {path}: run `provisioner ruc import "
                               "padron_reducido_ruc.zip` first")
        try:
            self._con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            fmt = self._con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.Error as exc:
            raise RucLookupError(f"{path} is not a padrón index ({exc}); "
                               "re-run `provisioner ruc import`") from None
        if fmt is None or not str(fmt[0]).startswith("provisioner-padron-"):
            self._con.close()
            raise RucLookupError(f"{path} is not a padrón index; re-run `provisioner ruc import`")
        self._select = f"SELECT {', '.join(COLUMNS)} FROM taxpayer WHERE ruc = ?"

    def get(self, ruc: str) -> Taxpayer | None:
        if not (len(ruc) == 11 and ruc.isascii() and ruc.isdigit()):
            return None
        try:
            row = self._con.execute(self._select, (int(ruc),)).fetchone()
        except sqlite3.Error as exc:
            raise RucLookupError(f"cannot read the padrón index {self.path}: {exc}") from None
        if row is None:
            return None
        values = {c: (v or "") for c, v in zip(COLUMNS[1:], row[1:], strict=True)}
        return Taxpayer(ruc=f"{row[0]:011d}", source=f"padrón index {self.path}", **values)

    def info(self) -> dict[str, str]:
        return dict(self._con.execute("SELECT key, value FROM meta").fetchall())

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> PadronIndex:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def lookup_index(ruc: str, path: Path) -> Taxpayer | None:
    with PadronIndex(path) as index:
        return index.get(ruc)


# JSON keys of the common Peruvian lookup APIs, compared lower-case without `_`, `-` or spaces.
_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "name": ("razonsocial", "nombreorazonsocial", "nombre", "name", "businessname"),
    "state": ("estado", "estadodelcontribuyente", "state", "status"),
    "condition": ("condicion", "condiciondedomicilio", "condiciondomicilio", "condition"),
    "ubigeo": ("ubigeo",),
    "via_type": ("tipodevia", "viatipo", "tipovia", "viatype"),
    "via_name": ("nombredevia", "vianombre", "nombrevia", "vianame"),
    "zone_code": ("codigodezona", "zonacodigo", "codigozona", "zonecode"),
    "zone_type": ("tipodezona", "zonatipo", "tipozona", "zonetype"),
    "number": ("numero", "number"),
    "interior": ("interior",),
    "lot": ("lote", "lot"),
    "apartment": ("dpto", "apartment"),  # not "departamento": APIs use it for the region
    "block": ("manzana", "block"),
    "km": ("kilometro", "km"),
    "full_address": ("direccion", "direccioncompleta", "domiciliofiscal", "address"),
}
_RUC_KEYS: Final = ("ruc", "numerodocumento", "numero_documento")


def _norm(key: str) -> str:
    key = key.lower()
    for a, b in (("á", "a"), ("é", "e"), ("í", "i"), ("ó", "o"), ("ú", "u")):
        key = key.replace(a, b)
    return re.sub(r"[\s_\-]", "", key)


def _text(value: Any) -> str:
    if isinstance(value, list):  # apiperu-style ubigeo: ["15", "1501", "150101"]
        value = value[-1] if value else ""
    if value is None or isinstance(value, dict | bool):
        return ""
    text = str(value)
    if not text.isprintable():  # a service's control characters would reach the terminal
        bad = set(unprintable_chars(text))
        text = "".join(" " if c in bad else c for c in text)
    text = text.strip()
    return "" if not text.strip("-") else text


def taxpayer_from_json(ruc: str, data: Any, source: str) -> Taxpayer | None:
    """Map a lookup service's JSON answer to the padrón's fields; None when it says not found."""
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        if data.get("success") is False:
            return None
        data = data["data"]
    if not isinstance(data, dict):
        raise RucLookupError(f"the RUC lookup service answered {type(data).__name__}, "
                           "not a JSON object")
    if data.get("success") is False or not data:
        return None
    flat = {_norm(k): v for k, v in data.items() if isinstance(k, str)}
    for key in _RUC_KEYS:
        answered = _text(flat.get(_norm(key)))
        if answered and answered != ruc:
            raise RucLookupError(f"the RUC lookup service answered for RUC {answered}, "
                               f"not {ruc}")
    fields = {}
    for name, aliases in _ALIASES.items():
        fields[name] = next((_text(flat[a]) for a in aliases if _text(flat.get(a))), "")
    if not fields["name"]:
        raise RucLookupError("the RUC lookup service answered without a name "
                           f"(keys: {', '.join(sorted(data)[:10])})")
    return Taxpayer(ruc=ruc, source=source, **fields)


def lookup_http(ruc: str, url: str, token: str | None = None,
                timeout: float = HTTP_TIMEOUT) -> Taxpayer | None:
    """Ask the service at `url` (`{ruc}` in it is replaced, else `/<ruc>` is appended)."""
    import requests

    target = url.replace("{ruc}", ruc) if "{ruc}" in url else f"{url.rstrip('/')}/{ruc}"
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    host = re.sub(r"^(\w+://[^/]+).*$", r"\1", url)
    try:
        response = requests.get(target, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise RucLookupError(f"the RUC lookup service {host} did not answer: "
                           f"{type(exc).__name__}") from None
    if response.status_code == 404:
        return None
    if response.status_code in (401, 403):
        hint = "check" if token else "set"
        raise RucLookupError(f"the RUC lookup service {host} refused the request "
                           f"(HTTP {response.status_code}): {hint} {TOKEN_ENV}")
    if response.status_code >= 400:
        raise RucLookupError(f"the RUC lookup service {host} failed: HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise RucLookupError(f"the RUC lookup service {host} did not answer JSON") from None
    return taxpayer_from_json(ruc, data, f"lookup service {host}")


def find_taxpayer(ruc: str, index: Path | None = None,
                  url: str | None = None) -> Taxpayer | None:
    """The index when it exists (`index`, else the default path), else the HTTP service."""
    path = index or default_index_path()
    if index is not None or path.exists():
        return lookup_index(ruc, path)
    if url:
        return lookup_http(ruc, url, os.environ.get(TOKEN_ENV) or None)
    raise RucLookupError(f"no padrón index at {path}: run `provisioner ruc import "
                         "padron_reducido_ruc.zip`, or set ruc_lookup_url in reseller.yaml")
