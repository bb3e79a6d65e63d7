"""`provisioner onboard`: make a tenant an account of the app, as "Guardar" does, outside Pulumi.

Exit codes: 0 done (or nothing to change), 1 invalid specs or refused by the app's databases
(nothing written), 2 usage or a missing secret, 3 a step failed after earlier steps were written
(the next run continues from it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from provisioner.cli import add_format

EXIT_STEP_FAILED = 3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tenant", metavar="TENANT", help="subdomain or tenant file")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the SQL-level plan of a first onboarding (secrets masked); "
                             "touches no database")
    add_format(parser)


def _env(name: str, what: str, required: bool = True) -> str | None:
    from provisioner.errors import UsageError

    value = os.environ.get(name)
    if required and not value:
        raise UsageError(f"{name} is not set ({what})")
    return value


def run(args: argparse.Namespace) -> int:
    from provisioner import secrets as names
    from provisioner.app.account import desired_account
    from provisioner.errors import UsageError
    from provisioner.model.repository import load_repository

    repo = load_repository(args.repo)
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
        if args.format == "json":
            print(json.dumps({"tenant": spec.subdomain, "uuid": desired.uuid,
                              "steps": [s.as_dict() for s in steps]}, ensure_ascii=False,
                             indent=2))
        else:
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
        return 0
    return _apply(args, spec, reseller, catalog, silo, names)


def _apply(args, spec, reseller, catalog, silo, names) -> int:
    import bcrypt

    from provisioner.app.account import desired_account
    from provisioner.app.certificate import load_certificate
    from provisioner.app.connection import AppError, Server
    from provisioner.app.onboarding import Onboarding, StepFailed, new_token
    from provisioner.errors import UsageError

    app = reseller.app
    db = app.system_database
    app_key = _env(names.APP_KEY.env, names.APP_KEY.what)
    system = Server(db.host, db.port, db.user,
                    _env(names.APP_DATABASE_PASSWORD.env, names.APP_DATABASE_PASSWORD.what),
                    db.database)
    if silo:
        raise UsageError(f"{spec.subdomain} is a silo tenant: its database server is made by "
                         "its Pulumi stack; onboard it with `pulumi up`")
    sol = _env(names.SOL_PASSWORD.env, names.SOL_PASSWORD.what, spec.soap.needs_sol_password)
    smtp = _env(names.SMTP_PASSWORD.env, names.SMTP_PASSWORD.what, False) if spec.smtp else None
    pem = None
    certificate_name = None
    if spec.certificate:
        data = _env(names.CERTIFICATE.env, names.CERTIFICATE.what)
        password = _env(names.CERTIFICATE_PASSWORD.env, names.CERTIFICATE_PASSWORD.what, False)
        cert = load_certificate(data or "", password or "", spec.ruc)
        pem, certificate_name = cert.pem, cert.file_name(spec.ruc)
    admin = os.environ.get(names.ADMIN_PASSWORD.env)
    system_soap, fallback = _system_configuration(system)
    desired = desired_account(spec, reseller, catalog, sol_password=sol, smtp_password=smtp,
                              certificate_name=certificate_name or fallback,
                              system_soap=system_soap, silo=silo)
    if admin:
        hashed = bcrypt.hashpw(admin.encode(), bcrypt.gensalt(reseller.bcrypt_cost)).decode()
    else:
        hashed = ""  # only needed when the tenant rows are written: checked there
    onboarding = Onboarding(
        desired=desired, system=system, app_key=app_key or "",
        password_hash=hashed.replace("$2b$", "$2y$", 1), token=new_token(),
        migrate=app.commands.migrate, seed=app.commands.seed,
        put_certificate=app.commands.put_certificate, certificate_pem=pem,
        start_billing_cycle=app.start_billing_cycle == "creation_date", stack=spec.subdomain)
    try:
        result = onboarding.run()
    except StepFailed as exc:
        _report(args, spec.subdomain, "failed", None, [], str(exc))
        return EXIT_STEP_FAILED
    except AppError as exc:
        _report(args, spec.subdomain, "refused", None, [], str(exc))
        return 1
    _report(args, spec.subdomain, "changed" if result.changed else "unchanged",
            result.website_id, [str(c) for c in result.changes], None)
    return 0


def _system_configuration(system) -> tuple[tuple[str | None, str | None], str | None]:
    """What the form pre-fills from the admin's configuration: SOAP user and certificate."""
    from provisioner.app.connection import AppError

    conn = system.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT soap_username, soap_password, certificate FROM configurations"
                        " ORDER BY id LIMIT 1")
            row = cur.fetchone() or {}
        conn.commit()
    except Exception as exc:
        raise AppError(f"{system.database}: cannot read the app's configurations table "
                       f"({type(exc).__name__})") from None
    finally:
        conn.close()
    return (row.get("soap_username"), row.get("soap_password")), row.get("certificate")


def _report(args, tenant: str, result: str, website_id, changes: list[str],
            error: str | None) -> None:
    if args.format == "json":
        print(json.dumps({"tenant": tenant, "result": result, "website_id": website_id,
                          "changes": changes, "error": error}, ensure_ascii=False))
        return
    if error:
        print(f"provisioner onboard: {tenant}: {error}", file=sys.stderr)
        return
    for change in changes:
        print(f"{tenant}: {change}")
    print(f"{tenant}: {'done' if changes else 'no change'} (website #{website_id})")
