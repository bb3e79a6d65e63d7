"""`explain --all`: every tenant's declared resources from one process.

The repository is loaded and validated once (an invalid one: its findings, nothing printed);
each tenant's mock run then gets a view of the repository holding only that tenant and the
findings of its own file and the reseller file, so a run costs the same at 10 or 50,000
tenants. JSON is written as JSON lines, one compact document per tenant in subdomain order:
a pipeline can stream it (`jq -c`, `while read`) without holding 50,000 stacks in memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from provisioner.collector import kept_out_of_reach
from provisioner.errors import ProvisionerError
from provisioner.model.loader import Repository


def one_tenant_views(repo: Repository) -> Iterator[Repository]:
    """Per tenant, the repository as its stack sees it: that tenant and its files' findings."""
    by_file: dict[Path, list[Any]] = {}
    for f in repo.findings:
        by_file.setdefault(Path(f.file).resolve(), []).append(f)
    reseller = by_file.get(repo.reseller_path.resolve(), []) if repo.reseller_path else []
    for loaded in sorted(repo.tenants, key=lambda t: t.spec.subdomain):
        own = by_file.get(loaded.source.path.resolve(), [])
        yield dataclasses.replace(repo, tenants=[loaded], findings=[*reseller, *own])


def explain_all(repo: Repository, spec_dir: Path | None,
                emit: Callable[[dict[str, Any]], None],
                advance: Callable[[], None] = lambda: None) -> list[str]:
    """Declare every tenant, `emit` each one's data; the failures, as lines to print."""
    from provisioner.cli.explain import as_data, declare
    from provisioner.naming import stack_name

    repo.raise_for_errors()
    failures = []
    with kept_out_of_reach():
        for view in one_tenant_views(repo):
            stack = stack_name(view.tenants[0].spec.subdomain)
            result = declare(stack, spec_dir, view)
            if result.error is not None:
                failures.append(f"{stack}: {result.error}")
            else:
                emit(as_data(result))
            advance()
    return failures


def run_all(args: argparse.Namespace) -> int:
    from provisioner.cli.explain import (
        _close_event_loop,
        _exit_on_interrupt,
        format_markdown,
        format_text,
        spec_dir_for,
    )
    from provisioner.errors import UsageError
    from provisioner.infra.config import default_spec_dir
    from provisioner.model.loader import load_repository
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
