"""`provisioner drift`: a preview-only refresh of every tenant stack; exit 3 when any drifted."""

from __future__ import annotations

import argparse

from provisioner.cli import exit_codes


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_format
    from provisioner.cli.stacks_common import add_local, add_parallel

    parser.add_argument("tenants", nargs="*", metavar="TENANT",
                        help="tenants to check (default: every valid tenant)")
    add_parallel(parser)
    add_format(parser)
    add_local(parser)
    parser.epilog = exit_codes.epilog("drift")


def run(args: argparse.Namespace) -> int:
    from provisioner.cli.stacks_common import (
        EXIT_DRIFT,
        EXIT_FAILED,
        EXIT_OK,
        emit,
        redactor_for,
        reporter,
        spec_root,
        stack_runner,
    )
    from provisioner.model.repository import load_repository
    from provisioner.orchestrate.report import RunReport
    from provisioner.orchestrate.scheduler import Job, run_jobs

    root = spec_root(args)
    repo = load_repository(root)
    if repo.reseller is None:  # no stack can run, and "no drift" would be a false all-clear
        from provisioner.errors import SpecErrors
        from provisioner.model.display import display_path

        where = display_path(repo.reseller_path or repo.root)
        raise SpecErrors(sorted(f for f in repo.errors if f.file == where))
    names = [repo.tenant(n).spec.subdomain for n in args.tenants] or sorted(
        t.spec.subdomain for t in repo.tenants)
    redactor = redactor_for()
    report = RunReport("drift")
    if names:
        with stack_runner(args, root, repo, redactor) as runner:
            report.results = run_jobs(runner, [Job(n, "refresh") for n in names],
                                      parallel=args.parallel, reporter=reporter(args),
                                      redactor=redactor, title="drift")
    drifted = [r.stack for r in report.results if r.ok and r.total_changes]
    # a check that failed (a server refusing sign-in, say) says nothing about drift: never
    # "no drift" while one of them is unknown
    unknown = [r.stack for r in report.results if not r.ok]
    # a tenant in git without a stack was never applied: reported (and exit 3), never created
    new = [r.stack for r in report.results if r.new_stack]
    if args.format == "json":
        from provisioner.cli.output import print_json

        print_json({**report.as_dict(), "drifted": drifted, "new_stacks": new,
                    "unknown": unknown})
    else:
        emit(report, "text")
        if drifted:
            print(f"drifted: {', '.join(drifted)}")
        if unknown:
            print(f"drift unknown (the check failed): {', '.join(unknown)}")
        if not drifted and not unknown:
            print("no drift")
        if new:
            print(f"not provisioned (no stack yet): {', '.join(new)}")
    if not report.ok:
        return EXIT_FAILED
    return EXIT_DRIFT if drifted or new else EXIT_OK
