"""`provisioner ruc`: import SUNAT's padrón reducido into a local index and look RUCs up in it.

The index lets `provisioner new` fill the company name offline, as the admin form's "SUNAT"
button does online.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from provisioner.cli import exit_codes


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_format

    index_help = ("the SQLite index (default: $PROVISIONER_PADRON_INDEX or "
                  "~/.cache/provisioner/padron.sqlite3)")
    sub = parser.add_subparsers(dest="ruc_command", metavar="SUBCOMMAND", required=True)
    imp = sub.add_parser(
        "import", help="build the index from padron_reducido_ruc.zip (or the .txt)",
        description="Build the local RUC index from SUNAT's padrón reducido. The previous "
                    "index is replaced only when the import succeeds.")
    imp.add_argument("file", type=Path, metavar="FILE",
                     help="padron_reducido_ruc.zip as SUNAT publishes it, or the .txt inside")
    imp.add_argument("--index", type=Path, default=None, metavar="PATH", help=index_help)
    imp.epilog = exit_codes.epilog("ruc import")

    look = sub.add_parser(
        "lookup", help="show a RUC's name, state, condition and address",
        description="Look a RUC up in the local index, or, when there is no index, in the "
                    "HTTP service named by ruc_lookup_url in reseller.yaml (token: "
                    "$PROVISIONER_RUC_LOOKUP_TOKEN).")
    look.add_argument("ruc", metavar="RUC", help="11 digits")
    look.add_argument("--index", type=Path, default=None, metavar="PATH", help=index_help)
    add_format(look)
    look.epilog = exit_codes.epilog("ruc lookup")


def run(args: argparse.Namespace) -> int:
    if args.ruc_command == "import":
        return _import(args)
    return _lookup(args)


def _import(args: argparse.Namespace) -> int:
    from provisioner.ruc import default_index_path
    from provisioner.ruc.padron import import_padron

    index: Path = args.index or default_index_path()
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        with Progress(TextColumn("importing"), BarColumn(), DownloadColumn(),
                      TransferSpeedColumn(), TimeRemainingColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("import", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total or None)

            result = import_padron(args.file, index, progress)
    else:
        result = import_padron(args.file, index)
    for bad in result.bad_examples:
        print(f"{args.file}:{bad.line}: skipped: {bad.reason}: {bad.text}", file=sys.stderr)
    if result.bad > len(result.bad_examples):
        print(f"... and {result.bad - len(result.bad_examples):,} more bad lines",
              file=sys.stderr)
    extra = f", {_n(result.duplicates, 'repeated RUC')} (last kept)" if result.duplicates else ""
    print(f"imported {_n(result.rows, 'taxpayer')} from {_n(result.lines, 'line')} of "
          f"{args.file} in {result.seconds:.1f} s ({result.lines_per_second:,.0f} lines/s); "
          f"{_n(result.bad, 'bad line')} skipped{extra}; index: {index}")
    return 0


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def reseller_lookup_url(repo: Path | None) -> str | None:
    """`ruc_lookup_url` from the repository's reseller file, if there is one."""
    from provisioner.errors import SpecErrors
    from provisioner.model.layout import RESELLER_FILENAMES, repository_root
    from provisioner.model.repository import load_reseller

    root = repository_root(repo)
    path = next((root / n for n in RESELLER_FILENAMES if (root / n).is_file()), None)
    if path is None:
        return None
    reseller, _, findings = load_reseller(path)
    if reseller is None:
        raise SpecErrors(findings)
    return reseller.ruc_lookup_url


def _lookup(args: argparse.Namespace) -> int:
    from provisioner.errors import ProvisionerError
    from provisioner.ruc import default_index_path
    from provisioner.ruc.lookup import check_ruc, find_taxpayer

    ruc = check_ruc(args.ruc)
    url = None
    if args.index is None and not default_index_path().exists():
        url = reseller_lookup_url(args.repo)
    taxpayer = find_taxpayer(ruc, args.index, url)
    if taxpayer is None:
        where = "the lookup service" if url and args.index is None else "the padrón index"
        raise ProvisionerError(f"RUC {ruc} not found in {where}")
    if args.format == "json":
        from provisioner.cli.output import print_json

        print_json(taxpayer.as_dict())
    else:
        _print_taxpayer(taxpayer.as_dict())
    if not taxpayer.is_active_and_located:
        print(f"warning: RUC {ruc} is {taxpayer.state or 'of unknown state'} and "
              f"{taxpayer.condition or 'of unknown condition'}: SUNAT rejects invoices from "
              "a taxpayer that is not ACTIVO and HABIDO", file=sys.stderr)
    return 0


def _print_taxpayer(data: dict[str, Any]) -> None:
    rows = [("RUC", data["ruc"]), ("Name", data["name"]), ("State", data["state"]),
            ("Condition", data["condition"]), ("Address", data["address"]),
            ("Ubigeo", data["ubigeo"]), ("Source", data["source"])]
    for label, value in rows:
        print(f"{label + ':':<11}{value or '-'}")
