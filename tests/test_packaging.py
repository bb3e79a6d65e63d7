"""How the tool is packaged: one top-level name in site-packages, infra/ and the data files
mapped under it, and the Pulumi program runnable the way Pulumi's language host runs it."""

from __future__ import annotations

import runpy
import sys
import tomllib
from pathlib import Path

import pytest

from provisioner import package_data
from provisioner.explain.mock_runtime import run_stack

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_subpackage_of_the_source_tree_is_in_the_wheel() -> None:
    """setuptools takes an explicit package list (a find would miss the mapped ones): a new
    subpackage of provisioner/ that is not listed would be missing from the wheel."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "provisioner").rglob("__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    mapped = PYPROJECT["tool"]["setuptools"]["package-dir"]
    for package, directory in mapped.items():
        assert package in listed and (ROOT / directory / "__init__.py").is_file()


def test_no_program_module_is_named_like_a_standard_library_one() -> None:
    """Pulumi runs infra/ with infra/ itself first on sys.path: a module there named like a
    standard-library one would shadow it for every library the program imports."""
    for program in ("infra", "platform"):
        names = {p.stem for p in (ROOT / program).glob("*.py")} - {"__init__", "__main__"}
        assert names & set(sys.stdlib_module_names) == set(), program
    # the platform program's package is not named like one either (stdlib `platform`)
    packages = {p.parent.name for p in (ROOT / "provisioner").rglob("__init__.py")}
    assert packages & set(sys.stdlib_module_names) == set()


def test_the_data_files_are_found_through_the_import_system() -> None:
    assert (package_data.templates_dir() / "tenant.env.j2").is_file()
    assert set(package_data.schema_files()) == {"tenant.schema.json", "reseller.schema.json"}
    assert package_data.wsdl_path("billService.wsdl").is_file()
    assert package_data.workflow_files(), "the CI workflows init copies"
    from provisioner import iam_policy

    assert iam_policy.template_names() == sorted(p.name for p in (ROOT / "policies").glob(
        "*.json")), "the platform program renders the very files of policies/"


def test_the_program_runs_as_pulumis_language_host_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """pulumi-language-python-exec: chdir to infra/ (the engine's pwd for `main: infra/`), then
    runpy.run_path(".", run_name="__main__"); the program finds the project root upwards."""
    monkeypatch.chdir(ROOT / "infra")
    monkeypatch.syspath_prepend(".")
    run = run_stack("pruebademo", lambda: runpy.run_path(".", run_name="__main__"),
                    secrets={"appKey": "base64:a2V5LTE=", "appDatabasePassword": "appdb-1"})
    assert run.error is None, run.error
    assert run.outputs["databaseName"] == "tenancy_pruebademo"
