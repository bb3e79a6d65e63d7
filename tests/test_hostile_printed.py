"""Printed commands paste as the same words (each word shell-quoted, a newline as `$'\\n'`),
and printed URLs never carry `user:password@`: a property over hostile strings, run through a
real bash, and the commands that print them (init, new, doctor, onboard --dry-run)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provisioner.safe_text import command_line, shell_quote

Run = Callable[..., tuple[int, str, str]]
BASH = shutil.which("bash")
# any character but NUL (no argument can hold one) and lone surrogates (not encodable)
HOSTILE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                  max_size=24)


def _bash_words(line: str) -> list[str]:
    """What bash makes of a printed command line: its words, as printed back one a line."""
    proc = subprocess.run([BASH, "-c", f"set -- {line}; printf '%s\\0' \"$@\""],
                          capture_output=True, timeout=10, check=True,
                          env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"})
    return proc.stdout.decode("utf-8").split("\0")[:-1]


@pytest.mark.skipif(BASH is None, reason="no bash")
@settings(max_examples=300, deadline=None)
@given(st.lists(HOSTILE, min_size=1, max_size=4))
@example(["cd", "/tmp/x\n; rm -rf ~"])
@example(["--body", "s3://b?region=x'; echo pwned; '"])
@example(["$(id)", "`id`", "a b", "é\u00a0\u202e\u2028"])
@example(["\\", "'", "\x1b[31m"])
def test_a_quoted_command_is_one_line_and_the_same_words(words: list[str]) -> None:
    line = " ".join(shell_quote(w) for w in words)
    assert "\n" not in line and "\r" not in line and line.isprintable()
    assert _bash_words(line) == words


@given(user=st.text("abcxyz019", min_size=1, max_size=8),
       password=st.text("abcXYZ019!$%", min_size=1, max_size=12).map(lambda p: f"Qz{p}"))
def test_a_url_in_a_printed_command_loses_its_credentials(user: str, password: str) -> None:
    line = command_line("gh", "variable", "set", "X", "--body",
                        f"https://{user}:{password}@api.example.pe/state")
    assert password not in line
    assert "***@api.example.pe" in line


INIT = ("--no-input", "--base-domain", "facturador.acme.pe", "--database-prefix", "acme",
        "--secrets-provider", "awskms://alias/pulumi")


@pytest.mark.skipif(BASH is None, reason="no bash")
@pytest.mark.parametrize("name", ["acme repo", "acme'repo", "acme\nrepo", "acme$(id)",
                                  "acme;rm", "ácme\u202erepo"])
def test_init_prints_cd_and_gh_lines_that_paste_as_they_should(tmp_path: Path, run_cli: Run,
                                                               name: str) -> None:
    target = tmp_path / name
    backend = "s3://acme-state?region=us-east-1&x='a';$(id)"
    code, out, err = run_cli("init", target, *INIT, "--backend-url", backend)
    assert code == 0, err
    lines = [line.strip() for line in out.splitlines()]
    cd = next(line for line in lines if line.startswith("cd "))
    assert _bash_words(cd) == ["cd", str(target)]
    gh = next(line for line in lines if "PULUMI_BACKEND_URL" in line)
    assert _bash_words(gh) == ["gh", "variable", "set", "PULUMI_BACKEND_URL", "--body", backend]


def test_init_masks_credentials_in_the_backend_url(tmp_path: Path, run_cli: Run) -> None:
    _code, out, err = run_cli("init", tmp_path / "r", *INIT, "--backend-url",
                             "https://acme:Qz-Secret@pulumi.acme.pe")
    assert "Qz-Secret" not in out + err


def test_doctor_never_prints_a_backend_password(repo: Path, run_cli: Run) -> None:
    url = "https://reseller:S3cr3t-Pw@127.0.0.1:9/state"
    for fmt in ("text", "json"):
        _code, out, err = run_cli("--repo", repo, "doctor", "--backend-url", url, "--format", fmt)
        assert "S3cr3t-Pw" not in out + err
        assert "***@127.0.0.1" in out
    _code, out, _ = run_cli("--repo", repo, "doctor", "--backend-url", url, "--format", "json")
    backend = next(c for c in json.loads(out)["checks"] if c["name"] == "backend")
    assert "S3cr3t-Pw" not in backend["detail"]


def test_secret_commands_and_the_dry_run_quote_their_words(repo: Path, run_cli: Run) -> None:
    from provisioner.secrets import ALL_SECRETS

    for secret in ALL_SECRETS:
        line = secret.command("tenant")
        assert line == secret.command("tenant").replace("\n", "")
    path = repo / "reseller.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        '"--website_id={website_id}"]', '"--website_id={website_id}", "a b; echo x"]', 1),
        encoding="utf-8")
    code, out, err = run_cli("--repo", repo, "onboard", "nandu", "--dry-run")
    assert code == 0, err
    migrate = next(line for line in out.splitlines() if "tenancy:migrate" in line)
    assert migrate.endswith("'a b; echo x'")
