"""RUC lookups: SUNAT's padrón reducido in a local SQLite index, or an HTTP lookup service.

The admin form's "SUNAT" button fills the company name from a RUC; `provisioner new` and
`provisioner ruc lookup` do the same offline from the index `provisioner ruc import` builds.
Kept import-light (stdlib only): the CLI imports it while building its parser.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

INDEX_ENV: Final = "PROVISIONER_PADRON_INDEX"
TOKEN_ENV: Final = "PROVISIONER_RUC_LOOKUP_TOKEN"

# The padrón's 15 columns, in file order, under the names the index and JSON output use.
COLUMNS: Final = (
    "ruc", "name", "state", "condition", "ubigeo", "via_type", "via_name", "zone_code",
    "zone_type", "number", "interior", "lot", "apartment", "block", "km",
)


def default_index_path() -> Path:
    """$PROVISIONER_PADRON_INDEX, else a per-user cache file (the padrón is public data)."""
    env = os.environ.get(INDEX_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "provisioner" / "padron.sqlite3"


@dataclass(frozen=True)
class Taxpayer:
    """One padrón row; empty strings where SUNAT has `-`."""

    ruc: str
    name: str
    state: str = ""
    condition: str = ""
    ubigeo: str = ""
    via_type: str = ""
    via_name: str = ""
    zone_code: str = ""
    zone_type: str = ""
    number: str = ""
    interior: str = ""
    lot: str = ""
    apartment: str = ""  # the padrón's DEPARTAMENTO: a flat number, not the region
    block: str = ""
    km: str = ""
    full_address: str = ""  # what an HTTP service sends already formatted, if anything
    source: str = ""

    @property
    def is_active_and_located(self) -> bool:
        """ACTIVO and HABIDO: the only state in which SUNAT accepts the taxpayer's invoices."""
        return self.state.upper() == "ACTIVO" and self.condition.upper() == "HABIDO"

    @property
    def address(self) -> str:
        """The street address as SUNAT's own lookup prints it (the region comes from UBIGEO)."""
        if self.full_address:
            return self.full_address
        parts: list[str] = []
        if self.via_name:
            parts.append(f"{self.via_type} {self.via_name}".strip())
        for label, value in (("NRO.", self.number), ("INT.", self.interior),
                             ("DPTO.", self.apartment), ("MZA.", self.block),
                             ("LOTE.", self.lot), ("KM.", self.km)):
            if value:
                parts.append(f"{label} {value}")
        zone = f"{self.zone_code} {self.zone_type}".strip()
        if zone:
            parts.append(zone)
        return " ".join(parts)

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self)
        data.pop("full_address")
        data["address"] = self.address
        data["active_and_located"] = self.is_active_and_located
        return data
