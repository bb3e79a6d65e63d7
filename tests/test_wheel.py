"""The wheel a reseller installs: built from the sources git knows, installed into a fresh
virtual environment outside the checkout, and every offline command run from there.

The tool is installed from the wheel with --no-deps; its dependencies (pulumi-aws alone is
hundreds of MB) come from this environment's site-packages through a one-line .pth file, which
adds the directory without running its .pth files, so this checkout's editable finder is not
active there. PROVISIONER_WHEEL_FULL=1 installs the dependencies from PyPI instead (slow).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner import __version__
from tests.padron_sample import padron_bytes
from tests.test_init import PLATFORM_FLAGS

ROOT = Path(__file__).resolve().parent.parent
INIT_FLAGS = ("--no-input", "--base-domain", "facturador.acme.pe", "--database-prefix", "acme",
              *PLATFORM_FLAGS)  # the same platform as the in-checkout `init` tests


def _sources(dest: Path) -> None:
    """What a tag's checkout holds: files git tracks or would track (no .venv, build/ ...)."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin/ directory of a fresh environment holding only the wheel's provisioner."""
    base = tmp_path_factory.mktemp("wheel")
    src, dist, env_dir = base / "src", base / "dist", base / "env"
    _sources(src)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(dist), str(src)], check=True, capture_output=True,
                   timeout=600)
    wheels = list(dist.glob("tenant_provisioner-*.whl"))
    assert len(wheels) == 1
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    full = os.environ.get("PROVISIONER_WHEEL_FULL") == "1"
    if not full:
        purelib = subprocess.run([str(python), "-c",
                                  "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        Path(purelib, "dev-dependencies.pth").write_text(
            sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *([] if full else ["--no-deps"]), str(wheels[0])],
                   check=True, capture_output=True, timeout=1800)
    yield env_dir / "bin"


def run(bin_dir: Path, *args: str, cwd: Path, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    environment.update(env or {})
    environment["PATH"] = f"{bin_dir}{os.pathsep}/usr/bin:/bin"
    return subprocess.run([str(bin_dir / "provisioner"), *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_the_wheel_holds_one_top_level_package(installed: Path) -> None:
    python = installed / "python"
    code = ("import importlib.metadata as m, provisioner, provisioner.infra.program as p;"
            "print(provisioner.__file__); print(p.__file__);"
            "print(m.distribution('tenant-provisioner').read_text('top_level.txt'))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                         cwd=installed.parent, check=True).stdout.splitlines()
    env_dir = str(installed.parent)
    assert out[0].startswith(env_dir) and out[1].startswith(env_dir)  # not this checkout
    assert out[1].endswith("provisioner/infra/program.py")
    assert [line for line in out[2:] if line] == ["provisioner"]
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run([str(python), "-c", "import infra"], capture_output=True,
                       cwd=installed.parent, check=True)


def test_every_offline_command_from_the_installed_wheel(installed: Path,
                                                        tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    assert run(installed, "--version", cwd=work).stdout.strip() == f"provisioner {__version__}"

    # init: a reseller's repository, checked and pinned by the installed tool
    result = run(installed, "init", "acme", *INIT_FLAGS, cwd=work)
    assert result.returncode == 0, result.stderr
    repo = work / "acme"
    # pinned as installed: this wheel's file, which CI could not install, and init says so
    pinned = (repo / "requirements.txt").read_text().splitlines()[-1]
    assert pinned.startswith("tenant-provisioner @ file:") and pinned.endswith(".whl"), pinned
    assert "which CI cannot install" in result.stderr
    assert list((repo / ".github" / "workflows").glob("*.yml"))
    assert run(installed, "init", "--upgrade", cwd=repo).stdout.startswith("up to date")
    assert run(installed, "validate", cwd=repo).returncode == 0

    # ruc: an index of our own, then the lookup `new` uses
    (work / "padron.txt").write_bytes(padron_bytes())
    index = work / "padron.sqlite3"
    result = run(installed, "ruc", "import", str(work / "padron.txt"), "--index", str(index),
                 cwd=repo)
    assert result.returncode == 0, result.stderr
    result = run(installed, "ruc", "lookup", "20131312955", "--index", str(index), cwd=repo)
    assert result.returncode == 0 and "SUPERINTENDENCIA" in result.stdout, result.stderr

    # git history for plan --list: the repository as committed, then the first tenant
    git = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e.pe", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e.pe", "HOME": str(work)}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=repo, env={**os.environ, **git}, check=True)

    result = run(installed, "new", "--no-input", "--ruc", "20131312955", "--subdomain",
                 "aduanas", "--email", "ti@aduanas.example.pe", "--plan", "pyme",
                 "--index", str(index), cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "SUPERINTENDENCIA" in (repo / "tenants" / "aduanas.yaml").read_text(encoding="utf-8")
    for args in (["add", "-A"], ["commit", "-qm", "first tenant"]):
        subprocess.run(["git", *args], cwd=repo, env={**os.environ, **git}, check=True)

    assert run(installed, "validate", cwd=repo).returncode == 0
    result = run(installed, "render", "aduanas", "--out", str(work / "out"), cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "APP_URL_BASE" in (work / "out" / "tenant.env").read_text(encoding="utf-8") or \
        "facturador.acme.pe" in (work / "out" / "tenant.env").read_text(encoding="utf-8")
    result = run(installed, "explain", "aduanas", "--format", "json", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "acme_aduanas" in result.stdout
    result = run(installed, "plan", "--list", "--base", "HEAD~1", "--format", "json", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "aduanas" in result.stdout

    # schema: the models the wheel carries match the schemas it ships
    result = run(installed, "schema", "--check", "--out", str(repo / "schema"), cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr

    # doctor: offline it still reports every check, one line each, as JSON too
    result = run(installed, "doctor", "--format", "json", cwd=repo,
                 env={"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "",
                      "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"),
                      "AWS_CONFIG_FILE": str(work / "none")})
    assert result.returncode == 1, result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["pulumi-cli"]["status"] == "fail" and checks["pulumi-cli"]["fix"]
    assert checks["sunat-endpoints"]["status"] == "skip"
