"""The one table of SUNAT SOAP endpoints (shared/reference/sunat.md).

Templates, the SOAP client and the tests all read it from here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Service(StrEnum):
    INVOICES = "invoices"  # facturas, boletas, notas, resúmenes, bajas (billService)
    OTHER_CPE = "other_cpe"  # retenciones, percepciones, reversiones
    DISPATCH = "dispatch"  # guías de remisión
    CDR_QUERY = "cdr_query"  # consulta CDR (billConsultService)


class Stage(StrEnum):
    BETA = "beta"
    PRODUCTION = "production"
    PRODUCTION_ALTERNATE = "production_alternate"


SUNAT_ENDPOINTS: Final[dict[Stage, dict[Service, str | None]]] = {
    Stage.BETA: {
        Service.INVOICES: "https://e-beta.sunat.gob.pe/ol-ti-itcpfegem-beta/billService",
        Service.OTHER_CPE: "https://e-beta.sunat.gob.pe/ol-ti-itemision-otroscpe-gem-beta/billService",
        Service.DISPATCH: "https://e-beta.sunat.gob.pe/ol-ti-itemision-guia-gem-beta/billService",
        Service.CDR_QUERY: None,
    },
    Stage.PRODUCTION: {
        Service.INVOICES: "https://e-factura.sunat.gob.pe/ol-ti-itcpfegem/billService",
        Service.OTHER_CPE: "https://e-factura.sunat.gob.pe/ol-ti-itemision-otroscpe-gem/billService",
        Service.DISPATCH: "https://e-guiaremision.sunat.gob.pe/ol-ti-itemision-guia-gem/billService",
        Service.CDR_QUERY: "https://e-factura.sunat.gob.pe/ol-it-wsconscpegem/billConsultService",
    },
    Stage.PRODUCTION_ALTERNATE: {
        Service.INVOICES: "https://www.sunat.gob.pe/ol-ti-itcpfegem/billService",
        Service.OTHER_CPE: "https://e-factura.sunat.gob.pe/ol-ti-itemision-otroscpe-gem/billService",
        Service.DISPATCH: "https://e-guiaremision.sunat.gob.pe/ol-ti-itemision-guia-gem/billService",
        Service.CDR_QUERY: "https://e-factura.sunat.gob.pe/ol-it-wsconscpegem/billConsultService",
    },
}

# SUNAT demo credentials: the app sends <RUC>MODDATOS / moddatos to beta.
DEMO_USER_SUFFIX: Final = "MODDATOS"
DEMO_PASSWORD: Final = "moddatos"  # public, documented by SUNAT: not a secret


def endpoint(stage: Stage, service: Service) -> str | None:
    return SUNAT_ENDPOINTS[stage][service]
