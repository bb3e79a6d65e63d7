"""Rules across files: what the app enforces between client accounts."""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from pydantic import BaseModel, ValidationError

from provisioner.errors import Finding
from provisioner.model.models import ResellerSpec, TenantSpec

if TYPE_CHECKING:
    from provisioner.model.repository import LoadedTenant
    from provisioner.model.yaml_source import Source


def has_cap(max_accounts: int | None) -> bool:
    """The app's LIMITE_RESELLER: only a positive number limits; empty, 0 or less do not."""
    return max_accounts is not None and max_accounts > 0


def same_name_key(name: str) -> str:
    """Two names compare equal here when the app's database holds them as one: its columns are
    utf8mb4_unicode_ci (the tenant database's collation, `tenant_database.TENANT_COLLATION`),
    which ignores letter case, accents and other diacritics (Perú = PERU, Ñandú = nandu) and
    trailing spaces, and reads compatibility forms (full-width letters) as their letters. Runs
    of spaces also compare equal here (stricter than the collation: a name differing only there
    is one the admin could not tell apart). Used for company names by `validate` and `new`
    (through `keys_of_spec`/`keys_of_data`) and for plan labels in reseller.yaml."""
    name = name.casefold()  # first: casefolding can itself decompose (İ → i + U+0307)
    if not name.isascii():  # NFKD leaves ASCII as it is; most names skip its cost
        name = "".join(c for c in unicodedata.normalize("NFKD", name)
                       if not unicodedata.combining(c))
    return " ".join(name.split())


# The values two client accounts may not share: (spec field, finding's name for it).
UNIQUE_FIELDS: Final = (("subdomain", "subdomain"), ("ruc", "RUC"),
                        ("company_name", "company name"))


class Keys(NamedTuple):
    """What a tenant file holds of the values accounts may not share, by spec field; None
    where the field is absent or fails its own rules. Company names compare as the app's admin
    would read them (same_name_key). A named tuple, as `Member`: one of each per tenant file,
    and a frozen dataclass's `__init__` costs several times a tuple's."""

    subdomain: str | None = None
    ruc: str | None = None
    company_name: str | None = None

    def as_tuple(self) -> tuple[str | None, str | None, str | None]:
        return self.subdomain, self.ruc, self.company_name


NO_KEYS: Final = Keys()


def keys_of_spec(spec: TenantSpec) -> Keys:
    return Keys(spec.subdomain, spec.ruc, same_name_key(spec.company_name) or None)


@cache
def _field_model(name: str) -> tuple[type[BaseModel], tuple[Any, ...]]:
    """A model of TenantSpec's field `name` alone (its FieldInfo: type, constraints, annotated
    validators) and the model's own `mode="after"` validators of that field, so the field is
    judged exactly as TenantSpec judges it (tests/test_index.py compares them)."""
    from pydantic import create_model

    info = TenantSpec.model_fields[name]
    after = []
    for dec in TenantSpec.__pydantic_decorators__.field_validators.values():
        if name in dec.info.fields:
            if dec.info.mode != "after":  # none today; a new one must be handled here
                raise NotImplementedError(f"{dec.info.mode} validator of {name}")
            after.append(dec.func)
    model = create_model(  # type: ignore[call-overload]
        f"TenantSpec_{name}", __config__=TenantSpec.model_config | {"extra": "ignore"},
        **{name: (info.annotation, info)})
    return model, tuple(after)


def _field_value(name: str, raw: Any) -> Any:
    model, after = _field_model(name)
    value = getattr(model.model_validate({name: raw}), name)
    for func in after:
        value = func(value)  # bound to TenantSpec
    return value


def keys_of_data(data: Mapping[str, Any]) -> Keys:
    """The keys of a tenant file's mapping, each field checked on its own: a file with an
    error elsewhere (a wrong plan name, a typo in a module) still holds its RUC, so it still
    takes part in the rules between accounts, as it still counts against max_accounts."""
    values: dict[str, str | None] = {}
    for name, _ in UNIQUE_FIELDS:
        if name not in data:
            values[name] = None
            continue
        try:
            value = _field_value(name, data[name])
        except (ValidationError, ValueError):  # a validator outside the model raises ValueError
            value = None
        values[name] = (same_name_key(value) or None) if name == "company_name" and value else value
    return Keys(**values)


class Member(NamedTuple):
    """A tenant file in the rules between accounts: its `keys`; `source` to report on it, or
    None for a file only named (`shown`) and counted (one-tenant commands' index)."""

    keys: Keys
    source: Source | None = None
    shown: str = ""

    @property
    def name(self) -> str:
        """The file as findings show it, worked out only for a file that shares a value with
        another (the display form of every path cost ~0.6% of `validate`)."""
        return self.shown if self.source is None else self.source.name
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


def as_member(item: Member | LoadedTenant) -> Member:
    """A valid tenant (`LoadedTenant`, as callers before the index passed) as a member."""
    if isinstance(item, Member):
        return item
    return Member(keys_of_spec(item.spec), item.source)


def check_repository(members: Sequence[Member | LoadedTenant], reseller: ResellerSpec | None,
                     reseller_path: Path | None, *,
                     reseller_source: Source | None = None,
                     account_count: int | None = None) -> list[Finding]:
    """Findings that no single file shows, on the members that have a source.

    `members`: every tenant file whose subdomain, RUC or company name passes its own field
    rules, valid as a whole or not (a broken spec is still an account once fixed).
    `reseller_source` lets the cap error point at the `max_accounts` line instead of the top
    of reseller.yaml. `account_count` is every tenant file; default: `members`."""
    members = [as_member(m) for m in members]
    count = len(members) if account_count is None else account_count
    out: list[Finding] = []
    columns = list(zip(*(m.keys for m in members), strict=True)) or [()] * len(Keys._fields)
    for field, what in UNIQUE_FIELDS:
        column = columns[Keys._fields.index(field)]
        # counted in C; only the few shared values are grouped in Python
        shared = {v for v, n in Counter(column).items() if n > 1 and v is not None}
        if not shared:
            continue
        groups: dict[str, list[Member]] = defaultdict(list)
        for m, value in zip(members, column, strict=True):
            if value in shared:
                groups[value].append(m)
        for group in groups.values():
            if all(m.source is None for m in group):
                continue
            names = sorted(o.name for o in group)
            for m in group:
                if m.source is None:
                    continue
                # the first names but this file's own: at most MAX_NAMED + 1 looked at
                head = [n for n in names[:MAX_NAMED + 1] if n != m.name][:MAX_NAMED]
                out.append(m.source.finding((field,),
                                            duplicate_message(what, head, len(group) - 1)))
    if reseller is not None and has_cap(reseller.max_accounts) and (
            count > (reseller.max_accounts or 0)):
        message = max_accounts_message(count, reseller.max_accounts or 0)
        if reseller_source is not None:
            out.append(reseller_source.finding(("max_accounts",), message))
        else:
            out.append(Finding(str(reseller_path), 1, 1, "max_accounts", message))
    return out
