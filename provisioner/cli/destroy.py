"""`provisioner destroy TENANT`: delete one tenant's stack resources, keeping its data;
production needs --allow-destroy-production, checked before any step runs."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from provisioner.cli import exit_codes


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_format
    from provisioner.cli.stacks_common import add_local

    parser.add_argument("tenant", metavar="TENANT", help="the tenant's subdomain (stack name)")
    parser.add_argument("--allow-destroy-production", action="store_true",
                        help="required when the tenant is (or was last) production")
    add_format(parser)
    add_local(parser)
    parser.epilog = exit_codes.epilog("destroy")


def last_spec_text(root: Path, tenant: str) -> str | None:
    """The tenant's spec now, or its last committed version when the file was removed."""
    from provisioner.model.layout import TENANTS_DIRNAME
    from provisioner.orchestrate.git_repo import Git

    tenants = root / TENANTS_DIRNAME
    for suffix in (".yaml", ".yml"):
        for path in tenants.rglob(f"{tenant}{suffix}") if tenants.is_dir() else []:
            return path.read_text(encoding="utf-8", errors="replace")
    try:
        git = Git(root)
    except Exception:
        return None
    rel = f"{git.prefix(root)}{TENANTS_DIRNAME}/"
    log = git.run("log", "--format=%H", "--diff-filter=D", "--name-only", "--", rel)
    commit = ""
    for line in log.splitlines():
        if re.fullmatch(r"[0-9a-f]{40}", line):
            commit = line
        elif commit and line.strip() and Path(line).stem == tenant:
            spec = f"{commit}^:{line}"
            return git.blobs([spec]).get(spec)
    return None


def kept_message(tenant: str, production: bool, instance: str | None = None) -> str:
    """What a destroy leaves behind: the runner unprotects, then the engine only drops the
    retained resources from state (provisioner.orchestrate.teardown). A silo tenant's database
    is its RDS `instance`, which keeps running, and billing, until someone deletes it."""
    from provisioner.doc_links import doc_url

    database = f"its RDS instance {instance}" if instance else "its database"
    kept = f"{database}, secrets and generated values are" if production else f"{database} is"
    running = ("; the instance keeps running (and billing) until it is deleted by hand"
               if instance else "")
    return (f"{tenant}: {kept} kept (retain_on_delete) and no longer managed by the stack"
            f"{running}; its DNS records are removed last. Drop the data by hand when it is no "
            f"longer needed ({doc_url('docs/data-safety.md', 'Destroy')}).")


def silo_instance(root: Path, spec_text: str | None) -> str | None:
    """The RDS instance of the tenant whose spec is `spec_text`, when its plan is a silo plan
    of the reseller's catalog; None for a pooled tenant or a spec that cannot be read."""
    from provisioner import naming
    from provisioner.model.layout import RESELLER_FILENAMES
    from provisioner.orchestrate.policy import database_identity
    from provisioner.orchestrate.spec_blobs import parsed

    tenant = parsed(spec_text)
    for name in RESELLER_FILENAMES:
        path = root / name
        if not path.is_file():
            continue
        reseller = parsed(path.read_text(encoding="utf-8", errors="replace"))
        identity = database_identity(tenant, reseller)
        if identity is None or not identity.startswith("silo:"):
            return None
        # the identity names naming.database_name(prefix, subdomain): the prefix is its head
        subdomain = tenant["subdomain"].strip().lower()
        prefix = identity.split(":", 1)[1].removesuffix(f"_{subdomain}")
        return naming.silo_identifier(prefix, subdomain)
    return None


def run(args: argparse.Namespace) -> int:
    from provisioner.cli.stacks_common import (
        emit,
        exit_code,
        redactor_for,
        reporter,
        spec_root,
        stack_runner,
    )
    from provisioner.errors import UsageError
    from provisioner.model.repository import load_repository
    from provisioner.model.rules import SUBDOMAIN_PATTERN
    from provisioner.orchestrate.changes import StackChange
    from provisioner.orchestrate.policy import production_destroy_message, was_production
    from provisioner.orchestrate.report import RunReport
    from provisioner.orchestrate.results import StackResult
    from provisioner.orchestrate.scheduler import Job, run_jobs

    tenant = args.tenant.lower()
    if not SUBDOMAIN_PATTERN.fullmatch(tenant):
        raise UsageError(f"{args.tenant!r} is not a tenant subdomain (letters and digits)")
    root = spec_root(args)
    change = StackChange(tenant, "destroy", "requested", old_text=last_spec_text(root, tenant))
    report = RunReport("destroy")
    if was_production(change) and not args.allow_destroy_production:
        report.results = [StackResult(tenant, "destroy", ok=False, skipped=True,
                                      error=production_destroy_message(tenant)
                                      if change.old_text else
                                      f"no spec found for {tenant}, so it may be production; "
                                      "pass --allow-destroy-production to destroy it")]
    else:
        report.warnings = {tenant: [kept_message(tenant, was_production(change),
                                                 silo_instance(root, change.old_text))]}
        repo = load_repository(root)
        redactor = redactor_for()
        with stack_runner(args, root, repo, redactor) as runner:
            report.results = run_jobs(runner, [Job(tenant, "destroy")], parallel=1,
                                      reporter=reporter(args), redactor=redactor,
                                      title="destroy")
    emit(report, args.format)
    return exit_code(report)
