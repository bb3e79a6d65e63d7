"""A new reseller's first hour, end to end, from the tool as a reseller installs it.

The tool is installed with `pip install git+file://<clone>@<commit>` (what `pipx install
git+https://...@TAG` does, from a local clone) into a fresh virtual environment outside the
checkout; its dependencies come from this environment through a .pth file, as in
tests/test_wheel.py, so the run is offline. Then, with nothing but a base domain:
init -> new -> validate -> render -> explain -> git commit -> plan --list -> onboard --dry-run.
Each step succeeds, or says in one line what to do next.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.test_wheel import _sources, run

pytestmark = pytest.mark.slow
GIT = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e.pe", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@e.pe", "GIT_CONFIG_NOSYSTEM": "1"}


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT, "HOME": str(cwd)},
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def from_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """(bin/ of a fresh environment with the tool installed from a git URL, that URL, commit)"""
    base = tmp_path_factory.mktemp("first-hour")
    clone, env_dir = base / "clone", base / "env"
    clone.mkdir()
    _sources(clone)  # this checkout's files, committed in a clone of its own
    _git("init", "-q", "-b", "main", cwd=clone)
    _git("add", "-A", cwd=clone)
    _git("commit", "-qm", "release", cwd=clone)
    commit = _git("rev-parse", "HEAD", cwd=clone)
    # no pip of its own: this environment's (through the .pth) is a current one, as pipx uses;
    # ensurepip's older pip (23.2) refused `name @ git+file:///...` (a URL without a host)
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n",
                                                     encoding="utf-8")
    url = f"git+{clone.as_uri()}"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
         "--no-build-isolation", f"tenant-provisioner @ {url}@{commit}"],
        capture_output=True, text=True, timeout=900, env={**os.environ, **GIT})
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield env_dir / "bin", url, commit


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_first_hour_from_a_git_install(from_git: tuple[Path, str, str],
                                           tmp_path: Path) -> None:
    bin_dir, url, commit = from_git
    work = tmp_path / "work"
    work.mkdir()

    # init: nothing but the base domain (no terminal, no piped answers: flags only)
    result = run(bin_dir, "init", "acme", "--base-domain", "facturador.acme.pe", cwd=work)
    assert result.returncode == 0, result.stderr
    repo = work / "acme"
    pin = f"tenant-provisioner @ {url}@{commit}"
    assert f"\n{pin}\n" in (repo / "requirements.txt").read_text(encoding="utf-8")
    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert hooks["repos"][0]["hooks"][0]["additional_dependencies"] == [pin]
    assert "push it and install from its git+https:// URL" in _one_line(result)  # a local clone
    for todo in ("state backend", "secrets provider", "reseller.yaml `app:`"):
        assert todo in result.stdout
    # the pin installs: pip resolves it (the clone, at that commit) as CI would
    check = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--dry-run", "-q",
                            "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
                            "-r", "requirements.txt"], cwd=repo, capture_output=True, text=True,
                           timeout=600, env={**os.environ, **GIT})
    assert check.returncode == 0, check.stderr

    # new: the first tenant, and the secrets still to set (none for this plan without app:)
    result = run(bin_dir, "new", "--no-input", "--no-lookup", "--ruc", "20131312955",
                 "--company-name", "Aduanas SAC", "--subdomain", "aduanas", "--email",
                 "TI@Aduanas.example.pe", "--plan", "pyme", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "pulumi stack init --secrets-provider" in result.stdout
    assert "Pulumi.aduanas.yaml" in result.stdout
    spec = yaml.safe_load((repo / "tenants" / "aduanas.yaml").read_text(encoding="utf-8"))
    assert spec["admin_email"] == "TI@Aduanas.example.pe"  # as typed
    assert spec["allow_production_switch"] is False  # the safe answer

    result = run(bin_dir, "validate", cwd=repo)
    assert result.returncode == 0 and "1 valid tenant," in result.stdout, result.stderr
    result = run(bin_dir, "render", "aduanas", cwd=repo)
    assert result.returncode == 0 and "aduanas.facturador.acme.pe" in result.stdout, \
        result.stderr

    # explain before the platform exists: placeholders, and one line saying so
    result = run(bin_dir, "explain", "aduanas", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "zoneId=<platform.hosted_zone_id>" in result.stdout
    assert "not set yet" in _one_line(result)

    # plan --list: first nothing committed, then the commit that adds the tenant
    _git("init", "-q", "-b", "main", cwd=repo)
    result = run(bin_dir, "plan", "--list", cwd=repo)
    assert result.returncode == 2 and "nothing committed yet" in _one_line(result)
    _git("add", "-A", cwd=repo)
    _git("commit", "-qm", "tenant repository and the first tenant", cwd=repo)
    result = run(bin_dir, "plan", "--list", cwd=repo)  # no origin/main yet: what to pass
    assert result.returncode == 2 and "--all" in _one_line(result)
    result = run(bin_dir, "plan", "--list", "--all", cwd=repo)
    assert result.returncode == 0 and "aduanas" in result.stdout, result.stderr

    # onboard --dry-run without the app: section: one line, with the page to read
    result = run(bin_dir, "onboard", "aduanas", "--dry-run", cwd=repo)
    line = _one_line(result)
    assert result.returncode == 2 and "no app: section" in line and "docs/app.md" in line
    assert "Traceback" not in result.stderr


def test_explain_and_pin_from_the_installed_copy_not_this_checkout(
        from_git: tuple[Path, str, str]) -> None:
    bin_dir, _, commit = from_git
    code = ("import provisioner, importlib.metadata as m, json;"
            "print(provisioner.__file__);"
            "print(json.loads(m.distribution('tenant-provisioner')"
            ".read_text('direct_url.json'))['vcs_info']['commit_id'])")
    out = subprocess.run([str(bin_dir / "python"), "-c", code], capture_output=True,
                         text=True, check=True, cwd=bin_dir.parent).stdout.splitlines()
    assert out[0].startswith(str(bin_dir.parent)) and out[1] == commit
    assert sys.prefix != str(bin_dir.parent)
