"""`provisioner apply`: up the changed tenants in waves (demo first, production in batches),
destroy removed ones; stops at the first wave with a failure."""

from __future__ import annotations

import argparse

from provisioner.cli import exit_codes


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_format
    from provisioner.cli.stacks_common import add_base, add_local, add_parallel, positive_int

    add_base(parser)
    parser.add_argument("--batch-size", type=positive_int, default=25, metavar="N",
                        help="production tenants per wave, after demo tenants (default: 25)")
    add_parallel(parser)
    parser.add_argument("--allow-destroy-production", action="store_true",
                        help="destroy the stacks of removed production tenants")
    parser.add_argument("--refresh", action="store_true",
                        help="read each stack's resources from the cloud first (pulumi up "
                             "--refresh --run-program): puts back what `drift` found changed "
                             "or gone")
    parser.add_argument("--require-tip", metavar="BRANCH", default=None,
                        help="refuse (exit 4, nothing applied) unless HEAD is the tip of BRANCH "
                             "on origin and not behind the last-applied marker (CI re-runs)")
    add_format(parser)
    add_local(parser)
    parser.epilog = exit_codes.epilog("apply")


def run(args: argparse.Namespace) -> int:
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
    from provisioner.orchestrate.policy import (
        apply_waves,
        database_moves,
        engine_warnings,
        protect_warnings,
        review,
        with_moves,
    )
    from provisioner.orchestrate.report import RunReport
    from provisioner.orchestrate.scheduler import run_waves
    from provisioner.orchestrate.state_moves import state_check_for

    root = spec_root(args)
    if args.require_tip:
        from provisioner.orchestrate.ci_guards import require_forward

        require_forward(root, "HEAD", branch=args.require_tip, marker_tag=args.marker)
    repo = validated(root)
    changes = changes_for(args, root, None if args.all else project_dir(root), repo)
    checked = review(changes, allow_destroy_production=args.allow_destroy_production,
                     operation="up", moves=database_moves(changes, root),
                     alternate_default=bool(repo.reseller and
                                            repo.reseller.sunat_alternate_server),
                     limit_users={name: p.limit_users for name, p in
                                  (repo.catalog.plans.items() if repo.catalog else ())})
    environments = {t.spec.subdomain: t.spec.soap.environment.value for t in repo.tenants}
    waves = with_moves(apply_waves(checked.runnable, args.batch_size, environments),
                       checked.moving)
    report = RunReport("apply", changeset=changes, warnings=checked.warnings)
    results = []
    if any(w.jobs for w in waves):
        redactor = redactor_for()
        with stack_runner(args, root, repo, redactor, create_stacks=True) as runner:
            runner.state_check = state_check_for(changes, repo)
            results = run_waves(runner, waves, parallel=args.parallel, reporter=reporter(args),
                                redactor=redactor)
    report.results = [*results, *checked.blocked]
    for found in (engine_warnings(results), protect_warnings(results)):
        for stack, extra in found.items():
            report.warnings.setdefault(stack, []).extend(extra)
    emit(report, args.format)
    return exit_code(report)

