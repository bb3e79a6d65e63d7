"""Shared fixtures: a copy of the bundled examples to break on purpose, and the CLI in-process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# hypothesis imported up front: compiled lazily at session end (its terminal summary), after
# failed mock runs, CPython 3.11 can raise "AST constructor recursion depth mismatch"
import hypothesis
import pytest

# CI runs every property test on the same examples (derandomized): a red build is reproducible
# and never caused by chance. Examples a local (random) run finds are kept as `@example`.
hypothesis.settings.register_profile("ci", derandomize=True, print_blob=True,
                                     database=None, deadline=None)
if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
    hypothesis.settings.load_profile("ci")

# The suite's databases run on this machine (loopback), so a CI run of it is a runner that
# reaches them: the refusal of `app:` stacks on a CI runner without a way to the app's databases
# (provisioner/app/runner_reach.py) does not stop it. tests/test_runner_reach.py unsets it.
os.environ["PROVISIONER_RUNNER"] = "vpc"
# Network tests use loopback only: boto3 never asks an EC2 instance-metadata address for keys
# (adopt looks for kept secrets; a test with no AWS keys then gets NoCredentialsError at once).
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A writable copy of examples/ (reseller.yaml + tenants/)."""
    dest = tmp_path / "repo"
    shutil.copytree(EXAMPLES, dest)
    return dest


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `provisioner ARGS` in-process; returns (exit code, stdout, stderr)."""
    from provisioner.cli import main

    def run(*args: str | Path) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors and --help
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def run_subprocess(*args: str, cwd: Path | None = None,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console entry point, for start-up and traceback checks."""
    return subprocess.run([sys.executable, "-m", "provisioner", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory):
    """A real MariaDB server for the whole session (tests/mariadb_server.py).

    Skips where mariadb-server is missing, except in CI (`CI=true`), where it fails.
    """
    import os

    from tests.mariadb_server import ServerUnavailable, start_server

    try:
        server = start_server(tmp_path_factory.mktemp("mariadb"))
    except ServerUnavailable as exc:
        if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
            pytest.fail(f"MariaDB server needed in CI: {exc}", pytrace=False)
        pytest.skip(f"no MariaDB server: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True, scope="session")
def _index_cache(tmp_path_factory: pytest.TempPathFactory):
    """One-tenant commands cache their index of tenant files (provisioner.model.index); tests
    keep it out of the user's cache directory (subprocesses inherit the variable)."""
    import os

    from provisioner.model.layout import CACHE_ENV

    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("index-cache"))
    yield
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old


@pytest.fixture(scope="session")
def engine() -> None:
    """The Pulumi engine scripts/setup.sh builds into .engine/ (tests/engine_world.py). Missing:
    skipped here, failed in CI (`CI=true`), whose setup builds it."""
    import os

    from tests.engine_world import engine_missing

    why = engine_missing()
    if why is None:
        return
    if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
        pytest.fail(f"the engine is needed in CI: {why}", pytrace=False)
    pytest.skip(why)
