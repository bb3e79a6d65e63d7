"""Fields of spec files' text at a git revision, parsed once by content and without the models."""

from __future__ import annotations

import functools
from pathlib import PurePosixPath
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parsed(text: str | None) -> Any:
    """The parsed text, None when absent or not YAML. Read only, never mutated: a change's text
    is asked for its subdomain, environment and catalog use by several callers, and parsing
    it once (cached by content) is what keeps a catalog edit at 10,000 tenants linear."""
    return None if text is None else _parse(text)


@functools.lru_cache(maxsize=1 << 17)
def _parse(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return None


def subdomain_of(text: str | None, path: str) -> str:
    """The subdomain a tenant file declares (falls back to the file name, which validation
    requires to match)."""
    data = parsed(text)
    if isinstance(data, dict) and isinstance(data.get("subdomain"), str) and data["subdomain"]:
        return data["subdomain"].strip().lower()
    return PurePosixPath(path).stem.lower()


def environment_of(text: str | None) -> str | None:
    """soap.environment of a tenant file's text ("demo" when absent, as the model defaults)."""
    data = parsed(text)
    if not isinstance(data, dict):
        return None
    soap = data.get("soap")
    env = soap.get("environment", "demo") if isinstance(soap, dict) else "demo"
    return str(env)


def acknowledges_demo_history(text: str | None) -> bool:
    data = parsed(text)
    return isinstance(data, dict) and data.get("acknowledge_demo_history") is True


def reseller_catalog(data: dict[str, Any]) -> Any:
    """The merged catalog of a reseller file's parsed `plans`, `modules` and `presets`; the
    models (pydantic) are imported on the first call, not with this module."""
    from provisioner.model.catalog import ModuleDef, Plan, build_catalog

    return build_catalog([Plan.model_validate(p) for p in data.get("plans") or []],
                         [ModuleDef.model_validate(m) for m in data.get("modules") or []],
                         data.get("presets") or {})
