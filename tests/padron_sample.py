"""SUNAT's "padrón reducido" in its own format (Latin-1, pipes, the header's 15 columns), a few
rows of it, imported into an index of the test's own: the RUC lookup never reads ~/.cache."""

from __future__ import annotations

from pathlib import Path

HEADER = ("RUC|NOMBRE O RAZÓN SOCIAL|ESTADO DEL CONTRIBUYENTE|CONDICIÓN DE DOMICILIO|UBIGEO"
          "|TIPO DE VÍA|NOMBRE DE VÍA|CÓDIGO DE ZONA|TIPO DE ZONA|NÚMERO|INTERIOR|LOTE"
          "|DEPARTAMENTO|MANZANA|KILÓMETRO|")
SUNAT = ("20131312955|SUPERINTENDENCIA NACIONAL DE ADUANAS Y DE ADMINISTRACION TRIBUTARIA - "
         "SUNAT|ACTIVO|HABIDO|150115|AV.|GARCILASO DE LA VEGA|-|-|1472|-|-|-|-|-|")

# a taxpayer struck off (BAJA DE OFICIO, NO HABIDO): `new` and the form warn about it
STRUCK_OFF = ("20100070970|PANADERÍA PE?A S.A.C.|BAJA DE OFICIO|NO HABIDO|150101"
              "|-|-|-|-|-|-|-|-|-|-|")


def padron_bytes(*rows: str) -> bytes:
    """The file SUNAT publishes, with the header, SUNAT's own row and `rows`."""
    return "\n".join([HEADER, SUNAT, *rows]).encode("latin-1")


def padron_index(tmp_path: Path, *rows: str) -> Path:
    """An index imported from such a file, under `tmp_path`."""
    from provisioner.ruc.padron import import_padron

    source = tmp_path / "padron_reducido_ruc.txt"
    source.write_bytes(padron_bytes(*rows))
    index = tmp_path / "padron.sqlite3"
    import_padron(source, index)
    return index
