"""The `provisioner` command. Each sub-command lives in its own module, imported only when run,
so `provisioner --help` stays fast; registration code here must stay import-light."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from provisioner import __version__

# (command, module under provisioner.cli, one-line help). The module defines
# `configure(parser)` and `run(args) -> int`; keep module top-levels free of heavy imports.
COMMANDS: list[tuple[str, str, str]] = [
    ("init", "init", "start a reseller's own repository of tenants, or --upgrade it"),
    ("doctor", "doctor", "check what provisioning needs: Pulumi, backend, AWS, platform"),
    ("validate", "validate", "check tenant specs and the reseller file"),
    ("schema", "schema", "write the JSON Schema of tenant and reseller files"),
    ("render", "render", "render a tenant's app configuration (secrets masked)"),
    ("ruc", "ruc", "import SUNAT's padrón reducido and look up RUCs"),
    ("check-sol", "check_sol", "check a tenant's SOL credentials against SUNAT or its OSE"),
    ("new", "new", "create a tenant file like the admin form's Nuevo cliente"),
    ("form", "form", "serve the Nuevo cliente form; Guardar opens a pull request"),
    ("plan", "plan", "list or preview the tenant stacks a change touches"),
    ("apply", "apply", "update changed tenant stacks in waves, destroy removed ones"),
    ("destroy", "destroy", "destroy one tenant's stack"),
    ("drift", "drift", "check every tenant stack for drift (exit 3 when found)"),
    ("verify", "verify", "check with AWS that a tenant's resources match its spec"),
    ("explain", "explain", "show the resources a tenant's stack declares (mock run, no cloud)"),
    ("onboard", "onboard", "make a tenant an account of the app (its databases), like Guardar"),
    ("adopt", "adopt", "write tenant specs for the accounts the app already has"),
    ("platform", "platform_cmd",
     "the reseller's platform stack of an environment: explain, preview, up"),
    ("ci", "ci", "the workflows' git checks: spec-only pull requests, forward-only applies"),
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 on usage errors; keep that
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="provisioner",
        description="Provision client accounts (tenants) of the e-invoicing app as code.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    repo_help = ("the spec repository: reseller.yaml and tenants/ "
                 "(default: found from the current directory up)")
    parser.add_argument("--repo", type=Path, default=None, metavar="DIR", help=repo_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module, help_text in COMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        # also after the command (`provisioner validate --repo DIR`); SUPPRESS keeps a value
        # given before the command
        p.add_argument("--repo", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                       help=repo_help)
        _configure(module, p)
    return parser


def _configure(module: str, parser: argparse.ArgumentParser) -> None:
    importlib.import_module(f"provisioner.cli.{module}").configure(parser)


def add_format(parser: argparse.ArgumentParser, *extra: str) -> None:
    parser.add_argument("--format", choices=["text", "json", *extra], default="text",
                        help="output format (default: text)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    from provisioner.errors import ProvisionerError, UsageError

    _replace_closed_streams()
    code = 0  # what a command that stopped on a closed pipe reports
    try:
        if args.repo is not None and not args.repo.is_dir():
            raise UsageError(f"--repo {args.repo}: not a directory")
        module = importlib.import_module(f"provisioner.cli.{args._module}")
        code = int(module.run(args))
        sys.stdout.flush()  # a closed pipe shows here, not as noise at interpreter exit
        return code
    except ProvisionerError as exc:
        from provisioner.safe_text import safe_line

        text = "\n".join(safe_line(line) for line in str(exc).split("\n"))
        print(f"provisioner {args.command}: {text}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `provisioner ... | head`: the reader has gone
        _discard_stdout()
        return code
    except OSError as exc:  # a file or directory the user named could not be used
        from provisioner.safe_text import escape_controls

        where = f" {exc.filename}" if exc.filename else ""
        print(escape_controls(f"provisioner {args.command}:{where}: {exc.strerror or exc}"),
              file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("PROVISIONER_DEBUG"):
            raise
        # the exception's text is not shown: it could quote a value we were handling
        print(f"provisioner {args.command}: internal error ({type(exc).__name__}); "
              "set PROVISIONER_DEBUG=1 to see the traceback", file=sys.stderr)
        return 70


def _replace_closed_streams() -> None:
    """Started with stdout or stderr closed (`>&-`): write to /dev/null instead. Without
    this, `print(file=None)` would send errors to stdout and `sys.stdout.write` would fail."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def _discard_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that the interpreter's final flush
    does not print 'Exception ignored ... BrokenPipeError' and exit 120."""
    import contextlib

    with contextlib.suppress(OSError, ValueError):  # not a real file (captured in tests)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
