"""`validate --base REV`: the creation-only fields each tenant spec changed since a revision.

`validate` alone sees only the files as they are, so it cannot know that a field changed; with
a revision it reads each tenant file there (the same path) and warns, at the field's line, for
each field the app writes only at creation (`provisioner.app.creation_only`), and for a new
plan whose user limit the account will not get (update() never writes limit_users). `plan` always
compares BASE with HEAD (policy.review); `onboard` compares with the account's own rows.
"""

from __future__ import annotations

from typing import Any

from provisioner.app.creation_only import BY_FIELD, changed_fields, limit_users_message
from provisioner.errors import Finding
from provisioner.orchestrate.git_repo import Git
from provisioner.orchestrate.spec_blobs import parsed


def creation_only_findings(repo: Any, base: str) -> list[Finding]:
    """Warnings for the valid tenants of `repo` (a loaded Repository) against `base`."""
    if not repo.tenants:
        return []
    git = Git(repo.root)
    git.verify(base)
    specs = {}
    for tenant in repo.tenants:
        path = tenant.source.path
        specs[tenant.source.name] = f"{base}:{git.prefix(path.parent)}{path.name}"
    old_texts = git.blobs(list(specs.values()))
    alternate = bool(repo.reseller and repo.reseller.sunat_alternate_server)
    plans = {n: p.limit_users for n, p in (repo.catalog.plans.items() if repo.catalog else ())}
    out: list[Finding] = []
    for tenant in repo.tenants:
        old = parsed(old_texts.get(specs[tenant.source.name]))
        if old is None:  # new at HEAD (or renamed): created, not changed
            continue
        new = parsed(tenant.source.text)
        for key in changed_fields(old, new, alternate_default=alternate):
            loc = (key,) if isinstance(new, dict) and key in new else ()
            out.append(tenant.source.finding(
                loc, BY_FIELD[key].detail(f"changed since {base}"), "warning"))
        before = old.get("plan") if isinstance(old, dict) else None
        if isinstance(before, str) and before in plans and before != tenant.spec.plan and \
                plans[before] != plans[tenant.spec.plan]:
            out.append(tenant.source.finding(("plan",), limit_users_message(
                tenant.spec.subdomain, plans[before], tenant.spec.plan,
                plans[tenant.spec.plan]).split(": ", 1)[1], "warning"))
    return out
