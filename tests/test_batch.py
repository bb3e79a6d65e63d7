"""`render --all --out DIR` and `explain --all`: every tenant in one process, all or nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from provisioner.explain.declared import placeholder_secrets
from provisioner.render.renderer import DOCUMENTS
from tests.conftest import EXAMPLES, run_subprocess

Cli = Callable[..., tuple[int, str, str]]
EXAMPLE_TENANTS = sorted(p.stem for p in (EXAMPLES / "tenants").glob("*.yaml"))
REAL = {  # real secrets in the environment must never reach a masked render
    "PROVISIONER_SOL_PASSWORD": "Sol-Secret-4417",
    "PROVISIONER_SMTP_PASSWORD": "smtp-pass-9931",
    "PROVISIONER_ADMIN_PASSWORD": "Admin#Pass!2026",
    "PROVISIONER_DB_PASSWORD": "Db-Secret-1234",
}


def _break(repo: Path) -> None:
    path = repo / "tenants" / "nandu.yaml"
    path.write_text(path.read_text().replace("subdomain: nandu", "subdomain: nandú"))


def test_render_all_equals_each_single_render(run_cli: Cli, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in REAL.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    code, stdout, err = run_cli("--repo", EXAMPLES, "render", "--all", "--out", out)
    assert code == 0, err
    assert f"{len(EXAMPLE_TENANTS) * len(DOCUMENTS)} file(s)" in stdout
    assert sorted(p.name for p in out.iterdir()) == EXAMPLE_TENANTS  # no staging left behind
    for name in EXAMPLE_TENANTS:
        single = tmp_path / "single" / name
        assert run_cli("--repo", EXAMPLES, "render", name, "--out", single)[0] == 0
        for doc in DOCUMENTS:
            text = (out / name / doc).read_text(encoding="utf-8")
            assert text == (single / doc).read_text(encoding="utf-8")
            assert not [v for v in REAL.values() if v in text]


def test_render_all_replaces_old_files_and_keeps_others(run_cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "nandu").mkdir(parents=True)
    (out / "nandu" / "tenant.env").write_text("OLD\n")
    (out / "nandu" / "notes.txt").write_text("mine\n")
    code, _, err = run_cli("--repo", EXAMPLES, "render", "--all", "--out", out,
                           "--template", "tenant.env")
    assert code == 0, err
    assert (out / "nandu" / "tenant.env").read_text() != "OLD\n"
    assert (out / "nandu" / "notes.txt").read_text() == "mine\n"
    assert not (out / "nandu" / "bootstrap.json").exists()  # only the document asked for


def test_render_all_writes_nothing_for_an_invalid_repository(run_cli: Cli, repo: Path,
                                                             tmp_path: Path) -> None:
    _break(repo)
    out = tmp_path / "out"
    code, stdout, err = run_cli("--repo", repo, "render", "--all", "--out", out)
    assert code == 1 and stdout == ""
    assert "tenants/nandu.yaml:" in err and "Traceback" not in err
    assert not out.exists()


def test_render_all_writes_nothing_when_one_target_is_in_the_way(run_cli: Cli,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "pruebademo" / "tenant.env").mkdir(parents=True)  # a directory where a file goes
    code, _, err = run_cli("--repo", EXAMPLES, "render", "--all", "--out", out)
    assert code == 1 and "not a file; nothing written" in err
    assert sorted(os.listdir(out)) == ["pruebademo"]
    assert os.listdir(out / "pruebademo") == ["tenant.env"]


def test_render_all_rolls_back_when_a_move_fails(run_cli: Cli, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    (out / "nandu").mkdir(parents=True)
    (out / "nandu" / "tenant.env").write_text("OLD\n")
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):  # the second file moved into place fails
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr("provisioner.render.batch.os.replace", failing_replace)
    code, _, err = run_cli("--repo", EXAMPLES, "render", "--all", "--out", out)
    assert code == 1 and "disk full" in err
    assert sorted(os.listdir(out)) == ["nandu"]
    assert os.listdir(out / "nandu") == ["tenant.env"]
    assert (out / "nandu" / "tenant.env").read_text() == "OLD\n"


@pytest.mark.parametrize("args", [
    ["render", "--all", "nandu", "--out", "x"],   # --all with a tenant
    ["render", "--all"],                          # no --out
    ["render", "--all", "--out", "x", "--reveal"],
    ["render"],
    ["explain", "--all", "nandu"],
    ["explain"],
])
def test_batch_usage_errors(run_cli: Cli, args: list[str], tmp_path: Path) -> None:
    code, out, err = run_cli("--repo", EXAMPLES, *args)
    assert code == 2 and out == "" and "Traceback" not in err
    assert not (Path.cwd() / "x").exists()


def test_explain_all_json_lines_equal_single_explains(run_cli: Cli) -> None:
    code, out, err = run_cli("--repo", EXAMPLES, "explain", "--all", "--format", "json")
    assert code == 0, err
    lines = out.splitlines()
    docs = [json.loads(line) for line in lines]  # one JSON document per line
    assert [d["stack"] for d in docs] == EXAMPLE_TENANTS
    for doc in docs:
        code, single, _ = run_cli("--repo", EXAMPLES, "explain", doc["stack"], "--format", "json")
        assert code == 0 and json.loads(single) == doc
    assert not [s for s in placeholder_secrets().values() if s.strip() in out]


def test_explain_all_text_has_every_stack(run_cli: Cli) -> None:
    code, out, err = run_cli("--repo", EXAMPLES, "explain", "--all", "--format", "text")
    assert code == 0, err
    for name in EXAMPLE_TENANTS:
        assert f"stack {name}: " in out
    code, single, _ = run_cli("--repo", EXAMPLES, "explain", "hotelsol", "--format", "text")
    assert single in out
    assert not [s for s in placeholder_secrets().values() if s.strip() in out]


def test_explain_all_prints_nothing_for_an_invalid_repository(run_cli: Cli, repo: Path) -> None:
    _break(repo)
    code, out, err = run_cli("--repo", repo, "explain", "--all")
    assert code == 1 and out == ""
    assert "tenants/nandu.yaml:" in err and "Traceback" not in err


def test_explain_all_as_a_command_has_no_bar_on_a_pipe() -> None:
    result = run_subprocess("--repo", str(EXAMPLES), "explain", "--all", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar, no log noise when not a terminal
    assert len(result.stdout.splitlines()) == len(EXAMPLE_TENANTS)


def test_progress_bar_only_on_a_terminal() -> None:
    import io

    from provisioner.progress import counting_bar

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    pipe, tty = io.StringIO(), Tty()
    for stream in (pipe, tty):
        with counting_bar("render", 3, stream) as advance:
            for _ in range(3):
                advance()
    assert pipe.getvalue() == ""
    assert "render" in tty.getvalue()
