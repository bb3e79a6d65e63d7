"""The program body: find and validate this stack's tenant, declare it, export its outputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from provisioner import naming
from provisioner.errors import Finding, SpecErrors
from provisioner.model.catalog import Catalog, DatabaseTier
from provisioner.model.index import load_one
from provisioner.model.layout import TENANTS_DIRNAME, YAML_SUFFIXES
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.model.repository import Repository

from .config import read_stack_config, read_stack_secrets
from .errors import StackError
from .tenant import Tenant, TenantArgs


@dataclass(frozen=True)
class Target:
    spec: TenantSpec
    reseller: ResellerSpec
    catalog: Catalog
    root: Path
    warnings: list[Finding]


def _same_file(finding: Finding, paths: set[Path]) -> bool:
    return Path(finding.file).resolve() in paths


def load_target(stack: str, spec_dir: Path, repository: Repository | None = None) -> Target:
    """This stack's tenant, checked by the rules of `provisioner validate` (spec.index.load_one:
    its own file and the reseller file in full, the rules between accounts through the index).

    Fails on errors in the reseller file, in the tenant's own file or between it and other
    tenants; another tenant's broken file is that tenant's problem, not this stack's."""
    repo = repository if repository is not None else load_one(spec_dir, stack)
    loaded = next((t for t in repo.tenants if naming.stack_name(t.spec.subdomain) == stack),
                  None)
    tenants_dir = (repo.root / TENANTS_DIRNAME).resolve()
    # the stack's own files (tenants/**/<stack>.yaml or .yml), from the findings: no listing
    candidates = {p for p in (Path(f.file).resolve() for f in repo.findings)
                  if p.name in {stack + s for s in YAML_SUFFIXES}
                  and p.is_relative_to(tenants_dir)}
    if loaded is not None:
        candidates.add(loaded.source.path.resolve())
    if repo.reseller_path is not None:
        candidates.add(repo.reseller_path.resolve())
    mine = [f for f in repo.findings if _same_file(f, candidates)]
    errors = [f for f in mine if f.severity == "error"]
    if errors:
        raise StackError(str(SpecErrors(sorted(errors))))
    if repo.reseller is None or repo.catalog is None:
        raise StackError(str(SpecErrors(sorted(repo.errors))) or "no valid reseller file")
    if loaded is None:
        raise StackError(f"stack {stack!r}: no tenant file {TENANTS_DIRNAME}/{stack}.yaml in "
                         f"{repo.root} (a tenant's file, stack and subdomain share one name)")
    return Target(loaded.spec, repo.reseller, repo.catalog, repo.root,
                  [f for f in mine if f.severity == "warning"])


def main(repository: Repository | None = None) -> Tenant:
    """Run by `pulumi up` (through infra/__main__.py) and by the mock runs of tests and
    `provisioner explain`; `repository` lets a caller reuse one loaded repository."""
    stack = pulumi.get_stack()
    config = pulumi.Config()
    settings = read_stack_config(config)
    target = load_target(stack, settings.spec_dir, repository)
    for warning in target.warnings:
        pulumi.log.warn(str(warning))
    silo = target.catalog.plans[target.spec.plan].tier is DatabaseTier.SILO
    secrets = read_stack_secrets(config, target.spec, stack, silo)
    tenant = Tenant(target.spec.subdomain, TenantArgs(
        spec=target.spec, reseller=target.reseller, catalog=target.catalog,
        spec_root=target.root, stack_secrets=secrets,
        platform=settings.platform))
    pulumi.export("url", tenant.url)
    pulumi.export("fqdn", tenant.fqdn)
    pulumi.export("databaseName", tenant.database_name)
    pulumi.export("databaseUser", tenant.database_user)
    pulumi.export("databaseEndpoint", tenant.database_endpoint)
    pulumi.export("secretArns", tenant.secret_arns)
    pulumi.export("adminEmail", target.spec.admin_email)
    pulumi.export("adminPassword", pulumi.Output.secret(tenant.admin_password))
    if tenant.app_connection is not None:  # silo: the entry the app's config/database.php needs
        pulumi.export("appDatabaseConnection", tenant.app_connection)
    return tenant
