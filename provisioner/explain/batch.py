"""Every tenant's declared resources from one process (`explain --all`).

The repository is loaded and validated once (an invalid one: its findings, nothing printed);
each tenant's mock run then gets a view of the repository holding only that tenant and the
findings of its own file and the reseller file, so a run costs the same at 10 or 50,000
tenants. JSON is written as JSON lines, one compact document per tenant in subdomain order:
a pipeline can stream it (`jq -c`, `while read`) without holding 50,000 stacks in memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from provisioner.collector import kept_out_of_reach
from provisioner.model.repository import Repository


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
    from provisioner.explain.declared import as_data, declare
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
