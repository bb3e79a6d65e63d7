"""`provisioner doctor`: is this machine (or CI runner) ready to provision? One line per check,
with what to do when it fails or warns; exit 1 when any fails (provisioner/readiness.py)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from provisioner.cli import add_format, exit_codes
from provisioner.numbers import address_type


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend-url", help="Pulumi state backend (default: "
                                              "$PULUMI_BACKEND_URL, else Pulumi.yaml backend.url)")
    parser.add_argument("--secrets-provider",
                        help="(default: $PROVISIONER_SECRETS_PROVIDER)")
    parser.add_argument("--endpoint-url", metavar="URL",
                        help="AWS API endpoint (a moto or LocalStack server); default: AWS")
    parser.add_argument("--mysql-ca", metavar="FILE",
                        help="CA bundle for the shared MySQL server's certificate (RDS: "
                             "global-bundle.pem; default: the system's CAs)")
    parser.add_argument("--mysql-via", metavar="HOST:PORT", type=address_type,
                        help="reach the shared MySQL server through this address (an SSH or "
                             "SSM tunnel); TLS still checks the server's own name")
    parser.add_argument("--network", action="store_true",
                        help="also resolve SUNAT's endpoint host names")
    add_format(parser)
    parser.epilog = exit_codes.epilog("doctor")


def settings_from(args: argparse.Namespace) -> object:
    from provisioner import scaffold
    from provisioner.model.layout import RESELLER_FILENAMES, find_root
    from provisioner.model.repository import load_reseller
    from provisioner.readiness import Settings

    root = find_root(args.repo or Path.cwd())
    reseller, problem = None, None
    path = next((root / n for n in RESELLER_FILENAMES if (root / n).is_file()), None)
    if path is None:
        problem = f"no reseller.yaml in {root} or above"
    else:
        reseller, _, findings = load_reseller(path)
        errors = [f for f in findings if f.severity == "error"]
        if reseller is None or errors:
            reseller = None
            problem = f"{path.name} is invalid: {errors[0] if errors else 'see validate'}"
    backend = args.backend_url or os.environ.get("PULUMI_BACKEND_URL")
    if not backend and (root / "Pulumi.yaml").is_file():
        try:
            backend = scaffold.backend_of((root / "Pulumi.yaml").read_text(encoding="utf-8"))
        except (ValueError, OSError):  # unreadable: the backend check says none is named
            backend = None
    return Settings(root=root, reseller=reseller, reseller_problem=problem,
                    backend_url=backend,
                    secrets_provider=args.secrets_provider
                    or os.environ.get("PROVISIONER_SECRETS_PROVIDER"),
                    endpoint_url=args.endpoint_url, mysql_ca=args.mysql_ca,
                    mysql_via=args.mysql_via,
                    network=args.network)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from provisioner.cli.output import print_json
    from provisioner.readiness import Check, run_checks
    from provisioner.safe_text import redact_userinfo

    # a backend URL or DSN may carry user:password@: never printed (text and JSON alike)
    checks = [Check(c.name, c.status, redact_userinfo(c.detail), redact_userinfo(c.fix))
              for c in run_checks(settings_from(args))]  # type: ignore[arg-type]
    failed = [c for c in checks if c.status == "fail"]
    if args.format == "json":
        print_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            line = f"{c.status.upper():<4}  {c.name:<{width}}  {c.detail}"
            if c.status in ("fail", "warn") and c.fix:
                line += f"\n      {'':<{width}}  -> {c.fix}"
            print(line)
        warned = sum(c.status == "warn" for c in checks)
        also = f" ({warned} warned)" if warned else ""
        print(f"{len(failed)} of {len(checks)} checks failed{also}" if failed else
              f"ready: no check failed{also}")
    return 1 if failed else 0
