"""A hostile but realistic user: wrong paths, closed pipes, odd environment values, Ctrl-C.
Every case ends with a clear message and the documented exit code, never a traceback, a
half-written file or a secret in the output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # like a user's
    return {**env, **extra}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


# ---- the command line itself ---------------------------------------------------------------

@pytest.mark.parametrize("command", [["plan", "--list"], ["drift"], ["render", "nandu"],
                                     ["check-sol", "nandu"]])
def test_a_repo_that_is_not_a_directory_is_a_usage_error(run_cli, tmp_path: Path,
                                                         command: list[str]) -> None:
    code, _, err = run_cli("--repo", tmp_path / "nope", *command)
    assert code == 2, err
    assert "--repo" in err and "not a directory" in err
    assert "git is not installed" not in err


def test_drift_in_a_directory_without_reseller_file_is_not_an_all_clear(
        run_cli, tmp_path: Path) -> None:
    code, out, err = run_cli("--repo", tmp_path, "drift")
    assert code == 1, out
    assert "no reseller file" in err and "no drift" not in out


def test_local_endpoint_without_local_is_a_usage_error(run_cli, repo: Path) -> None:
    code, _, err = run_cli("--repo", repo, "plan", "--local-endpoint", "http://127.0.0.1:5000")
    assert code == 2
    assert "--local-endpoint only goes with --local" in err


def _closed_pipe(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    read, write = os.pipe()
    os.close(read)  # the reader (`head`) is gone before anything is written
    try:
        return subprocess.run([sys.executable, "-m", "provisioner", *args], cwd=cwd,
                              stdout=write, stderr=subprocess.PIPE, env=_env(), timeout=120)
    finally:
        os.close(write)


def test_a_closed_pipe_makes_no_noise_and_keeps_the_exit_code(repo: Path) -> None:
    ok = _closed_pipe(["validate", "--format", "json"], repo)
    assert ok.returncode == 0, ok.stderr
    assert b"Exception ignored" not in ok.stderr and b"Traceback" not in ok.stderr
    (repo / "tenants" / "nandu.yaml").write_text("ruc: 1\n", encoding="utf-8")
    invalid = _closed_pipe(["validate"], repo)
    assert invalid.returncode == 1, invalid.stderr  # not 0: the specs are invalid
    assert b"Exception ignored" not in invalid.stderr


def test_closed_stdout_or_stderr(repo: Path) -> None:
    def run(args: list[str], fd: int) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "provisioner", *args], cwd=repo,
                              capture_output=True, env=_env(), timeout=120,
                              preexec_fn=lambda: os.close(fd))

    closed_out = run(["validate", "--format", "json"], 1)
    assert closed_out.returncode == 0, closed_out.stderr
    assert b"internal error" not in closed_out.stderr
    closed_err = run(["validate", "--format", "json", "nope.yaml"], 2)
    assert closed_err.returncode == 2
    assert closed_err.stdout == b""  # the error did not land in the JSON stream


# ---- naming a tenant -------------------------------------------------------------------------

def test_a_tenant_file_relative_to_the_working_directory(
        run_cli, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    code, out, err = run_cli("render", "tenants/nandu.yaml", "--template", "bootstrap.json")
    assert code == 0, err
    assert '"hostname": "nandu.' in out


@pytest.mark.parametrize("command", [["check-sol", "nandu"], ["drift", "nandu"],
                                     ["check-sol", "tenants/nandu.yaml"]])
def test_an_invalid_tenant_reports_its_problems(run_cli, repo: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                command: list[str]) -> None:
    monkeypatch.chdir(repo)
    path = repo / "tenants" / "nandu.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("plan: ", "plan: nope #"),
                    encoding="utf-8")
    code, _, err = run_cli(*command)
    assert code == 1, err  # invalid specs, not "no such tenant" (2)
    assert "tenants/nandu.yaml:" in err and "unknown plan 'nope'" in err


def test_tenants_that_is_a_file_says_so(run_cli, repo: Path) -> None:
    shutil.rmtree(repo / "tenants")
    (repo / "tenants").write_text("", encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "validate")
    assert code == 1
    assert "tenants must be a directory" in err and "file is empty" not in err


# ---- plan --list on a shallow clone ----------------------------------------------------------

def test_no_common_history_says_to_fetch_it(run_cli, repo: Path) -> None:
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.email=t@e.pe", "-c", "user.name=t", "commit", "-q",
         "--allow-empty", "-m", "one")
    _git(repo, "checkout", "-q", "--orphan", "other")
    _git(repo, "-c", "user.email=t@e.pe", "-c", "user.name=t", "commit", "-q",
         "--allow-empty", "-m", "two")
    code, _, err = run_cli("--repo", repo, "plan", "--list", "--base", "main")
    assert code == 1
    assert "fetch" in err and "unshallow" in err


# ---- check-sol -------------------------------------------------------------------------------

@pytest.mark.parametrize("option", [["--timeout", "inf"], ["--connect-timeout", "1e300"],
                                    ["--retries", "100000"], ["--backoff", "1e308"],
                                    ["--endpoint", "http://[::1"],
                                    ["--endpoint", "http://127.0.0.1:port/"]])
def test_check_sol_refuses_unusable_numbers_and_urls(run_cli, repo: Path,
                                                     option: list[str]) -> None:
    code, _, err = run_cli("--repo", repo, "check-sol", "bodegaperez", *option)
    assert code == 2, err
    assert "internal error" not in err


def test_check_sol_with_an_invalid_reseller_file(run_cli, repo: Path) -> None:
    reseller = repo / "reseller.yaml"
    reseller.write_text(reseller.read_text(encoding="utf-8") + "bogus: 1\n", encoding="utf-8")
    code, _, err = run_cli("--repo", repo, "check-sol", "pruebademo")
    assert code == 1
    assert "reseller.yaml:" in err and "bogus" in err


def test_check_sol_password_that_is_not_utf8(run_cli, repo: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_SOL_PASSWORD", "clave\udcff")  # the byte 0xff
    code, _, err = run_cli("--repo", repo, "check-sol", "bodegaperez",
                           "--endpoint", "http://127.0.0.1:9/billService", "--retries", "0")
    assert code == 10, err
    assert "PROVISIONER_SOL_PASSWORD is not valid UTF-8" in err
    assert "clave" not in err


# ---- render ----------------------------------------------------------------------------------

SECRETS = {"PROVISIONER_SOL_PASSWORD": "sol-Secret-1", "PROVISIONER_CERTIFICATE": "pem-2",
           "PROVISIONER_CERTIFICATE_PASSWORD": "cert-Secret-3",
           "PROVISIONER_SMTP_PASSWORD": "smtp-Secret-4",
           "PROVISIONER_DB_PASSWORD": "db-Secret-5"}


def test_reveal_with_a_value_that_is_not_utf8(run_cli, repo: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PROVISIONER_CERTIFICATE_PASSWORD", "\udcff\udcfe")
    out = tmp_path / "out"
    code, _, err = run_cli("--repo", repo, "render", "bodegaperez", "--reveal", "--out", out)
    assert code == 1, err
    assert "PROVISIONER_CERTIFICATE_PASSWORD: not valid UTF-8" in err
    assert not out.exists() or list(out.iterdir()) == []


def test_a_failed_write_leaves_no_temporary_file(run_cli, repo: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import provisioner.render.documents as documents

    monkeypatch.setattr(documents, "render_tenant",
                        lambda *a, **k: {"tenant.env": "A=1\n", "bootstrap.json": "\udcff"})
    out = tmp_path / "out"
    code, _, _ = run_cli("--repo", repo, "render", "nandu", "--out", out)
    assert code != 0
    assert list(out.iterdir()) == []  # neither the documents nor .bootstrap.json.tmp


def test_a_template_error_does_not_quote_a_secret(run_cli, repo: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    (repo / "overrides").mkdir()
    (repo / "overrides" / "tenant.env.j2").write_text(
        'A=1\nB={{ ("{" ~ database.password ~ "}").format() }}\n', encoding="utf-8")
    reseller = repo / "reseller.yaml"
    reseller.write_text(reseller.read_text(encoding="utf-8") + "templates_dir: overrides\n",
                        encoding="utf-8")
    code, out, err = run_cli("--repo", repo, "render", "nandu", "--reveal", "--force")
    assert code == 1
    assert "tenant.env.j2:2: KeyError" in err
    assert "db-Secret-5" not in err + out


# ---- ruc import, new -------------------------------------------------------------------------

PADRON = ("RUC|NOMBRE O RAZÓN SOCIAL|ESTADO|CONDICIÓN|UBIGEO|a|b|c|d|e|f|g|h|i|j|\n"
          "20131312955|SUPERINTENDENCIA NACIONAL DE ADUANAS|ACTIVO|HABIDO|150101"
          "|AV.|GARCILASO|-|-|381|-|-|-|-|-|\n")


def test_ruc_import_never_replaces_a_file_that_is_not_an_index(run_cli,
                                                                tmp_path: Path) -> None:
    source = tmp_path / "padron.txt"
    source.write_text(PADRON, encoding="latin-1")
    code, _, err = run_cli("ruc", "import", source, "--index", source)
    assert code == 1 and "is the file being imported" in err
    assert source.read_text(encoding="latin-1") == PADRON
    other = tmp_path / "reseller.yaml"
    other.write_text("base_domain: x.pe\n", encoding="utf-8")
    code, _, err = run_cli("ruc", "import", source, "--index", other)
    assert code == 1 and "not a padrón index" in err
    assert other.read_text(encoding="utf-8") == "base_domain: x.pe\n"
    index = tmp_path / "padron.sqlite3"
    assert run_cli("ruc", "import", source, "--index", index)[0] == 0
    assert run_cli("ruc", "import", source, "--index", index)[0] == 0  # an index: replaced


def test_new_refuses_smtp_port_zero(run_cli, repo: Path) -> None:
    code, out, err = run_cli("--repo", repo, "new", "--no-input", "--no-lookup", "--dry-run",
                             "--ruc", "20100066603", "--company-name", "Acme",
                             "--subdomain", "acme", "--email", "a@acme.pe", "--plan", "pyme",
                             "--smtp-host", "smtp.acme.pe", "--smtp-username", "u",
                             "--smtp-port", "0")
    assert code == 1, out
    assert "smtp.port" in err and "--smtp-port" in err


# ---- Ctrl-C ----------------------------------------------------------------------------------

def test_ctrl_c_during_explain_ends_it(repo: Path) -> None:
    """Pulumi's runtime can swallow the KeyboardInterrupt in one of its tasks and then wait
    forever; the fake run below does the same."""
    code = (
        "import os, signal, sys, time\n"
        "import provisioner.explain.mock_runtime as mocks\n"
        "def swallowing_run(*args, **kwargs):\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        time.sleep(5)\n"
        "    except KeyboardInterrupt:\n"
        "        pass\n"
        "    time.sleep(60)\n"
        "mocks.run_stack = swallowing_run\n"
        "from provisioner.cli import main\n"
        "sys.exit(main(['--repo', sys.argv[1], 'explain', 'nandu']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(repo)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 130, proc.stderr
    assert "interrupted" in proc.stderr and "Traceback" not in proc.stderr


def test_repo_may_follow_the_command(run_cli, repo) -> None:
    """`provisioner validate --repo DIR` is what users type; it must mean the same."""
    assert run_cli("validate", "--repo", repo)[0] == 0
    (repo / "tenants" / "nandu.yaml").write_text("ruc: 1\n", encoding="utf-8")
    before = run_cli("--repo", repo, "validate")
    after = run_cli("validate", "--repo", repo)
    assert before[0] == after[0] == 1 and before[2] == after[2]
