"""The spec fields the app writes only when an account is created (or never), so an edit is said.

`store()` writes them; the edit dialog's `update()` and the lock buttons never do (docs/app.md,
"Day 2"). A spec that changes one afterwards describes something the app does not hold: `plan`
and `validate --base` warn from the spec's history, `onboard` from the account's own rows.
One table, `FIELDS`, serves all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CreationOnly:
    field: str  # the spec's key
    columns: str  # the app's columns that keep the value written at creation
    instead: str  # what to do to change it in the app
    never: bool = False  # not written even at creation

    def detail(self, what: str = "changed") -> str:
        if self.never:
            return (f"{self.field} {what}, but the app never writes it ({self.columns}): "
                    f"{self.instead}")
        return (f"{self.field} {what}, but the app writes {self.columns} only when the account "
                f"is created; the edit dialog (update()) never changes it, so the account keeps "
                f"the old value: {self.instead}")

    def message(self, stack: str, what: str = "changed") -> str:
        return f"{stack}: {self.detail(what)}"


_RECREATE = ("re-create the account (a new tenant file on a new subdomain, then remove the "
             "old one) to have it written")
FIELDS: tuple[CreationOnly, ...] = (
    CreationOnly("ruc", "clients.number and companies.number",
                 "a new RUC is a new client: " + _RECREATE),
    CreationOnly("company_name", "clients.name, companies.name and companies.trade_name",
                 "the tenant's admin edits the company's name in the app's own company "
                 "settings, or " + _RECREATE),
    CreationOnly("trade_name", "store() writes the razón social as companies.trade_name; the "
                 "form has no trade name",
                 "the tenant's admin sets the trade name in the app's own company settings",
                 never=True),
    CreationOnly("admin_email", "clients.email and users.email of the admin (user 1)",
                 "the admin user changes its e-mail in the app (its user's profile; "
                 "clients.email keeps the creation one), or " + _RECREATE),
    CreationOnly("user_type", "users.type of the admin (user 1)",
                 "the edit dialog does not show the type: " + _RECREATE),
    CreationOnly("admin_password", "users.password of the admin (user 1)",
                 "the password is set once; change it in the app (the admin's profile, or the "
                 "reseller's 'reset password', which sets the RUC)"),
    CreationOnly("sunat_alternate_server", "configurations.sunat_alternate_server",
                 "change it in the app's own configuration of the tenant, or " + _RECREATE),
)
BY_FIELD: Mapping[str, CreationOnly] = {f.field: f for f in FIELDS}


def _value(data: Mapping[str, Any] | None, key: str) -> Any:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value.strip() if isinstance(value, str) else value


def changed_fields(old: Any, new: Any, *, alternate_default: bool | None = None) -> list[str]:
    """The creation-only keys whose value differs between two parsed tenant files (raw YAML
    mappings, no models). `alternate_default`: the reseller's `sunat_alternate_server`, which
    an absent key means; None compares the keys as written."""
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return []
    out = []
    for f in FIELDS:
        before, after = _value(old, f.field), _value(new, f.field)
        if f.field == "sunat_alternate_server" and alternate_default is not None:
            before = alternate_default if before is None else before
            after = alternate_default if after is None else after
        if f.field == "ruc":  # 20123456789 and "20123456789" are the same RUC
            before, after = (None if v is None else str(v) for v in (before, after))
        if before != after:
            out.append(f.field)
    return out


def limit_users_message(stack: str, kept: Any, plan: str, allowed: Any) -> str:
    """update() copies a new plan's limit_documents and JSON, never its limit_users."""
    return (f"{stack}: plan {plan!r} allows {allowed} users, but configurations.limit_users "
            f"stays {kept} (written only when the account is created; update() copies the "
            "plan's limit_documents and JSON, not limit_users): the tenant's user limit is the "
            "creation plan's until the account is re-created")


def spec_warnings(stack: str, old: Any, new: Any, *, alternate_default: bool | None = None,
                  limit_users: Mapping[str, int] | None = None) -> list[str]:
    """One warning per creation-only field a spec edit changes (`changed_fields`), and one
    when the plan changes to one with another user limit (`limit_users`: plan name → its
    limit_users, from the catalog; None: not checked)."""
    out = [BY_FIELD[k].message(stack) for k in
           changed_fields(old, new, alternate_default=alternate_default)]
    if limit_users and isinstance(old, Mapping) and isinstance(new, Mapping):
        before, after = old.get("plan"), new.get("plan")
        if (isinstance(before, str) and isinstance(after, str) and before != after
                and before in limit_users and after in limit_users
                and limit_users[before] != limit_users[after]):
            out.append(limit_users_message(stack, limit_users[before], after,
                                           limit_users[after]))
    return out


def account_warnings(stack: str, desired: Any, rows: Mapping[str, Mapping[str, Any] | None]
                     ) -> list[str]:
    """What the account's rows hold, against the spec, for the creation-only fields the app
    keeps in its rows (`desired`: a DesiredAccount; `rows`: "clients", "companies", "users"
    (user 1), "configurations" (row 1), "plans" (the client's plan row))."""
    def has(table: str, column: str) -> Any:
        row = rows.get(table) or {}
        value = row.get(column)
        return value.decode() if isinstance(value, bytes) else value

    checks = {
        "ruc": [("clients", "number", desired.client["number"]),
                ("companies", "number", desired.company["number"])],
        "company_name": [("clients", "name", desired.client["name"]),
                         ("companies", "name", desired.company["name"])],
        "admin_email": [("clients", "email", desired.client["email"]),
                        ("users", "email", desired.user["email"])],
        "user_type": [("users", "type", desired.user["type"])],
        "sunat_alternate_server": [("configurations", "sunat_alternate_server",
                                    desired.configuration["sunat_alternate_server"])],
    }
    out = []
    plan, config = rows.get("plans"), rows.get("configurations")
    if plan is not None and config is not None and \
            config.get("limit_users") != plan.get("limit_users"):
        out.append(limit_users_message(stack, config.get("limit_users"), plan.get("name"),
                                       plan.get("limit_users")))
    for key, columns in checks.items():
        if any(rows.get(t) is not None and has(t, c) != want for t, c, want in columns):
            out.append(BY_FIELD[key].message(stack, "differs from what the account holds"))
    return out
