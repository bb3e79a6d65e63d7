"""Where a spec repository keeps its files: names and the root lookup, free of the models, so
commands that only look at paths (`plan --list`, change detection) start without pydantic."""

from __future__ import annotations

import os
from pathlib import Path

RESELLER_FILENAMES = ("reseller.yaml", "reseller.yml")
TENANTS_DIRNAME = "tenants"
# The spec repository, for programs the orchestrator starts (the Pulumi program reads it)
SPEC_ROOT_ENV = "PROVISIONER_SPEC_ROOT"
YAML_SUFFIXES = (".yaml", ".yml")
# The Pulumi project file names the CLI accepts (pulumi/pulumi sdk/go/common/workspace).
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml", "Pulumi.json")
# Where the one-tenant commands keep each tenants directory's index (model/index.py)
CACHE_ENV = "PROVISIONER_CACHE_DIR"


def cache_dir() -> Path | None:
    """$PROVISIONER_CACHE_DIR (off: none), else $XDG_CACHE_HOME/provisioner, else
    ~/.cache/provisioner."""
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "off", "0", "none") else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "provisioner"


def index_cache_path(tenants_dir: Path) -> Path | None:
    """The file caching the index of `tenants_dir` (None: caching is off)."""
    import hashlib  # here: model/listing's helper process imports this module

    base = cache_dir()
    if base is None:
        return None
    digest = hashlib.sha256(os.fsencode(os.path.abspath(tenants_dir))).hexdigest()[:24]
    return base / f"tenant-index-{digest}.bin"


def nearest_holding(start: Path, names: tuple[str, ...]) -> Path | None:
    """The nearest directory, from `start` (resolved) up, holding a file of one of `names`."""
    start = start.resolve()
    for candidate in [start, *start.parents]:
        if any((candidate / n).is_file() for n in names):
            return candidate
    return None


def find_root(start: Path) -> Path:
    """The nearest directory, from `start` up, holding a reseller file."""
    return nearest_holding(start, RESELLER_FILENAMES) or start.resolve()


def repository_root(explicit: Path | None) -> Path:
    """`--repo DIR` is the repository itself (never a parent that happens to hold a reseller
    file); without it, the nearest one from the working directory up."""
    return explicit.resolve() if explicit is not None else find_root(Path.cwd())


def spec_dir_in(project_dir: Path) -> Path:
    """A Pulumi project's spec repository by default: the project directory when it holds the
    reseller file, else its examples/ (this repository)."""
    if any((project_dir / name).is_file() for name in RESELLER_FILENAMES):
        return project_dir
    return project_dir / "examples"


def spec_dir_of(project_dir: Path, named: str | None) -> Path:
    """The spec repository a stack reads: `named` (stack config or the orchestrator's
    PROVISIONER_SPEC_ROOT), relative to the project directory, else its default."""
    return (project_dir / named).resolve() if named else spec_dir_in(project_dir)


def project_dir_from_cwd() -> Path:
    """The Pulumi project holding the working directory (with `main: infra/` the engine runs
    the program in infra/), else the working directory itself."""
    return nearest_holding(Path.cwd(), PROJECT_FILES) or Path.cwd()


def find_project_dir(start: Path) -> Path:
    """The nearest directory from `start` up holding Pulumi.yaml: the workspace's work_dir."""
    from provisioner.errors import UsageError

    found = nearest_holding(start, PROJECT_FILES)
    if found is None:
        raise UsageError(f"no Pulumi.yaml in {start.resolve()} or above: run from the repository "
                         "that holds the Pulumi project (Pulumi.yaml, program in infra/)")
    return found
