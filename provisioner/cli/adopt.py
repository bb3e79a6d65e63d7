"""`provisioner adopt`: write a tenant spec for each account the app already has.

Reads the app's system database and each tenant's database, writes `tenants/<subdomain>.yaml`,
records the accounts in our journal so the stacks' onboarding steps find them existing, and
reports per tenant what the first apply would change. Secrets found in the app (SOL and SMTP
passwords) go to the tenant's stack with `--set-secrets` (Automation API, `secret=True`),
else they are listed as still to set; they are never written to a file or printed.

Exit codes: 0 every account adopted and the first apply changes nothing; 1 some account differs
from what its spec renders (or could not be adopted): see the report; 2 usage or a missing
platform secret. Re-running skips tenants already adopted (`--force` rewrites them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from provisioner.cli import add_format


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


def _env(name: str, what: str) -> str:
    from provisioner.errors import UsageError

    value = os.environ.get(name)
    if not value:
        raise UsageError(f"{name} is not set ({what})")
    return value


def run(args: argparse.Namespace) -> int:
    from provisioner import secrets as names
    from provisioner.app.account_read import list_accounts, read_tenants
    from provisioner.app.adopt_first_apply import mark_adopted
    from provisioner.app.adopt_spec import adopt_account
    from provisioner.app.connection import AppError, Server
    from provisioner.errors import SpecErrors, UsageError
    from provisioner.model.layout import TENANTS_DIRNAME, find_root
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
        raise UsageError("reseller.yaml has no app: section (the app's system database)")
    db = reseller.app.system_database
    system = Server(db.host, db.port, db.user,
                    _env(names.APP_DATABASE_PASSWORD.env, names.APP_DATABASE_PASSWORD.what),
                    db.database)
    tenants_dir = root / TENANTS_DIRNAME
    started = time.perf_counter()
    try:
        accounts = list_accounts(system, reseller.database_prefix, args.subdomains or None)
    except AppError as exc:
        raise UsageError(str(exc)) from None
    todo, skipped = [], []
    for account in accounts:
        if not args.force and _already_adopted(tenants_dir / f"{account.subdomain}.yaml",
                                               int(account.website["id"])):
            skipped.append(account.subdomain)
        else:
            todo.append(account)
    reporter = _progress(args, len(todo))
    adoptions = []
    batch = []
    try:
        for account in read_tenants(system, todo):
            adoption = adopt_account(account, reseller, catalog)
            if adoption.spec is not None:
                _write_spec(tenants_dir, adoption)
                batch.append(adoption)
            if len(batch) >= 200:  # journal rows in batches: an interrupted run keeps them
                mark_adopted(system, batch)
                batch = []
            adoptions.append(adoption)
            reporter(adoption.subdomain)
        mark_adopted(system, batch)
    finally:
        reporter(None)
    secrets_set = _set_secrets(root, adoptions) if args.set_secrets else {}
    for adoption in adoptions:
        adoption.missing_secrets = sorted({*adoption.missing_secrets,
                                           *(k for k in adoption.secrets
                                             if k not in secrets_set.get(adoption.subdomain, ()))})
    _report(args, adoptions, skipped, secrets_set, time.perf_counter() - started)
    return 0 if all(a.clean for a in adoptions) else 1


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


HEADER = ("# yaml-language-server: $schema=../schema/tenant.schema.json\n"
          "# Written by `provisioner adopt` from the app's databases; secrets are stack config.\n")


def _write_spec(tenants_dir: Path, adoption: Any) -> None:
    """Atomically: a file is whole or absent, never half-written."""
    import yaml

    tenants_dir.mkdir(parents=True, exist_ok=True)
    path = tenants_dir / f"{adoption.subdomain}.yaml"
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


def _set_secrets(root: Path, adoptions: list[Any]) -> dict[str, list[str]]:
    """Each tenant's secrets into its stack's config, `secret=True` (encrypted by the stack's
    secrets provider, as `pulumi config set --secret` does)."""
    from pulumi import automation as auto

    from provisioner.orchestrate.automation import (
        AutomationRunner,
        find_project_dir,
        require_pulumi_cli,
    )

    project = find_project_dir(root)
    require_pulumi_cli(project)
    runner = AutomationRunner(project, plugins={})
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


def _report(args, adoptions, skipped, secrets_set, seconds: float) -> None:
    from provisioner.secrets import ALL_SECRETS

    command = {s.key: s for s in ALL_SECRETS}
    if args.format == "json":
        print(json.dumps({
            "adopted": [{
                "tenant": a.subdomain, "uuid": a.uuid, "website_id": a.website_id,
                "file": f"tenants/{a.subdomain}.yaml" if a.spec is not None else None,
                "error": a.error, "differences": [d.as_dict() for d in a.differences],
                "secrets_set": secrets_set.get(a.subdomain, []),
                "secrets_to_set": a.missing_secrets} for a in adoptions],
            "skipped": skipped, "seconds": round(seconds, 3)},
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
        for key in a.missing_secrets:
            print(f"  secret {key} still to set: {command[key].command(a.subdomain)}")
    if skipped:
        print(f"{len(skipped)} already adopted, skipped (--force rewrites them)")
    bad = sum(1 for a in adoptions if not a.clean)
    print(f"{len(adoptions)} account(s) read in {seconds:.1f}s; "
          f"{bad} need attention", file=sys.stderr)
