"""Rules across files: what the app enforces between client accounts."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.errors import Finding
from provisioner.spec.models import ResellerSpec

if TYPE_CHECKING:
    from provisioner.spec.loader import LoadedTenant


def check_repository(tenants: list[LoadedTenant], reseller: ResellerSpec | None,
                     reseller_path: Path | None) -> list[Finding]:
    out: list[Finding] = []
    for field, key, what in (
        ("subdomain", lambda t: t.spec.subdomain, "subdomain"),
        ("ruc", lambda t: t.spec.ruc, "RUC"),
        ("company_name", lambda t: " ".join(t.spec.company_name.casefold().split()),
         "company name"),
    ):
        groups: dict[str, list[LoadedTenant]] = defaultdict(list)
        for t in tenants:
            groups[key(t)].append(t)
        for group in groups.values():
            if len(group) < 2:
                continue
            for t in group:
                others = ", ".join(o.source.name for o in group if o is not t)
                out.append(t.source.finding((field,), f"{what} already used by {others}"))
    if reseller is not None and reseller.max_accounts is not None and (
            len(tenants) > reseller.max_accounts):
        out.append(Finding(str(reseller_path), 1, 1, "max_accounts", (
            f"Ha alcanzado el límite de clientes permitidos: {len(tenants)} tenants for a cap of "
            f"{reseller.max_accounts}")))
    return out
