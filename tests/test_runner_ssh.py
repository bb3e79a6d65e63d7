"""app.commands' `ssh` on a runner: the deploy key and pinned host keys the apply job writes
are used, exactly, the way the dynamic provider runs the command (run_command)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from provisioner.app.app_commands import (
    SSH_KEY_ENV,
    SSH_KNOWN_HOSTS_ENV,
    run_command,
    with_ssh_identity,
)
from provisioner.app.connection import AppError


def _files(tmp: Path) -> dict[str, str]:
    old = os.umask(0o077)  # as the workflow's step: umask 077
    try:
        (tmp / "key").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n")
        (tmp / "known").write_text("app.example.pe ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\n")
    finally:
        os.umask(old)
    return {SSH_KEY_ENV: str(tmp / "key"), SSH_KNOWN_HOSTS_ENV: str(tmp / "known")}


def test_runner_ssh_command_gets_the_key_and_pinned_host_keys(tmp_path: Path) -> None:
    env = _files(tmp_path)
    argv = with_ssh_identity(["ssh", "deploy@app.example.pe", "php", "artisan", "x"], env)
    assert argv == ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                    "-o", f"UserKnownHostsFile={tmp_path / 'known'}",
                    "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
                    "-i", str(tmp_path / "key"), "deploy@app.example.pe", "php", "artisan", "x"]
    assert stat.S_IMODE((tmp_path / "key").stat().st_mode) == 0o600
    # not ssh, or nothing configured: the command as written
    assert with_ssh_identity(["docker", "exec", "app"], env) == ["docker", "exec", "app"]
    assert with_ssh_identity(["ssh", "h"], {}) == ["ssh", "h"]


def test_runner_ssh_refuses_a_half_or_loose_configuration(tmp_path: Path) -> None:
    env = _files(tmp_path)
    with pytest.raises(AppError, match="go together"):
        with_ssh_identity(["ssh", "h"], {SSH_KEY_ENV: env[SSH_KEY_ENV]})
    (tmp_path / "key").chmod(0o644)
    with pytest.raises(AppError, match="owner only"):
        with_ssh_identity(["ssh", "h"], env)


def test_runner_ssh_run_command_runs_that_argv(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """run_command, as the provider calls it, executes the rewritten argv: a stand-in `ssh`
    on PATH records what it got."""
    env = _files(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv"
    fake = bin_dir / "ssh"
    fake.write_text(f"#!{sys.executable}\nimport sys, json\n"
                    f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n")
    fake.chmod(0o755)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    run_command([str(fake), "deploy@app.example.pe", "true"], None)
    import json

    got = json.loads(record.read_text())
    assert got[got.index("-i") + 1] == env[SSH_KEY_ENV]
    assert f"UserKnownHostsFile={env[SSH_KNOWN_HOSTS_ENV]}" in got
    assert "StrictHostKeyChecking=yes" in got and got[-2:] == ["deploy@app.example.pe", "true"]
