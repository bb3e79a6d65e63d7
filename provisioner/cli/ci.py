"""`provisioner ci`: the checks the workflows make with git before they trust a run (a
spec-only pull request; an apply that only moves forward) and the marker's move."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import exit_codes

    parser.epilog = exit_codes.epilog("ci")
    sub = parser.add_subparsers(dest="ci_command", metavar="CHECK", required=True)
    spec = sub.add_parser("spec-only", help="print review=false when BASE..HEAD changes only "
                                            "tenant spec files, else review=true (reasons on "
                                            "stderr)")
    spec.add_argument("--base", required=True, metavar="REV")
    spec.add_argument("--head", required=True, metavar="REV")
    for name, text in (("require-tip", "exit 4 unless SHA is the branch tip on the remote and "
                                       "not behind the last-applied marker"),
                       ("move-marker", "require-tip, then move the marker to SHA (a push with "
                                       "a lease on the value read)")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--sha", required=True, metavar="SHA")
        p.add_argument("--branch", default="main")
        p.add_argument("--remote", default="origin")
        p.add_argument("--marker", default=None, metavar="TAG",
                       help="the marker tag (default: $PROVISIONER_APPLIED_MARKER or "
                            "provisioner-applied)")


def run(args: argparse.Namespace) -> int:
    import os
    import sys
    from pathlib import Path

    from provisioner.safe_text import safe_line

    root = Path(args.repo) if args.repo is not None else Path.cwd()
    if args.ci_command == "spec-only":
        from provisioner.orchestrate.ci_guards import review_reasons

        reasons = review_reasons(root, args.base, args.head)
        for reason in reasons:
            print(safe_line(f"needs review: {reason}"), file=sys.stderr)
        print(f"review={'true' if reasons else 'false'}")
        return 0
    from provisioner.orchestrate.applied_base import APPLIED_MARKER
    from provisioner.orchestrate.ci_guards import move_marker, require_forward

    marker = args.marker or os.environ.get("PROVISIONER_APPLIED_MARKER") or APPLIED_MARKER
    step = move_marker if args.ci_command == "move-marker" else require_forward
    forward = step(root, args.sha, branch=args.branch, marker_tag=marker, remote=args.remote)
    verb = "moved to" if args.ci_command == "move-marker" else "may apply"
    print(safe_line(f"{marker} {verb} {forward.sha[:12]} ({forward.note})"))
    return 0
