"""app.commands' `ssh` on a runner: the deploy key and pinned host keys the apply job writes
are used, exactly, the way the dynamic provider runs the command (run_command), against a real
sshd started here on 127.0.0.1 (Debian's openssh-server, which scripts/test.sh installs: a
missing sshd fails these tests, it never skips them); `doctor` checks the same setup."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner.app.app_commands import (
    SSH_KEY_ENV,
    SSH_KNOWN_HOSTS_ENV,
    expand,
    run_command,
    with_ssh_identity,
)
from provisioner.app.connection import AppError
from provisioner.model.repository import load_reseller
from provisioner.orchestrate.local import free_port
from provisioner.readiness import Check, Settings, app_ssh

SSHD = "/usr/sbin/sshd"
INSTALL = ("install Debian's openssh-server (apt-get install openssh-server; scripts/test.sh "
           "does it when missing)")


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


# ---- a real sshd on 127.0.0.1 --------------------------------------------------------------

@dataclass
class Sshd:
    port: int
    user: str
    key: Path  # the deploy key, authorized for `user`
    known_hosts: Path  # pins this server's host key as [127.0.0.1]:port, 0600
    other_known_hosts: Path  # pins another host key for the same name
    log: Path


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)],
                   check=True, capture_output=True, timeout=60)


def _private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def _require_sshd(path: str = SSHD) -> None:
    """A missing sshd fails the tests (here and in CI alike), naming the package to install."""
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not found: {INSTALL}", pytrace=False)


def test_runner_ssh_a_missing_sshd_fails_with_the_install_hint() -> None:
    with pytest.raises(pytest.fail.Exception, match="apt-get install openssh-server"):
        _require_sshd("/nonexistent/sbin/sshd")
    script = (Path(__file__).resolve().parent.parent / "scripts" / "test.sh").read_text()
    assert f"[ -x {SSHD} ] || missing+=(openssh-server)" in script


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    _require_sshd()
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.fail("ssh or ssh-keygen not found: install Debian's openssh-client",
                    pytrace=False)
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "deploy_key", "other_host_key"):
        _keygen(d / name)
    (d / "authorized_keys").write_text((d / "deploy_key.pub").read_text())
    if os.geteuid() == 0:
        # as root, sshd needs its privilege separation directory (Debian's service makes it at
        # boot: /usr/lib/tmpfiles.d/openssh-server.conf); sshd: "Missing privilege
        # separation directory"
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    port = free_port()
    config = d / "sshd_config"
    config.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d / "host_key"}
PidFile {d / "sshd.pid"}
AuthorizedKeysFile {d / "authorized_keys"}
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
LogLevel VERBOSE
""")
    log = d / "sshd.log"
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, check.stderr
    with open(log, "wb") as out:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                    if sock.recv(64).startswith(b"SSH-2.0-"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sshd did not start: {log.read_text()[-2000:]}", pytrace=False)
            time.sleep(0.1)
        name = f"[127.0.0.1]:{port}"
        yield Sshd(
            port, getpass.getuser(), d / "deploy_key",
            _private(d / "known_hosts", f"{name} {(d / 'host_key.pub').read_text()}"),
            _private(d / "other_known_hosts", f"{name} {(d / 'other_host_key.pub').read_text()}"),
            log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def reseller_repo(repo: Path, sshd: Sshd, tmp_path: Path) -> Path:
    """The examples with app.commands over ssh to that sshd, as reseller.yaml writes them."""
    out = tmp_path / "app"
    (out / "certificates").mkdir(parents=True)
    dest = f"{sshd.user}@127.0.0.1"
    commands = {
        "migrate": ["ssh", "-p", str(sshd.port), dest,
                    f"printf %s {{website_id}} > {out}/migrated"],
        "seed": ["ssh", "-p", str(sshd.port), dest, "true"],
        "put_certificate": ["ssh", "-p", str(sshd.port), dest,
                            f"cat > {out}/certificates/{{filename}}"],
    }
    path = repo / "reseller.yaml"
    text = path.read_text()
    start = text.index("  commands:")
    end = text.index("  force_https:")
    block = "  commands:\n" + "".join(f"    {name}: {json.dumps(argv)}\n"
                                       for name, argv in commands.items())
    path.write_text(text[:start] + block + text[end:])
    return repo


def _commands(repo: Path) -> dict[str, list[str]]:
    reseller, _, findings = load_reseller(repo / "reseller.yaml")
    assert reseller is not None and reseller.app is not None, findings
    return {name: list(getattr(reseller.app.commands, name))
            for name in ("migrate", "seed", "put_certificate")}


def _pinned(monkeypatch: pytest.MonkeyPatch, sshd: Sshd, known: Path | None = None) -> None:
    monkeypatch.setenv(SSH_KEY_ENV, str(sshd.key))
    monkeypatch.setenv(SSH_KNOWN_HOSTS_ENV, str(known or sshd.known_hosts))


@pytest.mark.timeout(120)
def test_runner_ssh_runs_the_app_commands_on_a_real_sshd(
        sshd: Sshd, reseller_repo: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """(a) the right key and the pinned host key: the command runs there, its arguments and
    put_certificate's stdin arrive byte for byte (the provider's expand + run_command)."""
    _pinned(monkeypatch, sshd)
    commands = _commands(reseller_repo)
    certificate = b"-----BEGIN CERTIFICATE-----\nMIIB\x00\xff binary too\n"
    run_command(expand(commands["put_certificate"], {"filename": "20123456789.pem"}),
                certificate)
    run_command(expand(commands["migrate"], {"website_id": "42"}), None)
    out = tmp_path / "app"
    assert (out / "certificates" / "20123456789.pem").read_bytes() == certificate
    assert (out / "migrated").read_text() == "42"
    assert "Accepted publickey for" in sshd.log.read_text()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("pins", ["another key", "nothing"])
def test_runner_ssh_refuses_a_host_key_it_does_not_pin_without_a_prompt(
        sshd: Sshd, reseller_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        pins: str) -> None:
    """(b) known_hosts pins a different key for [127.0.0.1]:port (or no key at all): ssh ends
    with "Host key verification failed", which becomes our AppError; never a prompt (stdin
    is a terminal-less pipe and BatchMode is on, so the call returns at once)."""
    known = sshd.other_known_hosts if pins == "another key" else _private(
        tmp_path / "empty_known_hosts", "")
    _pinned(monkeypatch, sshd, known)
    commands = _commands(reseller_repo)
    started = time.monotonic()
    with pytest.raises(AppError) as caught:
        run_command(expand(commands["put_certificate"], {"filename": "x.pem"}), b"secret")
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert message.startswith("ssh exited with 255: Host key verification failed")
    assert f"not the one pinned in {known}" in message and "APP_SSH_KNOWN_HOSTS" in message
    assert not (tmp_path / "app" / "certificates" / "x.pem").exists()


def _doctor(repo: Path, env: dict[str, str]) -> dict[str, Check]:
    reseller, _, findings = load_reseller(repo / "reseller.yaml")
    assert reseller is not None, findings
    return {c.name: c for c in app_ssh(Settings(root=repo, reseller=reseller, env=env))}


def test_runner_ssh_doctor_passes_the_pinned_setup(sshd: Sshd, reseller_repo: Path) -> None:
    checks = _doctor(reseller_repo, {"CI": "true", SSH_KEY_ENV: str(sshd.key),
                                     SSH_KNOWN_HOSTS_ENV: str(sshd.known_hosts)})
    assert [c.status for c in checks.values()] == ["ok", "ok", "ok"], checks
    assert "ssh-ed25519 key" in checks["app-ssh-key"].detail
    assert f"pins [127.0.0.1]:{sshd.port}" in checks["app-ssh-known-hosts"].detail


def test_runner_ssh_doctor_fails_on_ci_without_the_variables(
        sshd: Sshd, reseller_repo: Path, run_cli: object, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """(c) CI, app commands over ssh, neither variable: doctor fails (exit 1) and says which
    secrets to add; on a workstation the same is a warning (exit unaffected)."""
    for name in (SSH_KEY_ENV, SSH_KNOWN_HOSTS_ENV, "GITHUB_ACTIONS", "AWS_PROFILE",
                 "PULUMI_BACKEND_URL", "PROVISIONER_APP_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")
    # the other checks stay on this machine: no AWS credentials nor instance metadata, the
    # shared MySQL server "through a tunnel" on a closed loopback port
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(reseller_repo / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(reseller_repo / "no-config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, out, _ = run_cli("--repo", reseller_repo, "doctor",  # type: ignore[operator]
                           "--mysql-via", f"127.0.0.1:{free_port()}")
    assert code == 1
    lines = out.splitlines()
    at = next(i for i, ln in enumerate(lines) if " app-ssh " in f"{ln} ")
    assert lines[at].startswith("FAIL") and "in CI (CI=true)" in lines[at]
    assert "APP_SSH_KEY and APP_SSH_KNOWN_HOSTS" in lines[at + 1]
    checks = _doctor(reseller_repo, {})
    assert checks["app-ssh"].status == "warn"
    assert checks["app-ssh-key"].status == checks["app-ssh-known-hosts"].status == "skip"


def test_runner_ssh_doctor_names_each_broken_file(sshd: Sshd, reseller_repo: Path,
                                                  tmp_path: Path) -> None:
    ok = {SSH_KEY_ENV: str(sshd.key), SSH_KNOWN_HOSTS_ENV: str(sshd.known_hosts)}
    half = _doctor(reseller_repo, {SSH_KEY_ENV: str(sshd.key)})
    assert half["app-ssh"].status == "fail" and "set both or neither" in half["app-ssh"].fix
    loose = tmp_path / "loose_key"
    loose.write_bytes(sshd.key.read_bytes())
    loose.chmod(0o644)
    checks = _doctor(reseller_repo, {**ok, SSH_KEY_ENV: str(loose)})
    assert checks["app-ssh-key"].status == "fail" and "mode 0644" in checks["app-ssh-key"].detail
    assert checks["app-ssh-key"].fix == f"chmod 600 {loose}"
    garbage = _private(tmp_path / "garbage_key", "not a key\n")
    checks = _doctor(reseller_repo, {**ok, SSH_KEY_ENV: str(garbage)})
    assert "does not load without a passphrase" in checks["app-ssh-key"].detail
    secret = "correct horse"
    locked = tmp_path / "locked_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", secret, "-f", str(locked)],
                   check=True, capture_output=True, timeout=60)
    checks = _doctor(reseller_repo, {**ok, SSH_KEY_ENV: str(locked)})
    assert checks["app-ssh-key"].status == "fail" and secret not in str(checks)
    checks = _doctor(reseller_repo, {**ok, SSH_KNOWN_HOSTS_ENV: str(tmp_path / "gone")})
    assert "No such file" in checks["app-ssh-known-hosts"].detail
    empty = _private(tmp_path / "empty_known_hosts", "")
    checks = _doctor(reseller_repo, {**ok, SSH_KNOWN_HOSTS_ENV: str(empty)})
    known = checks["app-ssh-known-hosts"]
    assert known.status == "fail" and f"pins no key for [127.0.0.1]:{sshd.port}" in known.detail
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1" in known.fix
    if os.geteuid() == 0:  # root can hand a file to another user
        foreign = _private(tmp_path / "foreign_known_hosts", sshd.known_hosts.read_text())
        os.chown(foreign, 65534, -1)
        checks = _doctor(reseller_repo, {**ok, SSH_KNOWN_HOSTS_ENV: str(foreign)})
        assert "owned by uid 65534" in checks["app-ssh-known-hosts"].detail
