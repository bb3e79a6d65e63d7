"""Files the tool ships besides code, found through the import system (importlib.resources), so
that an installed wheel, an editable install and a checkout find the same files and nothing
depends on the working directory or on where the source tree is.

In git they live where readers look for them (tenant_templates/, schema/, .github/workflows/);
pyproject.toml maps each under the `provisioner` package at build time, one copy in git.
"""

from __future__ import annotations

import atexit
import contextlib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

TEMPLATES_PACKAGE: Final = "provisioner.tenant_templates"
SCHEMA_PACKAGE: Final = "provisioner.schema"
WORKFLOWS_PACKAGE: Final = "provisioner.workflows"
WSDL_PACKAGE: Final = "provisioner.sunat"
INFRA_PACKAGE: Final = "provisioner.infra"

_extracted = contextlib.ExitStack()  # only used if the package is not plain files (a zip)
atexit.register(_extracted.close)


def _as_path(item: Traversable) -> Path:
    """A real path (Jinja's FileSystemLoader and zeep want one); a pip-installed wheel is plain
    files, so this is the package's own directory, extracted only for a zip import."""
    if isinstance(item, Path):
        return item
    return _extracted.enter_context(resources.as_file(item))


def templates_dir() -> Path:
    """The default Jinja templates (tenant.env.j2, bootstrap.json.j2)."""
    return _as_path(resources.files(TEMPLATES_PACKAGE))


def schema_dir() -> Path:
    """The JSON Schemas of tenant and reseller files, as `provisioner schema` writes them."""
    return _as_path(resources.files(SCHEMA_PACKAGE))


def wsdl_path(name: str) -> Path:
    """One of our WSDLs of SUNAT's services (billService.wsdl, billConsultService.wsdl)."""
    return _as_path(resources.files(WSDL_PACKAGE) / name)


def workflow_files() -> dict[str, str]:
    """This repository's CI workflows by file name, the ones `provisioner init` copies, and
    the lock they install with (requirements.lock: `pip install -c`)."""
    root = resources.files(WORKFLOWS_PACKAGE)
    return {item.name: item.read_text(encoding="utf-8") for item in root.iterdir()
            if item.is_file() and item.name.endswith((".yml", ".yaml", ".lock"))}


def schema_files() -> dict[str, str]:
    """The shipped JSON Schemas by file name."""
    root = resources.files(SCHEMA_PACKAGE)
    return {item.name: item.read_text(encoding="utf-8") for item in root.iterdir()
            if item.is_file() and item.name.endswith(".json")}
