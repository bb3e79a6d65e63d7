"""What plan, apply, destroy and drift share: options, validation, the runner (remote or
local), progress and exit codes. Heavy imports stay inside functions."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provisioner.model.repository import Repository
    from provisioner.orchestrate.automation import AutomationRunner
    from provisioner.orchestrate.changes import ChangeSet
    from provisioner.orchestrate.report import RunReport
    from provisioner.redaction import Redactor

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3
DEFAULT_BASE = "origin/main"
DEFAULT_PARALLEL = 8


def positive_int(text: str) -> int:
    from provisioner.numbers import parse_int

    try:
        return parse_int(text, minimum=1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parallel(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parallel", type=positive_int, default=DEFAULT_PARALLEL, metavar="N",
                        help=f"stacks run at the same time (default: {DEFAULT_PARALLEL})")


def add_base(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default=os.environ.get("PROVISIONER_BASE", DEFAULT_BASE),
                        metavar="REF", help="compare BASE...HEAD (default: $PROVISIONER_BASE or "
                                            f"{DEFAULT_BASE})")
    parser.add_argument("--head", default="HEAD", metavar="REF", help=argparse.SUPPRESS)
    parser.add_argument("--all", action="store_true",
                        help="every valid tenant instead of a diff: a first provisioning or a "
                             "recovery (never destroys)")
    parser.add_argument("--since-applied", action="store_true",
                        help="compare the last-applied marker tag with HEAD (tree to tree; no "
                             "tag yet: every tenant) instead of --base: what CI applies")
    parser.add_argument("--marker", default=os.environ.get("PROVISIONER_APPLIED_MARKER",
                                                           "provisioner-applied"),
                        metavar="TAG", help="the last-applied tag (default: provisioner-applied)")
    parser.add_argument("--stacks", default=None, metavar="NAMES",
                        help="only these stacks of the change set (space or comma separated): "
                             "one shard of `plan --list --shards N`")


def changes_for(args: argparse.Namespace, root: Path, project: Path | None,
                repo: Repository | None = None) -> ChangeSet:
    """The change set to act on: a git diff, or with --all every valid tenant (`repo`, when
    already validated, saves loading it again)."""
    from provisioner.orchestrate.applied_base import choose_applied_base
    from provisioner.orchestrate.changes import detect_changes, every_tenant

    changes: ChangeSet
    if getattr(args, "since_applied", False) and not args.all:
        choice = choose_applied_base(root, args.marker, args.head)
        if choice.base is None:
            tenants = (repo or validated(root)).tenants
            changes = every_tenant((t.spec.subdomain, t.source.path, t.source.text)
                                   for t in tenants)
            changes.everything = choice.reason
        else:
            changes = detect_changes(root, choice.base, args.head, project, direct=True)
            changes.base = choice.reason
    elif args.all:
        tenants = (repo or validated(root)).tenants
        changes = every_tenant((t.spec.subdomain, t.source.path, t.source.text) for t in tenants)
    else:
        changes = detect_changes(root, args.base, args.head, project)
    return only_stacks(changes, getattr(args, "stacks", None))


def only_stacks(changes: ChangeSet, names: str | None) -> ChangeSet:
    """The change set cut to one shard's stacks; a named stack outside it is a usage error
    (the shard list was computed from another change set)."""
    if names is None:
        return changes
    from provisioner.errors import UsageError

    wanted = [n for n in names.replace(",", " ").split() if n]
    known = {c.stack for c in changes.changes}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise UsageError(f"--stacks names stacks this change does not touch: "
                         f"{', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}")
    keep = set(wanted)
    changes.changes = [c for c in changes.changes if c.stack in keep]
    return changes


def add_local(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--local", action="store_true",
                        help="no AWS account: state in .pulumi-local/, AWS served by moto, "
                             "pooled databases on a local MySQL (see README)")
    parser.add_argument("--local-endpoint", metavar="URL", default=None,
                        help="with --local: a running moto server (state kept across commands) "
                             "instead of an in-process one")


def spec_root(args: argparse.Namespace) -> Path:
    """The spec repository; every stack command starts here, so its flags are checked too."""
    from provisioner.model.layout import repository_root

    if getattr(args, "local_endpoint", None) and not getattr(args, "local", False):
        from provisioner.errors import UsageError

        raise UsageError("--local-endpoint only goes with --local")
    return repository_root(args.repo)


def validated(root: Path) -> Repository:
    """The repository, or SpecErrors (exit 1, every finding) when it does not validate."""
    from provisioner.model.repository import load_repository

    repo = load_repository(root)
    repo.raise_for_errors()
    return repo


def project_dir(root: Path) -> Path:
    from provisioner.model.layout import find_project_dir

    return find_project_dir(root)


@contextmanager
def stack_runner(args: argparse.Namespace, root: Path, repo: Repository,
                 redactor: Redactor, *, create_stacks: bool = False
                 ) -> Iterator[AutomationRunner]:
    """The Automation API runner, plugins installed once; in local mode, moto is up for as long
    as the runner is used. Only `apply` passes `create_stacks`: previews and drift checks
    select stacks and report missing ones as new. In CI, `app:` stacks on a runner with no
    named way to the app's databases are refused first (provisioner/app/runner_reach.py)."""
    from provisioner.model.layout import SPEC_ROOT_ENV
    from provisioner.orchestrate.automation import AutomationRunner, require_pulumi_cli

    if not getattr(args, "local", False):  # local mode: its databases are on loopback
        from provisioner.app.runner_reach import require_reachable

        require_reachable(repo.reseller, repo.reseller_path)
    work = project_dir(root)
    require_pulumi_cli(work)
    env = {SPEC_ROOT_ENV: str(root)}
    refresh = bool(getattr(args, "refresh", False))
    if getattr(args, "local", False):
        from provisioner.orchestrate.local import local_session

        if repo.reseller is None:
            from provisioner.errors import UsageError

            raise UsageError("local mode needs a valid reseller file")
        with local_session(work, repo.reseller, endpoint=args.local_endpoint) as session:
            redactor.add(session.passphrase, session.platform.db_admin_password,
                         *(value for _key, value in session.platform.app_secrets))
            platform = session.platform
            runner = AutomationRunner(
                session.work_dir, env={**env, **session.env}, secrets_provider="passphrase",
                redactor=redactor, stack_config=lambda _s: platform.stack_config(),
                path_config=lambda _s: platform.endpoint_paths(), create_stacks=create_stacks,
                refresh_first=refresh)
            runner.prepare()
            yield runner
        return
    runner = AutomationRunner(work, env=env, redactor=redactor, create_stacks=create_stacks,
                              refresh_first=refresh)
    runner.prepare()
    yield runner


def redactor_for(repo: Repository | None = None) -> Redactor:
    from provisioner.redaction import from_environment

    return from_environment()


def reporter(args: argparse.Namespace) -> Any:
    from provisioner.progress import reporter_for

    return reporter_for(sys.stderr)


def emit(report: RunReport, fmt: str) -> None:
    from provisioner.cli.output import print_json
    from provisioner.orchestrate.report import print_summary

    if fmt == "json":
        print_json(report.as_dict())
    else:
        print_summary(report)


def exit_code(report: RunReport) -> int:
    return EXIT_OK if report.ok else EXIT_FAILED
