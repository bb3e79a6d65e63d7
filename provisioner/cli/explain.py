"""`provisioner explain TENANT` and `explain --all`: the command around
`provisioner.explain` (arguments, Ctrl-C, output format)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from provisioner.cli import exit_codes


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_format

    parser.add_argument("tenant", metavar="TENANT", nargs="?",
                        help="the tenant's subdomain (its stack name) or its spec file")
    parser.add_argument("--all", action="store_true",
                        help="every tenant in one run (json: one JSON document per line)")
    add_format(parser, "markdown")
    parser.epilog = exit_codes.epilog("explain")


def spec_dir_for(repo_arg: Path | None) -> Path | None:
    """--repo, else the repository found from the working directory, else the program's
    default (the project root or examples/)."""
    from provisioner.model.layout import RESELLER_FILENAMES, find_root

    if repo_arg is not None:
        return repo_arg.resolve()
    root = find_root(Path.cwd())
    return root if any((root / n).is_file() for n in RESELLER_FILENAMES) else None


@contextmanager
def _exit_on_interrupt() -> Iterator[None]:
    """Ctrl-C during the mock run ends the process at once. Pulumi's runtime can swallow the
    KeyboardInterrupt inside one of its tasks and then wait forever for that task; the run
    writes nothing, so there is nothing to clean up."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signum: int, _frame: object) -> None:
        os.write(2, b"interrupted\n")
        os._exit(130)

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _close_event_loop() -> None:
    """mock_runtime.close_event_loop at exit, where a late Ctrl-C would only print a traceback:
    the output is complete by then."""
    import signal
    import threading

    from provisioner.explain.mock_runtime import close_event_loop

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    close_event_loop()


def run(args: argparse.Namespace) -> int:
    from provisioner.errors import ProvisionerError
    from provisioner.explain.declared import (
        as_data,
        declare,
        placeholder_platform,
    )
    from provisioner.model.layout import YAML_SUFFIXES, find_root

    if args.all or args.tenant is None:
        if not args.all:
            from provisioner.errors import UsageError

            raise UsageError("name a TENANT, or use --all")
        return _run_all(args)
    tenant, repo_arg = args.tenant, args.repo
    path = Path(tenant)
    if path.suffix in YAML_SUFFIXES:
        if not path.is_file():
            from provisioner.errors import UsageError

            raise UsageError(f"no such file: {tenant}")
        tenant = path.stem
        repo_arg = repo_arg or find_root(path.parent)
    spec_dir = spec_dir_for(repo_arg)
    if spec_dir is not None:
        from provisioner.model.listing import prefetch

        prefetch(spec_dir)  # the other tenants' stats, on another core while we import
    import atexit

    # before interpreter teardown, once every run in this process is over (registered once)
    atexit.unregister(_close_event_loop)
    atexit.register(_close_event_loop)
    from provisioner.infra.config import default_spec_dir
    from provisioner.model.index import load_one

    repository = load_one(spec_dir or default_spec_dir(), tenant)
    repository.tenant(tenant)  # an unknown tenant is a usage error, an invalid one its findings
    with _exit_on_interrupt():
        result = declare(tenant, spec_dir, repository)
    if result.error is not None:
        if isinstance(result.error, ProvisionerError):
            raise result.error
        raise ProvisionerError(f"the program failed: {type(result.error).__name__}: "
                               f"{result.error}")
    print_declared(as_data(result), args.format)
    if repository.reseller is not None and (
            unset := placeholder_platform(repository.reseller.platform)):
        import sys

        print(f"note: {len(unset)} platform value(s) not set yet are shown as <platform...>; "
              "`pulumi up` needs them in reseller.yaml `platform:` (or a stack reference)",
              file=sys.stderr)
    return 0


def _run_all(args: argparse.Namespace) -> int:
    import json
    import sys

    from provisioner.errors import ProvisionerError, UsageError
    from provisioner.explain.batch import explain_all
    from provisioner.explain.declared import format_markdown, format_text
    from provisioner.infra.config import default_spec_dir
    from provisioner.model.repository import load_repository
    from provisioner.progress import counting_bar

    if args.tenant is not None:
        raise UsageError("--all explains every tenant: name no TENANT with it")
    import atexit

    atexit.unregister(_close_event_loop)
    atexit.register(_close_event_loop)
    spec_dir = spec_dir_for(args.repo)
    repo = load_repository(spec_dir or default_spec_dir())
    repo.raise_for_errors()
    out = sys.stdout
    first = True

    def emit(data: dict[str, Any]) -> None:
        nonlocal first
        if args.format == "json":
            out.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
            return
        if not first:
            out.write("\n")
        first = False
        out.write((format_markdown(data) if args.format == "markdown" else format_text(data))
                  + "\n")

    with _exit_on_interrupt(), counting_bar("explain", len(repo.tenants)) as advance:
        failures = explain_all(repo, spec_dir, emit, advance)  # keeps `repo` out of gc's reach
    out.flush()
    if failures:
        raise ProvisionerError(f"{len(failures)} tenant(s) failed:\n" + "\n".join(failures))
    return 0


def print_declared(data: dict[str, Any], fmt: str) -> None:
    """A mock run's declared resources in the asked format (explain and platform explain)."""
    from provisioner.cli.output import print_json
    from provisioner.explain.declared import format_markdown, format_text

    if fmt == "json":
        print_json(data)
    else:
        print(format_markdown(data) if fmt == "markdown" else format_text(data))
