"""`provisioner adopt`: write a tenant spec for each account the app already has.

Reads the app's system database and each tenant's database, writes `tenants/<subdomain>.yaml`,
records the accounts in our journal so the stacks' onboarding steps find them existing, and
reports per tenant what the first apply would change. Secrets found in the app (SOL and SMTP
passwords) go to the tenant's stack with `--set-secrets` (Automation API, `secret=True`),
else they are listed as still to set; they are never written to a file or printed.

Re-running skips tenants already adopted (`--force` rewrites them). A tenant file adopt did
not write (made by `new` or by hand; adopt's own files start with its HEADER) is never replaced
without `--force`: the account is reported as skipped. Everything that can refuse (the platform
secret, the app's schema, the Pulumi CLI and secrets provider for `--set-secrets`) is checked
before the first file or journal row is written. Exit codes: `provisioner.cli.exit_codes`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from provisioner.cli import add_format, exit_codes


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("subdomains", nargs="*", metavar="SUBDOMAIN",
                        help="accounts to adopt (or --all)")
    parser.add_argument("--all", action="store_true", help="every account of the app")
    parser.add_argument("--force", action="store_true",
                        help="rewrite tenant files already adopted (default: skip them; "
                             "this makes an interrupted run resumable)")
    parser.add_argument("--set-secrets", action="store_true",
                        help="put the SOL and SMTP passwords found in the app into each "
                             "tenant's stack config as secrets (needs the Pulumi CLI)")
    add_format(parser)
    parser.epilog = exit_codes.epilog("adopt")


def _env(name: str, what: str) -> str:
    """A platform secret from the environment; unset is missing, an empty value is a value
    (the database server may allow an empty password), as `onboard` reads it."""
    from provisioner.errors import UsageError

    value = os.environ.get(name)
    if value is None:
        raise UsageError(f"{name} is not set ({what}); nothing was written")
    return value


def run(args: argparse.Namespace) -> int:
    from provisioner import secrets as names
    from provisioner.app.account_read import list_accounts, read_tenants
    from provisioner.app.adopt_first_apply import mark_adopted
    from provisioner.app.adopt_kept import not_adopted_reason
    from provisioner.app.adopt_spec import Adoption, adopt_account
    from provisioner.app.connection import Server
    from provisioner.errors import SpecErrors, UsageError
    from provisioner.model.layout import TENANTS_DIRNAME, YAML_SUFFIXES, find_root
    from provisioner.model.repository import load_reseller

    if not args.all and not args.subdomains:
        raise UsageError("name the accounts to adopt, or give --all")
    if args.all and args.subdomains:
        raise UsageError("give subdomains or --all, not both")
    root = find_root(args.repo or Path.cwd())
    reseller, catalog, findings = load_reseller(root / "reseller.yaml")
    errors = [f for f in findings if getattr(f, "severity", "error") == "error"]
    if reseller is None or catalog is None or errors:
        raise SpecErrors(errors or findings)
    if reseller.app is None:
        from provisioner.doc_links import doc_url

        raise UsageError("reseller.yaml has no app: section (the app's system database): add "
                         f"it as {doc_url('docs/adopt.md')} shows, then rerun")
    db = reseller.app.system_database
    system = Server(db.host, db.port, db.user,
                    _env(names.APP_DATABASE_PASSWORD.env, names.APP_DATABASE_PASSWORD.what),
                    db.database)
    tenants_dir = root / TENANTS_DIRNAME
    started = time.perf_counter()
    # the stacks' runner first: no Pulumi CLI or secrets provider is found out after files
    # and journal rows were written
    runner = _secrets_runner(root) if args.set_secrets else None
    # an unreachable server, a wrong password, missing tables: exit 1, as onboard (AppError);
    # an account the app does not have: exit 2 (NoSuchAccount)
    accounts = list_accounts(system, reseller.database_prefix, args.subdomains or None)
    todo, skipped, not_ours = [], [], []
    for account in accounts:
        path = tenants_dir / f"{account.subdomain}.yaml"
        if not args.force and _already_adopted(path, int(account.website["id"])):
            skipped.append(account.subdomain)
        elif not args.force and _not_written_by_adopt(tenants_dir, account.subdomain):
            not_ours.append(account.subdomain)
        else:
            todo.append(account)
    kept, warnings = _kept_secrets(reseller, [a for a in todo if not any(
        (tenants_dir / f"{a.subdomain}{suffix}").exists() for suffix in YAML_SUFFIXES)])
    # left out before their databases are read: their stacks could not make the secrets again
    adoptions = [Adoption(a.subdomain, a.uuid, int(a.website["id"]), None,
                          error=not_adopted_reason(kept[a.subdomain]))
                 for a in todo if a.subdomain in kept]
    todo = [a for a in todo if a.subdomain not in kept]
    reporter = _progress(args, len(todo))
    batch = []
    try:
        for account in read_tenants(system, todo):
            adoption = adopt_account(account, reseller, catalog)
            if adoption.spec is not None:
                _write_spec(tenants_dir, adoption)
                batch.append(adoption)
            if len(batch) >= 200:  # journal rows in batches: an interrupted run keeps them
                mark_adopted(system, batch, reseller.app.timezone)
                batch = []
            adoptions.append(adoption)
            reporter(adoption.subdomain)
        mark_adopted(system, batch, reseller.app.timezone)
    finally:
        reporter(None)
    secrets_set = _set_secrets(runner, adoptions) if runner is not None else {}
    for adoption in adoptions:
        adoption.missing_secrets = sorted({*adoption.missing_secrets,
                                           *(k for k in adoption.secrets
                                             if k not in secrets_set.get(adoption.subdomain, ()))})
    _report(args, adoptions, skipped, secrets_set, time.perf_counter() - started, not_ours,
            warnings)
    return exit_codes.OK if all(a.clean for a in adoptions) and not not_ours \
        else exit_codes.FAILED


def _kept_secrets(reseller: Any, todo: list[Any]) -> tuple[dict[str, list[str]], list[str]]:
    """The accounts whose secrets a production destroy kept (provisioner/app/adopt_kept.py),
    looked up once before anything is written, for the accounts without a tenant file (one
    with a file has its stack, whose secrets these are); a lookup that cannot be made is a
    warning, not a refusal: an account the app made has no secrets of ours, and adopt needs no
    AWS."""
    if not todo:
        return {}, []
    from provisioner.app.adopt_kept import LookupFailed, lookup
    from provisioner.doc_links import doc_url

    try:
        return lookup(reseller.database_prefix, [a.subdomain for a in todo],
                      reseller.platform.region), []
    except LookupFailed as exc:
        return {}, [f"could not look for secrets kept by an earlier destroy ({exc}): an "
                    "account destroyed from its stack fails its first apply while they exist "
                    f"({doc_url('docs/data-safety.md', 'Destroy')})"]


def _already_adopted(path: Path, website_id: int) -> bool:
    if not path.is_file():
        return False
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return False
    adopted = data.get("adopted") if isinstance(data, dict) else None
    return isinstance(adopted, dict) and adopted.get("website_id") == website_id


MARKER = "# Written by `provisioner adopt` from the app's databases"
HEADER = ("# yaml-language-server: $schema=../schema/tenant.schema.json\n"
          f"{MARKER}; secrets are stack config.\n")


def _not_written_by_adopt(tenants_dir: Path, subdomain: str) -> bool:
    """A tenant file for this subdomain (either YAML suffix) whose first lines lack adopt's
    marker: made by `new` or by hand, so adopt leaves it alone."""
    from provisioner.model.layout import YAML_SUFFIXES

    for suffix in YAML_SUFFIXES:
        path = tenants_dir / f"{subdomain}{suffix}"
        if not path.exists():
            continue
        try:
            with path.open(encoding="utf-8", errors="replace") as f:
                head = [f.readline() for _ in range(3)]
        except OSError:
            return True  # unreadable: certainly not ours to replace
        if not any(line.startswith(MARKER) for line in head):
            return True
    return False


# What the operator sets in an adopted file and adopt cannot read from the app (docs/adopt.md
# step 5): a rewrite (`--force`, e.g. for `--set-secrets`) of the same account keeps it. Lost, a
# `dns_record: true` would make the first apply create the account's existing record.
OPERATOR_KEYS = ("dns_record",)


def _operator_settings(path: Path, website_id: int) -> dict[str, Any]:
    """The OPERATOR_KEYS of `adopted:` in the file adopt wrote before for this account."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    adopted = data.get("adopted") if isinstance(data, dict) else None
    if not isinstance(adopted, dict) or adopted.get("website_id") != website_id:
        return {}
    return {k: adopted[k] for k in OPERATOR_KEYS if k in adopted}


def _write_spec(tenants_dir: Path, adoption: Any) -> None:
    """Atomically: a file is whole or absent, never half-written."""
    import yaml

    tenants_dir.mkdir(parents=True, exist_ok=True)
    path = tenants_dir / f"{adoption.subdomain}.yaml"
    if path.is_file() and not _not_written_by_adopt(tenants_dir, adoption.subdomain):
        adoption.spec["adopted"].update(_operator_settings(path, adoption.website_id))
    text = HEADER + yaml.safe_dump(adoption.spec, sort_keys=False, allow_unicode=True,
                                   default_flow_style=False)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _progress(args: argparse.Namespace, total: int):
    """A rich progress bar on a terminal; nothing otherwise (the report follows)."""
    if args.format == "json" or not sys.stderr.isatty() or total == 0:
        return lambda _name: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    progress = Progress("[progress.description]{task.description}", BarColumn(),
                        MofNCompleteColumn(), TimeRemainingColumn(), transient=True,
                        console=_console())
    task = progress.add_task("adopting", total=total)
    progress.start()

    def advance(name: str | None) -> None:
        if name is None:
            progress.stop()
        else:
            progress.update(task, advance=1, description=f"adopting {name}")
    return advance


def _console():
    from rich.console import Console

    return Console(stderr=True)


def _secrets_runner(root: Path) -> Any:
    """The Automation API runner `--set-secrets` uses, made (and so checked: the Pulumi CLI,
    the project, the secrets provider) before anything is written."""
    from provisioner.errors import ProvisionerError
    from provisioner.orchestrate import automation

    try:
        project = automation.find_project_dir(root)
    except ProvisionerError:
        project = None
    automation.require_pulumi_cli(project)  # no Pulumi CLI: said first, as the bigger gap
    if project is None:
        project = automation.find_project_dir(root)  # raises: no Pulumi project here
    return automation.AutomationRunner(project, plugins={})


def _set_secrets(runner: Any, adoptions: list[Any]) -> dict[str, list[str]]:
    """Each tenant's secrets into its stack's config, `secret=True` (encrypted by the stack's
    secrets provider, as `pulumi config set --secret` does)."""
    from pulumi import automation as auto

    done: dict[str, list[str]] = {}
    for adoption in adoptions:
        if adoption.spec is None or not adoption.secrets:
            continue
        # an adopted account usually has no stack yet: adopting is the operator's deliberate
        # write, like apply, so it may create one (with the named secrets provider, never a
        # default: AutomationRunner checks PROVISIONER_SECRETS_PROVIDER first)
        stack = runner.stack(adoption.subdomain, create=True)
        for key, value in sorted(adoption.secrets.items()):
            stack.set_config(key, auto.ConfigValue(value=value, secret=True))
        done[adoption.subdomain] = sorted(adoption.secrets)
    return done


def _report(args, adoptions, skipped, secrets_set, seconds: float,
            not_ours: list[str] | None = None, warnings: list[str] | None = None) -> None:
    import os

    from provisioner.secrets import (
        ALL_SECRETS,
        SECRETS_PROVIDER_ENV,
        stack_file_note,
        stack_init_command,
    )

    command = {s.key: s for s in ALL_SECRETS}
    if args.format == "json":
        print(json.dumps({
            "adopted": [{
                "tenant": a.subdomain, "uuid": a.uuid, "website_id": a.website_id,
                "file": f"tenants/{a.subdomain}.yaml" if a.spec is not None else None,
                "error": a.error, "differences": [d.as_dict() for d in a.differences],
                "secrets_set": secrets_set.get(a.subdomain, []),
                "secrets_to_set": a.missing_secrets} for a in adoptions],
            "skipped": skipped, "not_written_by_adopt": not_ours or [],
            "warnings": warnings or [], "seconds": round(seconds, 3)},
            ensure_ascii=False, indent=2, default=str))
        return
    for a in adoptions:
        if a.error:
            print(f"{a.subdomain}: NOT ADOPTED: {a.error}")
            continue
        state = "adopted" if not a.differences else \
            f"adopted, {len(a.differences)} difference(s): the first apply would change"
        print(f"{a.subdomain}: {state} (website #{a.website_id})")
        for d in a.differences:
            print(f"  - {d}")
        for key in secrets_set.get(a.subdomain, []):
            print(f"  secret {key}: set in stack {a.subdomain}")
        if a.missing_secrets and a.subdomain not in secrets_set:
            # adopt made no stack for it (no secret to set): the commands below need one
            print(f"  stack, if not made yet: "
                  f"{stack_init_command(a.subdomain, os.environ.get(SECRETS_PROVIDER_ENV))}")
        for key in a.missing_secrets:
            print(f"  secret {key} still to set: {command[key].command(a.subdomain)}")
        if a.missing_secrets or a.subdomain in secrets_set:
            print(f"  # {stack_file_note(a.subdomain)}")
    if skipped:
        print(f"{len(skipped)} already adopted, skipped (--force rewrites them)")
    for name in not_ours or []:
        print(f"{name}: SKIPPED: tenants/{name}.yaml exists and was not written by adopt "
              "(made by `new` or by hand); --force replaces it")
    for warning in warnings or []:
        print(f"warning: {warning}", file=sys.stderr)
    bad = sum(1 for a in adoptions if not a.clean)
    print(f"{len(adoptions)} account(s) read in {seconds:.1f}s; "
          f"{bad} need attention", file=sys.stderr)
