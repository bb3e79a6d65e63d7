"""`provisioner new`: create tenants/<subdomain>.yaml like the admin form's "Nuevo cliente".

Values come from flags, or from prompts when stdin is a terminal and required ones are
missing. The file is checked with `validate`'s rules before it is written, is never written
over an existing tenant, and the command ends with the Pulumi commands still to run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.cli import exit_codes
from provisioner.numbers import int_type

if TYPE_CHECKING:
    from provisioner.newtenant import TenantAnswers
    from provisioner.ruc import Taxpayer


def configure(parser: argparse.ArgumentParser) -> None:
    bool_flag = argparse.BooleanOptionalAction
    parser.add_argument("--ruc", help="11 digits; looked up to fill the company name")
    parser.add_argument("--company-name", help="razón social (default: from the RUC lookup)")
    parser.add_argument("--trade-name", help="nombre comercial (default: the company name)")
    parser.add_argument("--subdomain", help="letters and digits; also the file and stack name")
    parser.add_argument("--email", help="the admin's login e-mail")
    parser.add_argument("--user-type", choices=["admin", "integrator"],
                        help="admin (default) or integrator (API only: Ventas, Avanzados, "
                             "Configuración)")
    parser.add_argument("--admin-password", choices=["generate", "stack_secret"],
                        help="generate (default) or stack_secret (you set it with Pulumi)")
    parser.add_argument("--plan", help="a plan of the catalog")
    parser.add_argument("--limit-emission", action=bool_flag, default=None,
                        help="limit emission to the plan's document quota")
    parser.add_argument("--preset", help="modules preset (default: basico)")
    parser.add_argument("--add-module", action="append", metavar="MODULE",
                        help="add a module to the preset (repeatable, or comma-separated)")
    parser.add_argument("--remove-module", action="append", metavar="MODULE",
                        help="remove a module from the preset (repeatable)")
    parser.add_argument("--modules", metavar="A,B,...",
                        help="an explicit module list instead of a preset")
    parser.add_argument("--send", choices=["sunat", "ose"], help="SOAP send (default: sunat)")
    parser.add_argument("--environment", choices=["demo", "production", "internal"],
                        help="SOAP environment (default: demo)")
    parser.add_argument("--sol-user", help="secondary SOL user, without the RUC")
    parser.add_argument("--ose-url", help="the OSE's billService URL (https)")
    parser.add_argument("--ose-username-format", choices=["ruc_user", "ruc"],
                        help="the OSE's user name: RUC + SOL user (default) or the RUC alone")
    parser.add_argument("--smtp-host", help="the client's own SMTP server (default: none, the "
                                             "platform's mailer)")
    parser.add_argument("--smtp-port", type=int_type(), help="its port (default: 465)")
    parser.add_argument("--smtp-username", help="its user name (password: the smtpPassword "
                                                "stack secret)")
    parser.add_argument("--smtp-encryption", choices=["ssl", "tls", "none"],
                        help="default: ssl")
    parser.add_argument("--smtp-from-address", help="the sender address (default: the user "
                                                    "name)")
    parser.add_argument("--smtp-from-name", help="the sender name (default: the trade name)")
    parser.add_argument("--certificate", action=bool_flag, default=None,
                        help="a signing certificate comes as a stack secret")
    parser.add_argument("--allow-production-switch", action=bool_flag, default=None,
                        help="the client may switch itself from demo to production "
                             "(default: no; its demo history would stay)")
    parser.add_argument("--index", type=Path, default=None, metavar="PATH",
                        help="padrón index for the RUC lookup (default: "
                             "$PROVISIONER_PADRON_INDEX or ~/.cache/provisioner/padron.sqlite3)")
    parser.add_argument("--no-lookup", action="store_true", help="do not look the RUC up")
    parser.add_argument("--no-input", action="store_true",
                        help="never prompt, even in a terminal")
    parser.add_argument("--dry-run", action="store_true",
                        help="check and print the file instead of writing it")
    parser.epilog = exit_codes.epilog("new")


def answers_from_args(args: argparse.Namespace) -> TenantAnswers:
    from provisioner.errors import UsageError
    from provisioner.newtenant import TenantAnswers, split_list

    if args.modules is not None and (args.preset or args.add_module or args.remove_module):
        raise UsageError("--modules lists every module; it does not go with --preset, "
                         "--add-module or --remove-module")
    return TenantAnswers(
        ruc=args.ruc, company_name=args.company_name, trade_name=args.trade_name,
        subdomain=args.subdomain, email=args.email, user_type=args.user_type,
        admin_password=args.admin_password, plan=args.plan,
        limit_emission=args.limit_emission, preset=args.preset,
        add_modules=split_list(args.add_module), remove_modules=split_list(args.remove_module),
        modules=split_list([args.modules]) if args.modules is not None else None,
        send=args.send, environment=args.environment, sol_user=args.sol_user,
        ose_url=args.ose_url, ose_username_format=args.ose_username_format,
        smtp_host=args.smtp_host, smtp_port=args.smtp_port, smtp_username=args.smtp_username,
        smtp_encryption=args.smtp_encryption, smtp_from_address=args.smtp_from_address,
        smtp_from_name=args.smtp_from_name, certificate=args.certificate,
        allow_production_switch=args.allow_production_switch)


def _check_subdomain_flag(subdomain: str | None) -> None:
    """The subdomain is also the file name: judge it as a subdomain first, so a trailing space
    or a slash gets a message about the subdomain, not about a file name."""
    from provisioner.errors import UsageError
    from provisioner.model.rules import subdomain_syntax_problem
    from provisioner.safe_text import escape_controls

    if subdomain is not None and (problem := subdomain_syntax_problem(subdomain)):
        raise UsageError(f"--subdomain {escape_controls(repr(subdomain))}: {problem}")


def run(args: argparse.Namespace) -> int:
    from provisioner import newtenant as nt
    from provisioner.cli.output import print_findings
    from provisioner.errors import SpecErrors, UsageError
    from provisioner.model.display import display_path
    from provisioner.model.repository import load_repository
    from provisioner.secrets import SECRETS_PROVIDER_ENV

    answers = answers_from_args(args)
    _check_subdomain_flag(answers.subdomain)
    repo = load_repository(args.repo)
    if repo.reseller is None or repo.catalog is None:
        raise SpecErrors(sorted(repo.errors))
    if answers.subdomain and (existing := nt.existing_file(repo, answers.subdomain)):
        raise nt.already_exists(existing)

    def note(message: str) -> None:
        print(message, file=sys.stderr)

    def lookup(ruc: str) -> Taxpayer | None:
        if args.no_lookup:
            return None
        return nt.lookup_company(ruc, repo, args.index, note)

    interactive = not args.no_input and bool(answers.missing()) and nt.stdin_gives_answers()
    prompter = nt.prompter()
    if interactive:
        print(f"New tenant in {display_path(repo.root)} "
              "(Enter takes the [default]; Ctrl-C cancels)")
        nt.ask_missing(answers, repo, prompter, lookup)
    elif answers.ruc and not answers.company_name:
        found = lookup(answers.ruc.strip())
        if found is not None:
            answers.company_name = found.name
    missing = answers.missing()
    if missing:
        flags = ", ".join(nt.FLAGS["admin_email" if m == "email" else m] for m in missing)
        hint = "" if args.no_lookup or not answers.ruc or "company_name" not in missing else (
            " (the RUC lookup found no company name)")
        raise UsageError(f"missing {flags}{hint}; give them as flags, or run in a terminal "
                         "to be asked")

    assert answers.subdomain is not None
    if (problem := nt.subdomain_form_problem(answers.subdomain)):
        raise UsageError(f"--subdomain {answers.subdomain!r}: {problem}")
    if answers.subdomain != answers.subdomain.lower():
        note(f"note: subdomain {answers.subdomain!r} is written as "
             f"{answers.subdomain.lower()!r}: subdomains (and file and stack names) are "
             "lower-case, as the app lower-cases them")
    path = nt.tenant_path(repo, answers.subdomain)
    if existing := nt.existing_file(repo, answers.subdomain):
        raise nt.already_exists(existing)
    text = nt.render_yaml(nt.tenant_document(answers), modeline=nt.schema_comment(repo.root))
    spec, findings = nt.check_new_tenant(repo, path, text, flag_hints=not interactive)
    print_findings(findings)
    if spec is None:
        print(f"{display_path(path)} was not written; it would have read:", file=sys.stderr)
        for number, line in enumerate(text.splitlines(), 1):
            print(f"{number:>4}  {line}", file=sys.stderr)
        return 1
    if args.dry_run:
        sys.stdout.write(text)
        return 0
    if interactive:
        print(f"\n{text}")
        if not prompter.confirm(f"Write {display_path(path)}", True):
            print("nothing written", file=sys.stderr)
            return 1
    nt.write_new_file(path, text)
    print(f"created {display_path(path)}")
    print("next steps:")
    for what, command in nt.next_steps(spec, repo.reseller, os.environ.get(SECRETS_PROVIDER_ENV),
                                       _git_add(repo.root, path, spec.subdomain)):
        if what:
            print(f"  # {what}")
        print(f"  {command}")
    return 0


def _git_add(root: Path, tenant_file: Path, stack: str) -> str:
    """`git add` of the new tenant file and its stack file, from the Pulumi project directory
    (where the pulumi commands above run and write Pulumi.<stack>.yaml)."""
    import shlex

    from provisioner.model.layout import PROJECT_FILES, nearest_holding

    project = nearest_holding(root, PROJECT_FILES) or root
    try:
        shown = str(tenant_file.resolve().relative_to(project.resolve()))
    except ValueError:
        shown = str(tenant_file.resolve())
    return f"git add {shlex.quote(shown)} {shlex.quote(f'Pulumi.{stack}.yaml')}"
