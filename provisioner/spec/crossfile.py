"""Rules across files: what the app enforces between client accounts."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.errors import Finding
from provisioner.spec.models import ResellerSpec

if TYPE_CHECKING:
    from provisioner.spec.loader import LoadedTenant, Source


def has_cap(max_accounts: int | None) -> bool:
    """The app's LIMITE_RESELLER: only a positive number limits; empty, 0 or less do not."""
    return max_accounts is not None and max_accounts > 0


def same_name_key(name: str) -> str:
    """Two spellings of one company name compare equal: Unicode compatibility forms (NFKC:
    full-width letters, composed and decomposed accents), letter case and runs of spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def check_repository(tenants: list[LoadedTenant], reseller: ResellerSpec | None,
                     reseller_path: Path | None, *,
                     reseller_source: Source | None = None,
                     account_count: int | None = None) -> list[Finding]:
    """Findings that no single file shows; `reseller_source` lets the cap error point at the
    `max_accounts` line instead of the top of reseller.yaml. `account_count` is every tenant
    file, valid or not (a broken spec is still an account once fixed); default: `tenants`."""
    count = len(tenants) if account_count is None else account_count
    out: list[Finding] = []
    for field, key, what in (
        ("subdomain", lambda t: t.spec.subdomain, "subdomain"),
        ("ruc", lambda t: t.spec.ruc, "RUC"),
        ("company_name", lambda t: same_name_key(t.spec.company_name), "company name"),
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
    if reseller is not None and has_cap(reseller.max_accounts) and (
            count > (reseller.max_accounts or 0)):
        message = (f"Ha alcanzado el límite de clientes permitidos: {count} tenants for a "
                   f"cap of {reseller.max_accounts} (raise max_accounts, or null or 0 for no cap)")
        if reseller_source is not None:
            out.append(reseller_source.finding(("max_accounts",), message))
        else:
            out.append(Finding(str(reseller_path), 1, 1, "max_accounts", message))
    return out
