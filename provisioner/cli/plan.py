"""`provisioner plan`: which tenant stacks a change touches, and a preview of each for the PR."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.cli import exit_codes

if TYPE_CHECKING:
    from provisioner.orchestrate.changes import ChangeSet


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_format
    from provisioner.cli.stacks_common import add_base, add_local, add_parallel, positive_int

    add_base(parser)
    parser.add_argument("--list", action="store_true",
                        help="print the affected stacks and their action without previewing "
                             "(no Pulumi CLI needed); JSON is a CI job matrix")
    add_format(parser)
    parser.add_argument("--shards", type=positive_int, default=None, metavar="N",
                        help="with --list: split the stacks over N CI runners per wave (demo "
                             "and internal first, then production), balanced and deterministic")
    parser.add_argument("--comment-file", type=Path, metavar="F",
                        help="write a Markdown report for a pull-request comment")
    parser.add_argument("--comment-limit", type=positive_int, default=None, metavar="CHARS",
                        help="cap the comment's size (one shard's part of a shared comment)")
    add_parallel(parser)
    add_local(parser)
    parser.epilog = exit_codes.epilog("plan")


def run(args: argparse.Namespace) -> int:
    from provisioner.cli.output import print_json
    from provisioner.cli.stacks_common import (
        changes_for,
        emit,
        exit_code,
        project_dir,
        redactor_for,
        reporter,
        spec_root,
        stack_runner,
        validated,
    )
    from provisioner.errors import UsageError

    root = spec_root(args)
    try:
        pulumi_dir: Path | None = project_dir(root)
    except UsageError:
        pulumi_dir = None
    # --list of a diff needs no specs; --all and previews do: validate them once
    repo = validated(root) if args.all or not args.list else None
    if args.shards is not None and not args.list:
        raise UsageError("--shards goes with --list (each shard job then runs --stacks)")
    changes = changes_for(args, root, pulumi_dir, repo)
    _check_stack_names(changes)
    if args.list and args.shards is not None:
        from provisioner.orchestrate.shards import matrix, split

        shards = split(changes.changes, args.shards, environments_at(root, changes, args.head))
        if args.format == "json":
            print_json(matrix(shards))
        else:
            for shard in shards:
                print(f"{shard.wave} {shard.index}/{shard.count}: {' '.join(shard.stacks)}")
        return 0
    if args.list:
        if args.format == "json":
            print_json(changes.matrix())
        else:
            from provisioner.safe_text import safe_line

            for c in changes.changes:  # reasons quote file paths, which git allows to hold \n
                print(safe_line(f"{c.action:<8} {c.stack}  ({c.reason})"))
        return 0

    # imported here, not above: `--list` runs on every CI push and needs none of them
    from provisioner.orchestrate.policy import (
        PREVIEW_MOVE_OPERATION,
        database_moves,
        engine_warnings,
        protect_warnings,
        review,
    )
    from provisioner.orchestrate.report import RunReport, adopted_imports, markdown_comment
    from provisioner.orchestrate.results import StackResult
    from provisioner.orchestrate.scheduler import Job, run_jobs
    from provisioner.orchestrate.state_moves import state_check_for

    assert repo is not None
    redactor = redactor_for()
    checked = review(changes, allow_destroy_production=True, operation="preview",
                     moves=database_moves(changes, root),
                     alternate_default=bool(repo.reseller and
                                            repo.reseller.sunat_alternate_server),
                     limit_users={name: p.limit_users for name, p in
                                  (repo.catalog.plans.items() if repo.catalog else ())})
    report = RunReport("plan", changeset=changes, warnings=checked.warnings,
                       adopted=adopted_imports(repo, [c.stack for c in changes.changes]))
    previews = [Job(c.stack, PREVIEW_MOVE_OPERATION if c.stack in checked.moving else "preview")
                for c in checked.runnable if c.action == "up"]
    results: dict[str, StackResult] = {r.stack: r for r in checked.blocked}
    if previews:
        with stack_runner(args, root, repo, redactor) as runner:
            runner.state_check = state_check_for(changes, repo)
            for r in run_jobs(runner, previews, parallel=args.parallel,
                              reporter=reporter(args), redactor=redactor, title="preview"):
                results[r.stack] = r
    for c in checked.runnable:
        if c.action == "destroy":
            results[c.stack] = StackResult(c.stack, "destroy", ok=True)
    report.results = [results[c.stack] for c in changes.changes if c.stack in results]
    for found in (engine_warnings(report.results), protect_warnings(report.results)):
        for stack, extra in found.items():
            report.warnings.setdefault(stack, []).extend(extra)
    if args.comment_file:
        limit = {"limit": args.comment_limit} if args.comment_limit else {}
        args.comment_file.write_text(markdown_comment(report, redactor, **limit),
                                     encoding="utf-8")
    emit(report, args.format)
    return exit_code(report)


def environments_at(root: Path, changes: ChangeSet, head: str) -> dict[str, str]:
    """soap.environment of each changed tenant at `head`, read from git (the working tree may
    be another commit: a pull request's list job runs the base branch's code)."""
    from provisioner.orchestrate.git_repo import Git
    from provisioner.orchestrate.spec_blobs import environment_of

    missing = [c for c in changes.changes if c.new_text is None and c.path]
    texts: dict[str, str | None] = {}
    if missing:
        git = Git(root)
        texts = git.blobs([f"{head}:{c.path}" for c in missing])
    out: dict[str, str] = {}
    for c in changes.changes:
        text = c.new_text if c.new_text is not None else texts.get(f"{head}:{c.path}")
        env = environment_of(text)
        if env is not None:
            out[c.stack] = env
    return out


def _check_stack_names(changes: ChangeSet) -> None:
    """Every stack name goes into a CI matrix (job names, `--stack` arguments, log lines): a
    name read from a changed or deleted file that is not a valid subdomain stops the run here,
    before anything prints it."""
    from provisioner.errors import Finding, SpecErrors
    from provisioner.model.rules import subdomain_syntax_problem

    bad = [Finding(c.path or c.old_path or "tenants", 1, 1, "subdomain",
                   f"stack name {c.stack[:80]!r} {problem}")
           for c in changes.changes if (problem := subdomain_syntax_problem(c.stack))]
    if bad:
        raise SpecErrors(bad)
