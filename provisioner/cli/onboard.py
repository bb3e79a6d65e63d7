"""`provisioner onboard`: make a tenant an account of the app, as "Guardar" does, outside Pulumi.

Everything that can refuse is checked before the first write: the tenant's own file and the
reseller file (another tenant's broken file does not block this one), every environment
variable the run needs (all missing ones named at once), the certificate, the app's commands,
the app's schema, the plan and the accounts already there. Exit codes: `provisioner.cli.
exit_codes` (`--help` lists them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from provisioner.cli import add_format, exit_codes

# (variable, when it is read, what it is); the names are provisioner.secrets' own
ENV_HELP = (
    ("PROVISIONER_APP_KEY", "always", "the app's APP_KEY (hyn's tenant database passwords)"),
    ("PROVISIONER_APP_DB_PASSWORD", "always", "the password of app.system_database.user; "
                                              "may be empty, but must be set"),
    ("PROVISIONER_ADMIN_PASSWORD", "until the tenant rows are written",
     "the tenant admin user's password"),
    ("PROVISIONER_SOL_PASSWORD", "SOAP production or OSE", "the SOL user's password"),
    ("PROVISIONER_SMTP_PASSWORD", "the tenant has smtp:", "optional: the SMTP password"),
    ("PROVISIONER_CERTIFICATE", "certificate: true", "the .pfx in base64 (or a PEM)"),
    ("PROVISIONER_CERTIFICATE_PASSWORD", "certificate: true", "optional: its password"),
)


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.app.journal import REDO_STEPS

    parser.add_argument("tenant", metavar="TENANT", help="subdomain or tenant file")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the SQL-level plan of a first onboarding (secrets masked); "
                             "touches no database")
    parser.add_argument("--redo", action="append", choices=REDO_STEPS, default=[],
                        metavar="STEP",
                        help=f"run a step again although recorded as done, e.g. migrate after "
                             f"its command was fixed ({', '.join(REDO_STEPS)}; repeatable)")
    add_format(parser)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    variables = "\n".join(f"  {name:<34} {when}: {what}" for name, when, what in ENV_HELP)
    parser.epilog = f"environment variables read:\n{variables}\n\n" + _wrap(
        exit_codes.epilog("onboard"))


def _wrap(text: str) -> str:
    import textwrap

    return textwrap.fill(text, 92)


def run(args: argparse.Namespace) -> int:
    from provisioner.app.account import desired_account
    from provisioner.errors import UsageError
    from provisioner.model.index import load_one

    repo = load_one(args.repo, args.tenant)  # this tenant, the reseller file, the rules between
    repo.raise_for_errors()
    assert repo.reseller is not None and repo.catalog is not None
    reseller, catalog = repo.reseller, repo.catalog
    spec = repo.tenant(args.tenant).spec
    app = reseller.app
    if app is None:
        from provisioner.doc_links import doc_url

        raise UsageError("reseller.yaml has no app: section (the app's system database and "
                         f"commands): add it as {doc_url('docs/app.md')} shows, then rerun")
    plan = catalog.plans[spec.plan]
    silo = plan.tier.value == "silo"
    if args.dry_run:
        from provisioner.app.account import Secret
        from provisioner.app.plan import plan_onboarding

        mask = Secret("********")
        desired = desired_account(
            spec, reseller, catalog, sol_password=mask if spec.soap.needs_sol_password else None,
            smtp_password=mask if spec.smtp else None,
            certificate_name=f"certificate_{spec.ruc}.pem" if spec.certificate else None,
            system_soap=(None, None), silo=silo)
        steps = plan_onboarding(
            desired, database_host=app.system_database.host, migrate=app.commands.migrate,
            seed=app.commands.seed, put_certificate=app.commands.put_certificate,
            certificate=spec.certificate, limits=(plan.limit_users, plan.limit_documents),
            start_billing_cycle=app.start_billing_cycle == "creation_date")
        _print_plan(args, spec, app, desired, steps)
        return exit_codes.OK
    if silo:
        raise UsageError(f"{spec.subdomain} is a silo tenant: its database server is made by "
                         "its Pulumi stack; onboard it with `pulumi up`")
    return _apply(args, spec, reseller, catalog)


def _print_plan(args, spec, app, desired, steps) -> None:
    if args.format == "json":
        print(json.dumps({"tenant": spec.subdomain, "uuid": desired.uuid,
                          "steps": [s.as_dict() for s in steps]}, ensure_ascii=False,
                         indent=2))
        return
    print(f"# onboarding {spec.subdomain}: {desired.uuid} on "
          f"{app.system_database.host}:{app.system_database.port}/"
          f"{app.system_database.database} (plan only; nothing runs)")
    for step in steps:
        print(f"\n-- step {step.step} ({step.target})")
        for sql in step.statements:
            if step.target == "command":
                print(f"$ {sql}")
            else:
                print(sql if sql.startswith("--") else f"{sql};")


def read_environment(spec, environ=None) -> dict[str, Any]:
    """Every variable this tenant's onboarding reads; all missing ones in one UsageError.
    Unset is missing; an empty database password is a value (the server may allow it)."""
    from provisioner import secrets as names
    from provisioner.errors import UsageError

    env = os.environ if environ is None else environ
    missing: list[str] = []

    def need(secret, *, empty_ok: bool = False, optional: bool = False) -> str | None:
        value = env.get(secret.env)
        if value is None or (value == "" and not empty_ok):
            if not optional:
                missing.append(f"{secret.env} is not set ({secret.what})")
            return None
        return value

    values: dict[str, Any] = {
        "app_key": need(names.APP_KEY),
        "db_password": need(names.APP_DATABASE_PASSWORD, empty_ok=True),
        "sol": need(names.SOL_PASSWORD) if spec.soap.needs_sol_password else None,
        "smtp": need(names.SMTP_PASSWORD, optional=True) if spec.smtp else None,
        "admin": need(names.ADMIN_PASSWORD, optional=True),
        "certificate": need(names.CERTIFICATE) if spec.certificate else None,
        "certificate_password": (need(names.CERTIFICATE_PASSWORD, optional=True, empty_ok=True)
                                 if spec.certificate else None),
    }
    if missing:
        if values["admin"] is None:  # needed unless the tenant rows exist: named with the rest
            missing.append(f"{names.ADMIN_PASSWORD.env} is not set "
                           f"({names.ADMIN_PASSWORD.what}; needed until the tenant rows are "
                           "written)")
        raise UsageError("; ".join(missing) + "; nothing was written")
    return values


def _apply(args, spec, reseller, catalog) -> int:
    from provisioner.app.account import desired_account
    from provisioner.app.certificate import load_certificate
    from provisioner.app.connection import AppError, Server
    from provisioner.app.onboarding import Onboarding, StepFailed, new_token
    from provisioner.app.schema_check import SYSTEM_NEEDS, require_schema

    app = reseller.app
    db = app.system_database
    env = read_environment(spec)
    pem = certificate_name = None
    if spec.certificate:
        cert = load_certificate(env["certificate"] or "", env["certificate_password"] or "",
                                spec.ruc)
        pem, certificate_name = cert.pem, cert.file_name(spec.ruc)
    system = Server(db.host, db.port, db.user, env["db_password"], db.database)
    billing = app.start_billing_cycle == "creation_date"
    try:
        conn = system.connect()
        try:  # the schema first: the configuration read below names one of its tables
            require_schema(conn, SYSTEM_NEEDS,
                           f"{db.database} (the app's system database)")
        finally:
            conn.close()
        system_soap, fallback = _system_configuration(system)
    except AppError as exc:
        _report(args, spec.subdomain, "refused", None, [], str(exc))
        return exit_codes.FAILED
    desired = desired_account(spec, reseller, catalog, sol_password=env["sol"],
                              smtp_password=env["smtp"],
                              certificate_name=certificate_name or fallback,
                              system_soap=system_soap, silo=False)
    onboarding = Onboarding(
        desired=desired, system=system, app_key=env["app_key"],
        password_hash=_hash(env["admin"], reseller.bcrypt_cost), token=new_token(),
        migrate=app.commands.migrate, seed=app.commands.seed,
        put_certificate=app.commands.put_certificate, certificate_pem=pem,
        start_billing_cycle=billing, stack=spec.subdomain, redo=frozenset(args.redo))
    try:
        result = onboarding.run()
    except StepFailed as exc:
        _report(args, spec.subdomain, "failed", None, [], str(exc))
        return exit_codes.STEP_FAILED
    except AppError as exc:
        _report(args, spec.subdomain, "refused", None, [], str(exc))
        return exit_codes.FAILED
    _report(args, spec.subdomain, "changed" if result.changed else "unchanged",
            result.website_id, [str(c) for c in result.changes], None, result.warnings)
    return exit_codes.OK


def _hash(admin: str | None, cost: int) -> str:
    """The admin's password as the app's $2y$ bcrypt hash; "" when not given (the preflight
    refuses then, unless the tenant rows exist)."""
    if not admin:
        return ""
    import bcrypt

    hashed = bcrypt.hashpw(admin.encode(), bcrypt.gensalt(cost)).decode()
    return hashed.replace("$2b$", "$2y$", 1)


def _system_configuration(system) -> tuple[tuple[str | None, str | None], str | None]:
    """What the form pre-fills from the admin's configuration: SOAP user and certificate."""
    from provisioner.app.connection import AppError, error_reason

    conn = system.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT soap_username, soap_password, certificate FROM configurations"
                        " ORDER BY id LIMIT 1")
            row = cur.fetchone() or {}
        conn.commit()
    except Exception as exc:
        raise AppError(f"{system.database}: cannot read the app's configurations table "
                       f"({error_reason(exc)})") from None
    finally:
        conn.close()
    return (row.get("soap_username"), row.get("soap_password")), row.get("certificate")


def _report(args, tenant: str, result: str, website_id, changes: list[str],
            error: str | None, warnings: list[str] | None = None) -> None:
    warnings = warnings or []
    if args.format == "json":
        print(json.dumps({"tenant": tenant, "result": result, "website_id": website_id,
                          "changes": changes, "warnings": warnings, "error": error},
                         ensure_ascii=False))
        return
    if error:
        print(f"provisioner onboard: {tenant}: {error}", file=sys.stderr)
        return
    for change in changes:
        print(f"{tenant}: {change}")
    for warning in warnings:  # the spec says what the app does not hold: never silent
        print(f"warning: {warning}")
    tail = f", {len(warnings)} warning(s) above" if warnings else ""
    print(f"{tenant}: {'done' if changes else 'no change'} (website #{website_id}){tail}")
