"""`provisioner validate`: the check every pull request and pre-commit hook runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from provisioner.cli import exit_codes


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_format

    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="tenant files or directories (default: the repository's tenants/)")
    parser.add_argument("--base", metavar="REV", default=None,
                        help="also warn for each field the app writes only at creation "
                             "(ruc, company_name, admin_email, ...) that a tenant file changed "
                             "since this git revision (plan always compares with its BASE)")
    add_format(parser)
    parser.epilog = exit_codes.epilog("validate")


def _check_arguments(repo: Path | None, paths: list[Path]) -> None:
    """A path that does not exist is a mistake in the command, not in the specs: exit 2."""
    from provisioner.errors import UsageError

    if repo is not None and not repo.is_dir():
        raise UsageError(f"--repo {repo}: not a directory")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")


def run(args: argparse.Namespace) -> int:
    from provisioner.cli.output import count, print_findings, print_json
    from provisioner.model.repository import load_repository

    _check_arguments(args.repo, args.paths)
    repo = load_repository(args.repo, args.paths)
    if args.base is not None:
        from provisioner.orchestrate.base_warnings import creation_only_findings

        repo.findings.extend(creation_only_findings(repo, args.base))
    errors, warnings = repo.errors, repo.warnings
    if args.format == "json":
        print_json({
            "ok": not errors,
            "root": str(repo.root),
            "files": repo.files_checked,
            "tenants": len(repo.tenants),
            "errors": len(errors),
            "warnings": len(warnings),
            "findings": [f.as_dict() for f in repo.findings],
        })
    else:
        print_findings(repo.findings)
        verdict = "invalid" if errors else "valid"
        print(f"{verdict}: {count(repo.files_checked, 'file')}, "
              f"{count(len(repo.tenants), 'valid tenant')}, {count(len(errors), 'error')}, "
              f"{count(len(warnings), 'warning')}")
    return 1 if errors else 0
