"""What the first apply of an adopted spec would change in the app, field by field.

The spec is rendered with `desired_account` and compared with the account's rows on exactly
the columns the stack's day-2 sync writes (`day2_sync`), user 1's modules and levels, the
database tier and the tenant database's character set. Whatever differs is reported as a
`Difference`, never written back silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioner.app.account import desired_account
from provisioner.app.account_read import Account, as_text
from provisioner.app.day2_sync import (
    client_columns,
    company_columns,
    configuration_columns,
    tenant_level_ids,
)
from provisioner.app.tenant_database import TENANT_CHARSET, TENANT_COLLATION
from provisioner.model.catalog import Catalog, DatabaseTier
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.secrets import SMTP_PASSWORD, SOL_PASSWORD


@dataclass
class Difference:
    """Something the app holds that the adopted spec would change on the first apply."""

    field: str
    app: Any
    spec: Any
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "app": self.app, "spec": self.spec, "why": self.why}

    def __str__(self) -> str:
        text = f"{self.field}: the app has {self.app!r}, the spec would write {self.spec!r}"
        return f"{text} ({self.why})" if self.why else text



def compare(account: Account, spec: TenantSpec, reseller: ResellerSpec, catalog: Catalog,
            secrets: dict[str, str]) -> list[Difference]:
    """What the stack's onboarding (sync) would change in the app for this spec: the columns
    `update()` and the lock buttons write, and user 1's modules and levels."""
    plan_def = catalog.plans[spec.plan]
    silo = plan_def.tier is DatabaseTier.SILO
    name = as_text(account.company["certificate"]) if account.company and \
        account.company.get("certificate") else None
    d = desired_account(spec, reseller, catalog, sol_password=secrets.get(SOL_PASSWORD.key),
                        smtp_password=secrets.get(SMTP_PASSWORD.key),
                        certificate_name=f"certificate_{spec.ruc}.pem" if spec.certificate
                        else None, silo=silo)
    out: list[Difference] = []
    assert account.client and account.company and account.configuration and account.plan
    out += _diff("clients", account.client, client_columns(d, account.plan))
    out += _diff("configurations", account.configuration,
                 configuration_columns(d, account.plan))
    company_want = company_columns(d, upload=spec.certificate)
    diffs = _diff("companies", account.company, company_want)
    for diff in diffs:
        if diff.field == "companies.certificate":
            diff.why = (f"the app's file {name} stays; the first apply places the stack secret "
                        f"certificate as certificate_{spec.ruc}.pem")
        if diff.field == "companies.soap_password":
            diff.app, diff.spec = "********", ("********" if diff.spec else None)
    out += diffs
    trade = account.company.get("trade_name")
    if trade not in (None, "", account.company["name"]):
        out.append(Difference("companies.trade_name", trade, account.company["name"],
                              "store() writes the razón social as trade name; kept as the "
                              "app has it (the edit form does not write it)"))
    if sorted(account.module_ids) != sorted(d.day2_module_ids):
        out.append(Difference("module_user", sorted(account.module_ids),
                              sorted(d.day2_module_ids), "modules of the admin user (1)"))
    # the sync leaves the levels alone in store()'s form (system ids) and in update()'s (the
    # tenant's ids of the same values), and otherwise writes update()'s: the spec's value here
    written = tenant_level_ids(account.tenant_levels, d.level_values) \
        if account.tenant_levels else sorted(d.day2_level_ids)
    if sorted(account.level_ids) not in (sorted(d.day2_level_ids), written):
        out.append(Difference("module_level_user", sorted(account.level_ids), written,
                              "levels of the admin user (1), as the edit form writes them"))
    pharmacy = int("digemid" in d.module_values)
    if account.configuration.get("is_pharmacy") not in (None, pharmacy):
        out.append(Difference("configurations.is_pharmacy",
                              account.configuration.get("is_pharmacy"), pharmacy,
                              "update() recomputes it from the digemid module on every save"))
    if account.website.get("managed_by_database_connection") != \
            d.managed_by_database_connection:
        out.append(Difference("websites.managed_by_database_connection",
                              account.website.get("managed_by_database_connection"),
                              d.managed_by_database_connection,
                              "the plan's database tier (pool/silo)"))
    if not silo and account.schema is not None and \
            account.schema != (TENANT_CHARSET, TENANT_COLLATION):
        out.append(Difference(
            "database", "/".join(account.schema), f"{TENANT_CHARSET}/{TENANT_COLLATION}",
            "the stack imports the tenant database with the character set and collation it "
            "declares, and an import whose inputs differ fails; ALTER DATABASE "
            f"`{account.uuid}` CHARACTER SET {TENANT_CHARSET} COLLATE {TENANT_COLLATION} "
            "(tables keep theirs), then adopt again"))
    if len(account.user_hosts) > 1:
        out.append(Difference("database user", account.user_hosts, account.user_hosts[:1],
                              "several hosts for the tenant user; the stack imports the first"))
    return out



def _diff(table: str, row: dict[str, Any], want: dict[str, Any]) -> list[Difference]:
    out = []
    for key, wanted in want.items():
        have = row.get(key)
        have = have.decode() if isinstance(have, bytes) else have
        wanted = str(wanted) if wanted is not None and type(wanted) is not int and \
            isinstance(wanted, str) else wanted
        if have != wanted:
            out.append(Difference(f"{table}.{key}", have, wanted))
    return out

