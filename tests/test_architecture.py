"""The house rules a newcomer relies on: layers that only point down (the import-linter
contracts in pyproject.toml, docs/architecture.md), and modules small enough to read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_MODULE_LINES = 700


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(cwd)  # the tree under test, before the editable install's finder
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_layers_hold() -> None:
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout


@pytest.mark.parametrize(("module", "upward"), [
    ("model/catalog.py", "import provisioner.cli"),         # the model reaching the CLI
    ("render/renderer.py", "import provisioner.infra"),     # render reaching the program
    ("app/certificate.py", "import provisioner.orchestrate"),
    ("secrets.py", "import pulumi"),                         # start-up: no SDK below the program
])
def test_an_upward_import_breaks_a_contract(tmp_path: Path, module: str, upward: str) -> None:
    """The contracts are not vacuous: one upward import in a copy of the tree is refused."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "provisioner", tmp_path / "provisioner",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "provisioner" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{upward}  # noqa\n",
                      encoding="utf-8")
    proc = lint_imports(tmp_path)
    assert proc.returncode != 0
    assert "BROKEN" in proc.stdout


def test_no_module_of_the_package_is_too_long_to_read() -> None:
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "provisioner").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_infra_holds_only_the_projects_entry() -> None:
    """Pulumi runs infra/ with infra/ itself first on sys.path: the program lives in the
    package provisioner/infra/, and infra/ holds nothing a module name could shadow (`.venv`,
    the dynamic provider's view of the project's virtualenv, is no importable name)."""
    import os

    assert sorted(p.name for p in (ROOT / "infra").iterdir()
                  if p.name != "__pycache__") == [".venv", "__main__.py"]
    assert os.readlink(ROOT / "infra" / ".venv") == "../.venv"
