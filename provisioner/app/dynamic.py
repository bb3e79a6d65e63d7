"""The onboarding steps as a Pulumi dynamic provider (used by provisioner/infra/onboarding.py).

Why here and not in infra/: Pulumi's Python SDK stores the provider in the resource's state as
`dill.dumps(provider, recurse=True)` (pulumi/dynamic/dynamic.py `serialize_provider`); dill
pickles a class from an importable module by reference, so the state names
`provisioner.app.dynamic.StepsProvider` and the provider host process imports it from the stack's
virtualenv. A stable package path keeps old states loadable. The provider object carries no
data: everything, secrets included, comes in as (secret) inputs.

What the engine gets back (pulumi/dynamic/__main__.py): `create` -> CreateResult(id, outs),
`diff` -> DiffResult(changes, replaces, delete_before_replace), `update` -> UpdateResult(outs),
`read` -> ReadResult(id or None when gone, outs), `delete` -> None (raising keeps the resource).
"""

from __future__ import annotations

import json
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

# inputs whose change must not re-run anything (bookkeeping)
_IGNORED = {"__provider", "website_id", "changes", "warnings"}
# the steps that write inside the tenant database: a refresh of their resource reads it too
_TENANT_STEPS = frozenset({"database", "migrate", "seed", "certificate", "tenant", "sync"})
# What of the account the website step writes (`Onboarding._step_website`: the websites and
# hostnames rows). The rest of its `account` input serves the checks before the account is
# created and is read again by the later steps, so a day-2 edit (plan, modules, SOAP, locks)
# must not update this resource: in a preview its `website_id` output would turn unknown, and
# with it hyn's password, so every day-2 plan showed the database user updated and the
# database secret's version replaced, neither of which the apply then did.
WEBSITE_FIELDS = ("uuid", "fqdn", "managed_by_database_connection")


def account_from_json(text: str):
    from provisioner.app.account import DesiredAccount, Secret, Smtp

    data = json.loads(text)
    smtp = data.pop("smtp")
    company = data.pop("company")
    if company.get("soap_password") is not None:
        company["soap_password"] = Secret(company["soap_password"])
    return DesiredAccount(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()},
        company=company,
        smtp=Smtp(smtp["host"], smtp["port"], smtp["user"], smtp["encryption"],
                  Secret(smtp["password"]) if smtp.get("password") else None))


def _server(data: dict[str, Any] | None, password: str | None, database: str | None = None):
    from provisioner.app.connection import Server

    if not data:
        return None
    return Server(data["host"], int(data["port"]), data["user"], password or "",
                  database if database is not None else data.get("database"))


def onboarding_from(props: dict[str, Any]):
    from provisioner.app.certificate import load_certificate
    from provisioner.app.onboarding import Onboarding

    commands = props.get("commands") or {}
    secrets = json.loads(props["secrets"])
    desired = account_from_json(props["account"])
    pem = None
    if secrets.get("certificate"):
        pem = load_certificate(secrets["certificate"], secrets.get("certificate_password") or "",
                               desired.company["number"]).pem
    return Onboarding(
        desired=desired,
        system=_server(props["system"], secrets.get("system_password")),
        app_key=secrets["app_key"], password_hash=secrets.get("password_hash", ""),
        token=secrets.get("token", ""),
        tenant_server=_server(props.get("tenant_server"), secrets.get("tenant_password"), ""),
        migrate=commands.get("migrate") or (), seed=commands.get("seed") or (),
        put_certificate=commands.get("put_certificate"),
        certificate_pem=pem,
        start_billing_cycle=bool(props.get("start_billing_cycle")),
        stack=props.get("stack", ""), user_host=props.get("user_host"))


def _masked(text: str, secrets: dict[str, Any]) -> str:
    """`text` with every secret value of the inputs replaced, longest first."""
    from provisioner.secrets import MASK

    for value in sorted((str(v) for v in secrets.values() if v), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def _compared(key: str, props: dict[str, Any]) -> Any:
    """The value of input `key` that decides whether the resource changes: for the website
    step's account, only what that step writes (WEBSITE_FIELDS)."""
    value = props.get(key)
    if key == "account" and list(props.get("steps") or ()) == ["website"] and \
            isinstance(value, str):
        try:
            data = json.loads(value)
        except ValueError:
            return value
        if isinstance(data, dict):
            return {k: data.get(k) for k in WEBSITE_FIELDS}
    return value


class StepsProvider(ResourceProvider):
    """Runs some of the onboarding steps (`steps` input) on create and on update."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        result = onboarding_from(props).run(steps=list(props["steps"]))
        outs = {**props, "website_id": result.website_id,
                "changes": [str(c) for c in result.changes], "warnings": result.warnings}
        return CreateResult(id_=f"{props['uuid']}/{props['name']}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = (set(olds) | set(news)) - _IGNORED
        changed = sorted(k for k in keys if _compared(k, olds) != _compared(k, news))
        replaces = [k for k in ("uuid", "name") if k in changed]
        return DiffResult(changes=bool(changed), replaces=replaces,
                          delete_before_replace=bool(replaces))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        result = onboarding_from(news).run(steps=list(news["steps"]))
        # `warnings`: spec fields the app keeps from creation (creation_only), in the state
        return UpdateResult(outs={**news, "website_id": result.website_id,
                                  "changes": [str(c) for c in result.changes],
                                  "warnings": result.warnings})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """`pulumi refresh`: gone when the app no longer has the website row (or, for the
        step that writes it, the clients row); an unreachable server or refused credentials
        raise AppUnreachable, with every secret of the inputs masked: an unknown is never
        reported as "exists" (drift would pass) nor as "gone" (the next up would re-create)."""
        import pymysql

        from provisioner.app.account_read import read_account
        from provisioner.app.connection import AppError, AppUnreachable, error_reason

        secrets = json.loads(props["secrets"])
        system = _server(props["system"], secrets.get("system_password"))
        try:
            found = read_account(system, props["uuid"], secrets["app_key"],
                                 _server(props.get("tenant_server"),
                                         secrets.get("tenant_password"), ""),
                                 tenant=bool(_TENANT_STEPS & set(props["steps"])))
        except (AppError, pymysql.MySQLError) as exc:
            reason = str(exc) if isinstance(exc, AppError) else error_reason(exc)
            raise AppUnreachable(_masked(
                f"refresh of {props.get('name', id_)} ({props['uuid']}): {reason}", secrets)
            ) from None
        if found is None or ("client" in props["steps"] and not found["clients"]):
            return ReadResult(None, {})
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """destroy(): only the `website` resource removes the account, never in production."""
        from provisioner.app.removal import remove_account

        if "website" not in props["steps"] or props.get("production"):
            return
        secrets = json.loads(props["secrets"])
        remove_account(_server(props["system"], secrets.get("system_password")), props["uuid"],
                       production=False, drop_database=bool(props.get("drop_database")),
                       drop_user=bool(props.get("drop_user")),
                       tenant_server=_server(props.get("tenant_server"),
                                             secrets.get("tenant_password"), ""))
