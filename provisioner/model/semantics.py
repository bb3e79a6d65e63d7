"""Rules that need the reseller's catalog and settings, not just the tenant file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from provisioner import naming
from provisioner.model.catalog import Catalog, Plan
from provisioner.model.models import Modules, ResellerSpec, SoapEnvironment, SoapSend, TenantSpec
from provisioner.model.rules import AWS_MAX_TAGS, FIXED_TAG_KEYS, close_matches, ruc_problem

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class PathIssue:
    """A problem at a path inside one file; the loader turns the path into line and column."""

    path: Path
    message: str
    severity: str = "error"


@dataclass(frozen=True)
class ModuleChoice:
    modules: tuple[str, ...]  # in catalog order
    levels: dict[str, tuple[str, ...]]  # every enabled module with levels, in catalog order


def resolve_modules(spec: TenantSpec, catalog: Catalog) -> ModuleChoice:
    """The modules and levels the tenant gets; assumes `check_tenant` found no errors."""
    sel = spec.modules
    chosen = _chosen(sel, catalog)
    ordered = tuple(m for m in catalog.modules if m in chosen)
    levels: dict[str, tuple[str, ...]] = {}
    for m in ordered:  # a plain loop: this runs once per tenant in `render --all`
        offered = catalog.modules[m].levels
        if offered:
            wanted = sel.levels.get(m)
            levels[m] = tuple(offered) if wanted is None else tuple(
                lv for lv in offered if lv in wanted)
    return ModuleChoice(ordered, levels)


def _chosen(sel: Modules, catalog: Catalog) -> set[str]:
    chosen = set(sel.include if sel.include is not None else catalog.presets[sel.preset or ""])
    chosen |= set(sel.add)
    chosen -= set(sel.remove)
    return chosen


def plan_of(spec: TenantSpec, catalog: Catalog) -> Plan:
    return catalog.plans[spec.plan]


def check_tenant(spec: TenantSpec, reseller: ResellerSpec, catalog: Catalog) -> list[PathIssue]:
    """The rules of one tenant that need the reseller file and catalog; what they need of
    those is worked out once (`_TenantRules`): this runs for every tenant in every `validate`
    (bench/validate_bench.py)."""
    rules = _rules_for(reseller, catalog)
    issues = _check_subdomain(spec, reseller, rules)
    issues += _check_ruc(spec)
    issues += _plan_issues(spec.plan, catalog)
    issues += rules.module_issues(spec.modules)
    if spec.labels or rules.tags_may_overflow:
        issues += _check_tags(spec, reseller)
    soap = spec.soap
    if (soap.environment is SoapEnvironment.PRODUCTION and soap.send is SoapSend.SUNAT
            and not spec.certificate):
        issues.append(PathIssue(("certificate",), "SUNAT production signs documents with the "
                                "company's own certificate; set certificate: true and provide it "
                                "as a stack secret", "warning"))
    return issues


def _plan_issues(plan: str, catalog: Catalog) -> list[PathIssue]:
    if plan in catalog.plans:
        return []
    return [PathIssue(("plan",), f"unknown plan {plan!r}{close_matches(plan, catalog.plans.keys())}"
                                 f"; plans: {', '.join(sorted(catalog.plans))}")]


def check_tenant_parts(data: dict[str, Any], failed: set[str], reseller: ResellerSpec,
                       catalog: Catalog) -> list[PathIssue]:
    """The catalog's rules on the parts of a tenant file that pass the model when another part
    does not (`failed`: the top-level fields with model errors), so one run reports every
    problem of every file: a wrong type and an unknown preset together."""
    from pydantic import ValidationError

    issues: list[PathIssue] = []
    plan = data.get("plan")
    if "plan" not in failed and isinstance(plan, str):
        issues += _plan_issues(plan, catalog)
    if "modules" not in failed and "modules" in data:
        try:
            modules = Modules.model_validate(data["modules"])
        except ValidationError:
            return issues
        issues += _rules_for(reseller, catalog).module_issues(modules)
    return issues


class _TenantRules:
    """What `check_tenant` needs of one reseller file and catalog (the subdomain limit, the
    reserved names), worked out once for all their tenants; and the module rules' issues for
    each selection seen. A repository's tenants share a few selections (a preset, some
    add/remove): those issues depend on the selection and the catalog alone."""

    MAX_SELECTIONS = 4096  # distinct selections remembered; past that, start again

    def __init__(self, reseller: ResellerSpec, catalog: Catalog) -> None:
        self.reseller, self.catalog = reseller, catalog
        self.subdomain_limit = naming.max_subdomain_length(reseller.database_prefix)
        self.reserved = frozenset(s.lower() for s in reseller.reserved_subdomains)
        # without labels, a tenant's tags are the reseller's and the stack's own
        self.tags_may_overflow = len(reseller.tags) + len(FIXED_TAG_KEYS) > AWS_MAX_TAGS
        self._modules: dict[tuple[object, ...], tuple[PathIssue, ...]] = {}

    def module_issues(self, sel: Modules) -> tuple[PathIssue, ...]:
        include, add, remove, levels = sel.include, sel.add, sel.remove, sel.levels
        # tuple() only where there is something to copy: most selections are a preset alone,
        # and three tuple() calls and a comprehension on empty ones doubled this method's cost
        key = (sel.preset, include if include is None else tuple(include),
               tuple(add) if add else (), tuple(remove) if remove else (),
               tuple([(m, tuple(lv)) for m, lv in levels.items()]) if levels else ())
        found = self._modules.get(key)
        if found is None:
            if len(self._modules) >= self.MAX_SELECTIONS:
                self._modules.clear()
            found = self._modules[key] = tuple(_check_modules(sel, self.catalog))
        return found


_last_rules: list[_TenantRules] = []


def _rules_for(reseller: ResellerSpec, catalog: Catalog) -> _TenantRules:
    """The last reseller and catalog's rules, or new ones (frozen models: same object, same
    values)."""
    if _last_rules and _last_rules[0].reseller is reseller and _last_rules[0].catalog is catalog:
        return _last_rules[0]
    _last_rules[:] = [_TenantRules(reseller, catalog)]
    return _last_rules[0]


def _check_subdomain(spec: TenantSpec, reseller: ResellerSpec, rules: _TenantRules
                     ) -> list[PathIssue]:
    out = []
    limit = rules.subdomain_limit
    if len(spec.subdomain) > limit:
        out.append(PathIssue(("subdomain",), (
            f"{len(spec.subdomain)} characters; at most {limit} so that the database user "
            f"{naming.database_user(reseller.database_prefix, spec.subdomain)!r} fits MySQL's "
            f"{naming.MYSQL_USER_NAME_MAX}-character user names")))
    if spec.subdomain in rules.reserved:
        out.append(PathIssue(("subdomain",),
                             f"{spec.subdomain!r} is reserved by the reseller file"))
    return out


def _check_ruc(spec: TenantSpec) -> list[PathIssue]:
    problem = ruc_problem(spec.ruc)
    env = spec.soap.environment
    if problem and env is SoapEnvironment.PRODUCTION:
        return [PathIssue(("ruc",), f"{problem}; a production tenant needs a RUC SUNAT issued")]
    if problem:
        return [PathIssue(("ruc",), f"{problem} (accepted for a {env.value} tenant)", "warning")]
    if env is SoapEnvironment.DEMO and spec.allow_production_switch:
        return [PathIssue(("ruc",), (
            "looks like a real RUC on a demo tenant that may switch itself to production: its "
            "demo history would stay and cannot be deleted; use an invented RUC for trials or "
            "set allow_production_switch: false"), "warning")]
    return []


def _check_tags(spec: TenantSpec, reseller: ResellerSpec) -> list[PathIssue]:
    """AWS refuses a 51st tag on a resource (the whole `pulumi up` fails there), and a label
    named like one of the stack's own tags would be silently overwritten."""
    out = [PathIssue(("labels", key), f"{key!r} is a tag the stack sets itself; choose another "
                     "key") for key in spec.labels if key in FIXED_TAG_KEYS]
    if len(reseller.tags) + len(spec.labels) + len(FIXED_TAG_KEYS) <= AWS_MAX_TAGS:
        return out  # the common case: under the limit even if no key were shared
    total = len({*reseller.tags, *spec.labels, *FIXED_TAG_KEYS})
    if total > AWS_MAX_TAGS:
        out.append(PathIssue(("labels",), (
            f"{total} tags on each resource ({len(FIXED_TAG_KEYS)} of the stack's, "
            f"{len(reseller.tags)} from reseller.yaml, {len(spec.labels)} labels); AWS allows "
            f"at most {AWS_MAX_TAGS}")))
    return out


def _check_modules(sel: Modules, catalog: Catalog) -> list[PathIssue]:
    known = catalog.modules.keys()
    out: list[PathIssue] = []
    if sel.preset is not None and sel.preset not in catalog.presets:
        out.append(PathIssue(("modules", "preset"), f"unknown preset {sel.preset!r}"
                             f"{close_matches(sel.preset, catalog.presets.keys())}"
                             f"; presets: {', '.join(sorted(catalog.presets))}"))
    for key, values in (("include", sel.include), ("add", sel.add), ("remove", sel.remove)):
        out += [_unknown_module(("modules", key, i), value, known)
                for i, value in enumerate(values or []) if value not in known]
    added = set(sel.add)
    for i, value in enumerate(sel.remove):
        if value in added:  # which one wins would be the order of two set operations
            out.append(PathIssue(("modules", "remove", i),
                                 f"{value!r} is both added and removed; keep it in one list"))
    if sel.remove and sel.preset in catalog.presets:
        base = set(catalog.presets[sel.preset])
        for i, value in enumerate(sel.remove):
            if value in known and value not in base:
                out.append(PathIssue(("modules", "remove", i),
                                     f"{value!r} is not in preset {sel.preset!r}", "warning"))
    enabled = None if out or not sel.levels else _chosen(sel, catalog)
    for module, levels in sel.levels.items():
        if module not in known:
            out.append(_unknown_module(("modules", "levels", module), module, known))
            continue
        if enabled is not None and module not in enabled:
            out.append(PathIssue(("modules", "levels", module),
                                 f"levels given for {module!r}, which is not enabled"))
        valid = catalog.modules[module].levels
        for i, level in enumerate(levels):
            if level not in valid:
                hint = close_matches(level, valid) or (
                    f"; {module!r} has levels: {', '.join(valid)}" if valid
                    else f"; {module!r} has no levels")
                out.append(PathIssue(("modules", "levels", module, i),
                                     f"unknown level {level!r}{hint}"))
    return out


def _unknown_module(path: Path, value: str, known: Iterable[str]) -> PathIssue:
    return PathIssue(path, f"unknown module {value!r}{close_matches(value, known)}")
