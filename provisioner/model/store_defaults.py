"""What the app's "Guardar" (`ClientController::store`) writes the same way for every account.

One place for these values: the rows the onboarding writes (`provisioner.app.account`) and the
documents a stack publishes (`provisioner.render.context`, bootstrap.json) both read them here.
"""

from __future__ import annotations

from typing import Final

# store(): the main establishment, ubigeo 150101 (Lima)
ESTABLISHMENT: Final = {
    "description": "Oficina Principal", "country_id": "PE", "department_id": "15",
    "province_id": "1501", "district_id": "150101", "address": "-", "telephone": "-",
    "code": "0000"}
WAREHOUSE_DESCRIPTION: Final = "Almacén Oficina Principal"
# store(): one `series` row per pair (document type, number), establishment 1, in its order
DOCUMENT_SERIES: Final = (
    ("01", "F001"),  # factura
    ("03", "B001"),  # boleta
    ("07", "FC01"),  # nota de crédito (factura)
    ("07", "BC01"),  # nota de crédito (boleta)
    ("08", "FD01"),  # nota de débito (factura)
    ("08", "BD01"),  # nota de débito (boleta)
    ("20", "R001"),  # retención
    ("09", "T001"),  # guía de remisión
    ("40", "P001"),  # percepción
    ("80", "NV01"),  # nota de venta
    ("04", "L001"),  # liquidación de compra
)
ADMIN_NAME: Final = "Administrador"
# config/app.php `timezone`: the zone of every timestamp the app writes (PHP's date(), now())
APP_TIMEZONE: Final = "America/Lima"
