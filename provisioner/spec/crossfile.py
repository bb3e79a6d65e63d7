"""Rules across files: what the app enforces between client accounts."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


# The values two client accounts may not share: (spec field, finding's name for it, key).
# Company names compare as the app's admin would read them (same_name_key).
UNIQUE_FIELDS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("subdomain", "subdomain", lambda spec: spec.subdomain),
    ("ruc", "RUC", lambda spec: spec.ruc),
    ("company_name", "company name",
     lambda spec: same_name_key(spec.company_name)),
)
MAX_NAMED = 3  # other files named in one duplicate finding; the rest are counted


def duplicate_message(what: str, others: Sequence[str], total: int) -> str:
    """The first (sorted) of the `total` other files sharing the value: a value shared by
    thousands of files must not print each file's name in each file's finding (1k files
    sharing a company name printed 52 MB)."""
    named = ", ".join(others[:MAX_NAMED])
    more = total - min(len(others), MAX_NAMED)
    return f"{what} already used by {named}" + (
        f" and {more:,} more file{'s' if more > 1 else ''}" if more > 0 else "")


def max_accounts_message(count: int, cap: int) -> str:
    return (f"Ha alcanzado el límite de clientes permitidos: {count} tenants for a "
            f"cap of {cap} (raise max_accounts, or null or 0 for no cap)")


def check_repository(tenants: list[LoadedTenant], reseller: ResellerSpec | None,
                     reseller_path: Path | None, *,
                     reseller_source: Source | None = None,
                     account_count: int | None = None) -> list[Finding]:
    """Findings that no single file shows; `reseller_source` lets the cap error point at the
    `max_accounts` line instead of the top of reseller.yaml. `account_count` is every tenant
    file, valid or not (a broken spec is still an account once fixed); default: `tenants`."""
    count = len(tenants) if account_count is None else account_count
    out: list[Finding] = []
    for field, what, key in UNIQUE_FIELDS:
        groups: dict[str, list[LoadedTenant]] = defaultdict(list)
        for t in tenants:
            groups[key(t.spec)].append(t)
        for group in groups.values():
            if len(group) < 2:
                continue
            names = sorted(o.source.name for o in group)
            for t in group:
                # the first names but this file's own: at most MAX_NAMED + 1 looked at
                own = t.source.name
                head = [n for n in names[:MAX_NAMED + 1] if n != own][:MAX_NAMED]
                out.append(t.source.finding((field,),
                                            duplicate_message(what, head, len(group) - 1)))
    if reseller is not None and has_cap(reseller.max_accounts) and (
            count > (reseller.max_accounts or 0)):
        message = max_accounts_message(count, reseller.max_accounts or 0)
        if reseller_source is not None:
            out.append(reseller_source.finding(("max_accounts",), message))
        else:
            out.append(Finding(str(reseller_path), 1, 1, "max_accounts", message))
    return out
