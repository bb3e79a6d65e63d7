"""`provisioner validate` as CI and pre-commit run it: output formats, exit codes, bad inputs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_subprocess

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cwd_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(repo)
    return repo


def test_examples_valid_with_warning_exit_0(cwd_repo: Path, run_cli: Run) -> None:
    code, out, err = run_cli("validate")
    assert code == 0
    assert "valid: 7 files, 6 valid tenants, 0 errors, 1 warning" in out
    assert ("tenants/pruebademo.yaml:4:6: warning: ruc: invalid check digit (expected 6)"
            in err)


def test_all_errors_in_one_run_text(cwd_repo: Path, run_cli: Run) -> None:
    tenants = cwd_repo / "tenants"
    nandu = tenants / "nandu.yaml"
    nandu.write_text(nandu.read_text().replace("plan: emprendedor", "plan: emprendedr"))
    hotel = tenants / "hotelsol.yaml"
    hotel.write_text(hotel.read_text().replace("subdomain: hotelsol", "subdomain: hotel-sol"))
    reseller = cwd_repo / "reseller.yaml"
    reseller.write_text(reseller.read_text().replace("max_accounts: 50", "max_accounts: 4"))
    code, out, err = run_cli("validate")
    assert code == 1
    lines = err.splitlines()
    assert ("tenants/nandu.yaml:8:7: plan: unknown plan 'emprendedr' (did you mean: emprendedor?)"
            "; plans: corporativo, emprendedor, ilimitado, pyme") in lines
    assert any(x.startswith("tenants/hotelsol.yaml:6:12: subdomain: letters and digits only")
               for x in lines)
    assert any(x.startswith("reseller.yaml:5:15: max_accounts: Ha alcanzado el límite de "
                            "clientes permitidos: 6 tenants for a cap of 4") for x in lines)
    assert "invalid: 7 files, 4 valid tenants, 3 errors, 1 warning" in out


def test_json_output(cwd_repo: Path, run_cli: Run) -> None:
    nandu = cwd_repo / "tenants" / "nandu.yaml"
    nandu.write_text(nandu.read_text().replace("admin_email: caja@nandu.example.pe",
                                               "admin_email: caja"))
    code, out, _ = run_cli("validate", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert (report["ok"], report["errors"], report["warnings"], report["files"]) == (
        False, 1, 1, 7)
    error = next(f for f in report["findings"] if f["severity"] == "error")
    assert error["file"] == "tenants/nandu.yaml"
    assert (error["line"], error["column"], error["field"]) == (7, 14, "admin_email")
    assert "value is not a valid email address" in error["message"]


def test_json_output_valid(cwd_repo: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("validate", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True and report["tenants"] == 6
    assert [f["severity"] for f in report["findings"]] == ["warning"]


@pytest.mark.parametrize("args", [
    ("validate", "--format", "xml"),
    ("validate", "--no-such-option"),
    ("validate", "tenants/missing.yaml"),
    ("--repo", "does-not-exist", "validate"),
])
def test_usage_errors_exit_2(cwd_repo: Path, run_cli: Run, args: tuple[str, ...]) -> None:
    code, out, err = run_cli(*args)
    assert code == 2
    assert out == "" and err.strip()


def test_named_file_only(cwd_repo: Path, run_cli: Run) -> None:
    code, out, err = run_cli("validate", "tenants/nandu.yaml")
    assert (code, err) == (0, "")
    assert "valid: 2 files, 1 valid tenant, 0 errors, 0 warnings" in out


def test_repo_directory_as_path(repo: Path, run_cli: Run) -> None:
    """`provisioner validate path/to/repo` finds that repository's reseller.yaml."""
    code, out, _ = run_cli("validate", repo)
    assert code == 0 and "6 valid tenants" in out


# (file contents, expected line:column prefix and message) for each kind of bad input
BAD_INPUTS: list[tuple[str, bytes, str]] = [
    ("broken-yaml", b"ruc: \"20601112222\ncompany_name: [x\n", "invalid YAML"),
    ("wrong-types", b"ruc: [1]\ncompany_name: {a: 1}\nsubdomain: 3\n",
     "1:6: ruc: Input should be a valid string"),
    ("unknown-keys", b"rucc: 1\n", "1:1: rucc: unknown field (did you mean: ruc?)"),
    ("empty", b"", "1:1: file is empty"),
    ("comments-only", b"# nothing yet\n", "1:1: file is empty"),
    ("list", b"- a\n- b\n", "1:1: expected a mapping of fields, found a list"),
    ("binary", bytes(range(256)) * 4, "1:1: binary file, not YAML text"),
    ("latin1", "company_name: Ñandú\n".encode("latin-1"), "not UTF-8 text"),
    ("control-char", b"ruc: \x07\n", "1:6: invalid YAML: control characters are not allowed"),
    ("tab-indent", b"soap:\n\tsend: ose\n", "invalid YAML"),
    ("huge-int", b"ruc: " + b"9" * 5000 + b"\n", "invalid YAML"),
    ("deep", b"labels: " + b"[" * 5000 + b"]" * 5000, "invalid YAML"),
    ("two-documents", b"ruc: 1\n---\nruc: 2\n", "invalid YAML"),
]


@pytest.mark.parametrize(("content", "expected"), [c[1:] for c in BAD_INPUTS],
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_clear_error_exit_1(cwd_repo: Path, run_cli: Run, content: bytes,
                                      expected: str) -> None:
    (cwd_repo / "tenants" / "bad.yaml").write_bytes(content)
    code, _, err = run_cli("validate")
    assert code == 1
    bad = [x for x in err.splitlines() if x.startswith("tenants/bad.yaml:")]
    assert any(expected in x for x in bad), err


def test_ten_megabyte_file(cwd_repo: Path, run_cli: Run) -> None:
    with open(cwd_repo / "tenants" / "big.yaml", "wb") as fh:
        fh.write(b"labels:\n")
        fh.write(b"  k: v\n" * (10 * 1024 * 1024 // 7))
    code, _, err = run_cli("validate")
    assert code == 1
    assert "tenants/big.yaml:1:1: file is 10,485," in err
    assert "a spec file may be at most 1,048,576 bytes" in err


def test_directory_without_tenants(cwd_repo: Path, run_cli: Run) -> None:
    """A directory named on the command line with nothing in it: said, but not an error."""
    (cwd_repo / "empty").mkdir()
    code, _, err = run_cli("validate", "empty")
    assert code == 0
    assert "empty:1:1: warning: no tenant files (*.yaml, *.yml) here" in err


def test_repository_without_tenants_is_valid(cwd_repo: Path, run_cli: Run) -> None:
    """A new reseller's first pull request: reseller.yaml and an empty (or, since git keeps no
    empty directories, absent) tenants/."""
    for f in (cwd_repo / "tenants").iterdir():
        f.unlink()
    code, out, err = run_cli("validate")
    assert code == 0, err
    assert "valid: 1 file, 0 valid tenants, 0 errors" in out
    (cwd_repo / "tenants").rmdir()
    code, out, err = run_cli("validate")
    assert code == 0, err


def test_no_reseller_file(cwd_repo: Path, run_cli: Run) -> None:
    (cwd_repo / "reseller.yaml").unlink()
    code, _, err = run_cli("--repo", ".", "validate")
    assert code == 1
    assert "no reseller file: create reseller.yaml" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_does_not_block(cwd_repo: Path, run_cli: Run) -> None:
    os.mkfifo(cwd_repo / "tenants" / "pipe.yaml")
    code, _, err = run_cli("validate")
    assert code == 1 and "tenants/pipe.yaml:1:1: not a regular file" in err


def test_no_traceback_in_a_subprocess(cwd_repo: Path) -> None:
    """Every bad input at once, through the real entry point: messages, exit 1, no traceback."""
    tenants = cwd_repo / "tenants"
    for name, content, _ in BAD_INPUTS:
        (tenants / f"{name}.yaml").write_bytes(content)
    (cwd_repo / "reseller.yaml").write_bytes(b"base_domain: [\n")
    for fmt in ("text", "json"):
        proc = run_subprocess("validate", "--format", fmt, cwd=cwd_repo)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    files = {f["file"] for f in report["findings"]}
    assert {f"tenants/{name}.yaml" for name, _, _ in BAD_INPUTS} | {"reseller.yaml"} <= files


def test_an_unexpected_error_is_one_line_and_exit_70(run_cli, monkeypatch, repo) -> None:
    """A bug must not dump a traceback (it could quote a secret) unless asked to."""
    import provisioner.cli.validate as validate

    def boom(args):
        raise RuntimeError("password=hunter2")

    monkeypatch.setattr(validate, "run", boom)
    monkeypatch.delenv("PROVISIONER_DEBUG", raising=False)
    code, out, err = run_cli("--repo", repo, "validate")
    assert code == 70
    assert "internal error (RuntimeError)" in err and "PROVISIONER_DEBUG" in err
    assert "hunter2" not in err + out and "Traceback" not in err


def _git(repo: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.pe", *args],
                   cwd=repo, check=True, capture_output=True)


def test_base_warns_for_each_field_the_app_keeps_from_creation(cwd_repo: Path,
                                                               run_cli: Run) -> None:
    """Without a revision validate cannot know a field changed; with --base it reads the file
    there and warns at the field's line, naming what to do instead; exit 0."""
    _git(cwd_repo, "init", "-q")
    _git(cwd_repo, "add", "-A")
    _git(cwd_repo, "commit", "-qm", "base")
    nandu = cwd_repo / "tenants" / "nandu.yaml"
    text = nandu.read_text(encoding="utf-8")
    assert "admin_email: caja@nandu.example.pe" in text
    nandu.write_text(text.replace("admin_email: caja@nandu.example.pe",
                                  "admin_email: gerencia@nandu.example.pe")
                     .replace("plan: emprendedor", "plan: pyme"), encoding="utf-8")
    code, out, err = run_cli("validate")
    assert code == 0 and "admin_email" not in err
    code, out, err = run_cli("validate", "--base", "HEAD")
    assert code == 0
    line = next(n for n, x in enumerate(nandu.read_text().splitlines(), 1)
                if x.startswith("admin_email:"))
    email, plan = [x for x in err.splitlines() if "only when the account is created" in x]
    assert email.startswith(f"tenants/nandu.yaml:{line}:14: warning: admin_email: "
                            "admin_email changed since HEAD, but the app writes clients.email")
    # the plan is written on day 2, but not its user limit (emprendedor 2, pyme 5)
    assert ": warning: plan: plan 'pyme' allows 5 users, but configurations.limit_users " \
           "stays 2" in plan
    assert "3 warnings" in out
    code, _, err = run_cli("validate", "--base", "no-such-rev")
    assert code == 2 and "unknown git revision" in err


BAD_TYPES = {  # a value of the wrong type at this line
    6: "limit_emission: 7\nmodules:\n  preset: nope\nsoap:\n  send: sunat\n",
    9: "limit_emission: false\nmodules:\n  preset: nope\nsoap: 5\n",
}


@pytest.mark.parametrize("line", sorted(BAD_TYPES))
def test_type_errors_and_catalog_errors_in_one_run(cwd_repo: Path, run_cli: Run,
                                                   line: int) -> None:
    """Every problem of every file in one run: a value of the wrong type does not hide an
    unknown plan or preset elsewhere in the same file."""
    (cwd_repo / "tenants" / "bad.yaml").write_text(
        "ruc: '20100070970'\ncompany_name: Bad SAC\nsubdomain: bad\nadmin_email: a@b.pe\n"
        "plan: pymes\n" + BAD_TYPES[line], encoding="utf-8")
    code, _, err = run_cli("validate")
    assert code == 1
    assert f"tenants/bad.yaml:{line}:" in err  # the type error
    assert "tenants/bad.yaml:5:7: plan: unknown plan 'pymes' (did you mean: pyme?)" in err
    assert "tenants/bad.yaml:8:11: modules.preset: unknown preset 'nope'" in err


def test_one_tenant_and_one_warning_in_the_singular(cwd_repo: Path, run_cli: Run) -> None:
    for path in (cwd_repo / "tenants").glob("*.yaml"):
        if path.stem != "pruebademo":
            path.unlink()
    code, out, _ = run_cli("validate")
    assert code == 0 and out.strip().endswith(
        "valid: 2 files, 1 valid tenant, 0 errors, 1 warning"), out
