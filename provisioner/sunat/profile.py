"""How a tenant talks to SUNAT or its OSE: app codes, endpoints and the username on the wire.

The templates, the SOAP client and the tests all derive these from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.model.models import SoapEnvironment, SoapSend, TenantSpec
from provisioner.sunat.endpoints import DEMO_PASSWORD, DEMO_USER_SUFFIX, Service, Stage, endpoint


@dataclass(frozen=True)
class SoapProfile:
    send_code: str  # soap_send_id: '01' SUNAT, '02' OSE
    type_code: str  # soap_type_id: '01' demo, '02' production, '03' internal
    # exactly as sent in the WS-Security UsernameToken; None: an OSE in demo without a user,
    # which sends the admin's pre-filled credentials (the form hides the user fields)
    username: str | None
    public_password: str | None  # SUNAT demo's documented password; None: a secret is needed
    endpoints: dict[Service, str | None]

    @property
    def uses_public_credentials(self) -> bool:
        return self.public_password is not None


def stage_for(environment: SoapEnvironment, alternate: bool = False) -> Stage:
    if environment is SoapEnvironment.PRODUCTION:
        return Stage.PRODUCTION_ALTERNATE if alternate else Stage.PRODUCTION
    return Stage.BETA  # demo and internal never reach production


def soap_profile(spec: TenantSpec, alternate_server: bool = False) -> SoapProfile:
    soap = spec.soap
    if soap.send is SoapSend.OSE:
        # an OSE serves every document family at its own billService URL
        endpoints: dict[Service, str | None] = {s: soap.ose_url for s in Service}
        username: str | None = (spec.ruc if soap.ose_username_format == "ruc" else
                                f"{spec.ruc}{soap.sol_user}" if soap.sol_user else None)
        public = None
    else:
        stage = stage_for(soap.environment, alternate_server)
        endpoints = {s: endpoint(stage, s) for s in Service}
        if soap.environment is SoapEnvironment.PRODUCTION:
            username, public = f"{spec.ruc}{soap.sol_user}", None
        else:
            username, public = f"{spec.ruc}{DEMO_USER_SUFFIX}", DEMO_PASSWORD
    return SoapProfile(soap.send.app_code, soap.environment.app_code, username, public, endpoints)
