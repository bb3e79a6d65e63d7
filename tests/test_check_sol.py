"""`provisioner check-sol`: tenants, password sources, output and redaction, end to end."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_subprocess
from sunat_emulator import Emulator

RunCli = Callable[..., tuple[int, str, str]]
HOTEL_USER = "20600055519HOTELSOL"
# special characters take other forms in XML and in bytes reprs: all must be redacted
HOTEL_PASSWORD = 'Clave&<Ñ>"1'
ACCOUNTS = {
    "20123456789MODDATOS": "moddatos",  # pruebademo, SUNAT demo
    HOTEL_USER: HOTEL_PASSWORD,  # hotelsol, SUNAT production
    "20000000001": "ose-demo-pw",  # contaapi, OSE taking the bare RUC
    "20512333797OSEUSER1": "ose-prod-pw",  # ferreteriaandina, OSE taking RUC + user
}


@pytest.fixture
def sunat() -> Iterator[Emulator]:
    emulator = Emulator(accounts=dict(ACCOUNTS), slow_seconds=3.0).start()
    yield emulator
    emulator.stop()


@pytest.fixture(autouse=True)
def no_ambient_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No password from the developer's shell, no pulumi, no real AWS: every source a test
    uses is set up by the test."""
    monkeypatch.delenv("PROVISIONER_SOL_PASSWORD", raising=False)
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                        "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                        "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{free_port()}"
                        }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_sol(run_cli: RunCli, repo: Path, tenant: str, emulator: Emulator,
              *extra: str) -> tuple[int, str, str]:
    return run_cli("--repo", repo, "check-sol", tenant, "--endpoint", emulator.url,
                   "--timeout", "2", "--backoff", "0", *extra)


def as_json(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)
    return data


# --- tenants and the wire -------------------------------------------------------------------

def test_demo_tenant_uses_sunats_public_credentials(run_cli: RunCli, repo: Path,
                                                    sunat: Emulator) -> None:
    code, out, err = check_sol(run_cli, repo, "pruebademo", sunat)
    assert code == 0, err
    assert "pruebademo: OK" in out and "accepted" in out
    received = sunat.requests[0]
    assert (received.username, received.password) == ("20123456789MODDATOS", "moddatos")


@pytest.mark.parametrize(("tenant", "username"), [
    ("contaapi", "20000000001"),  # ose_username_format: ruc
    ("ferreteriaandina", "20512333797OSEUSER1"),  # ose_username_format: ruc_user
    ("hotelsol", HOTEL_USER),  # SUNAT production: RUC + secondary user
])
def test_username_on_the_wire_follows_the_spec(run_cli: RunCli, repo: Path, sunat: Emulator,
                                               monkeypatch: pytest.MonkeyPatch, tenant: str,
                                               username: str) -> None:
    monkeypatch.setenv("PROVISIONER_SOL_PASSWORD", ACCOUNTS[username])
    code, out, err = check_sol(run_cli, repo, tenant, sunat, "--format", "json")
    assert code == 0, err
    assert [r.username for r in sunat.requests] == [username]
    assert sunat.requests[0].password == ACCOUNTS[username]
    report = as_json(out)
    assert report["username"] == username and report["result"] == "accepted"


@pytest.mark.parametrize(("tenant", "flags", "endpoint"), [
    ("hotelsol", (), "https://e-factura.sunat.gob.pe/ol-ti-itcpfegem/billService"),
    ("hotelsol", ("--alternate-server",), "https://www.sunat.gob.pe/ol-ti-itcpfegem/billService"),
    ("pruebademo", (), "https://e-beta.sunat.gob.pe/ol-ti-itcpfegem-beta/billService"),
    ("ferreteriaandina", (), "https://ose.nubefact.com/ol-ti-itcpe/billService"),
])
def test_endpoint_comes_from_the_endpoint_table_or_the_ose_url(
        run_cli: RunCli, repo: Path, monkeypatch: pytest.MonkeyPatch, tenant: str,
        flags: tuple[str, ...], endpoint: str) -> None:
    from provisioner.sunat import client
    from provisioner.sunat.classify import Outcome, Verdict

    calls: list[str] = []

    def fake_check(address: str, *args: Any, **kwargs: Any) -> client.CheckResult:
        calls.append(address)
        return client.CheckResult(Outcome(Verdict.ACCEPTED, "accepted"), 1)

    monkeypatch.setattr(client, "check_credentials", fake_check)
    monkeypatch.setenv("PROVISIONER_SOL_PASSWORD", "x")
    code, _, err = run_cli("--repo", repo, "check-sol", tenant, *flags)
    assert code == 0, err
    assert calls == [endpoint]


def test_internal_tenant_has_nothing_to_check(run_cli: RunCli, repo: Path,
                                              sunat: Emulator) -> None:
    text = (repo / "tenants" / "pruebademo.yaml").read_text(encoding="utf-8")
    (repo / "tenants" / "interno.yaml").write_text(
        text.replace("subdomain: pruebademo", "subdomain: interno")
            .replace("environment: demo", "environment: internal")
            .replace("20123456789", "20131312955"), encoding="utf-8")
    code, out, err = check_sol(run_cli, repo, "interno", sunat)
    assert code == 0, err
    assert "nothing to check" in out
    assert sunat.requests == []


def test_an_ose_demo_without_a_user_has_nothing_to_check(run_cli: RunCli, repo: Path,
                                                         sunat: Emulator) -> None:
    """The app sends the admin's pre-filled credentials, which the spec does not know."""
    path = repo / "tenants" / "pruebademo.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "send: sunat", "send: ose\n  ose_url: https://demo-ose.nubefact.com/ol-ti-itcpe/"
        "billService"), encoding="utf-8")
    code, out, err = check_sol(run_cli, repo, "pruebademo", sunat)
    assert code == 0, err
    assert "nothing to check: an OSE in demo without a sol_user" in out
    assert sunat.requests == []


# --- verdicts as the operator sees them -----------------------------------------------------

def test_wrong_password_exits_3_and_says_so(run_cli: RunCli, repo: Path, sunat: Emulator,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_SOL_PASSWORD", "not-the-password")
    code, _, err = check_sol(run_cli, repo, "hotelsol", sunat)
    assert code == 3
    assert "hotelsol: FAILED: the SOL user or password is wrong" in err
    assert "0102" in err


@pytest.mark.parametrize(("scenario", "exit_code", "result"), [
    ("fault:0111", 4, "no_profile"),
    ("empty", 6, "rejected"),
    ("malformed", 8, "malformed"),
    ("fault:0999", 9, "unexpected"),
])
def test_json_report_carries_verdict_and_exit_code(run_cli: RunCli, repo: Path,
                                                   sunat: Emulator, scenario: str,
                                                   exit_code: int, result: str) -> None:
    sunat.scenario = scenario
    code, out, _ = check_sol(run_cli, repo, "pruebademo", sunat, "--format", "json")
    report = as_json(out)
    assert code == exit_code == report["exit_code"]
    assert report["result"] == result
    assert report["attempts"] == 1


def test_unavailable_is_retried_then_reported(run_cli: RunCli, repo: Path,
                                              sunat: Emulator) -> None:
    sunat.scenario = "http500"
    code, out, _ = check_sol(run_cli, repo, "pruebademo", sunat, "--retries", "2",
                             "--format", "json")
    assert code == 5
    assert as_json(out)["attempts"] == 3 == len(sunat.requests)


def test_recovers_when_sunat_comes_back(run_cli: RunCli, repo: Path, sunat: Emulator) -> None:
    sunat.queue.extend(["fault:0109", "fault:0100"])
    code, out, _ = check_sol(run_cli, repo, "pruebademo", sunat, "--format", "json")
    assert code == 0
    assert as_json(out)["attempts"] == 3 == len(sunat.requests)


def test_slow_answer_times_out(run_cli: RunCli, repo: Path, sunat: Emulator) -> None:
    sunat.scenario = "slow"
    code, _, err = run_cli("--repo", repo, "check-sol", "pruebademo", "--endpoint", sunat.url,
                           "--timeout", "0.3")
    assert code == 7
    assert "timeout" in err


def test_unreachable_from_the_real_entry_point_has_no_traceback(repo: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = run_subprocess("--repo", str(repo), "check-sol", "pruebademo", "--endpoint",
                          f"http://127.0.0.1:{free_port()}/billService", env=env)
    assert done.returncode == 7
    assert "cannot connect" in done.stderr
    assert "Traceback" not in done.stderr


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (("hotelsol", "--endpoint", "http://sunat.example.pe/billService"), "only allowed to a "
                                                                         "loopback"),
    (("hotelsol", "--endpoint", "ftp://127.0.0.1/x"), "not an http(s) URL"),
    (("nosuchtenant",), "no valid tenant named 'nosuchtenant'"),
    (("hotelsol", "--retries", "-1"), "must be at least 0"),
    (("hotelsol", "--timeout", "soon"), "not a number"),
])
def test_bad_input_is_a_usage_error(run_cli: RunCli, repo: Path, args: tuple[str, ...],
                                    message: str) -> None:
    code, _, err = run_cli("--repo", repo, "check-sol", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


# --- where the password comes from ----------------------------------------------------------

def test_no_password_anywhere_exits_10_and_says_how_to_give_one(
        run_cli: RunCli, repo: Path, sunat: Emulator) -> None:
    code, _, err = check_sol(run_cli, repo, "hotelsol", sunat)
    assert code == 10
    assert "PROVISIONER_SOL_PASSWORD" in err
    assert "pulumi config set --secret --stack hotelsol solPassword" in err
    assert "tenancy/tenants/hotelsol/sol" in err
    assert "pulumi is not on PATH" in err
    assert sunat.requests == []  # nothing is sent without a password


def test_fake_pulumi_on_path_supplies_the_stack_secret(
        run_cli: RunCli, repo: Path, sunat: Emulator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "pulumi-bin"
    bin_dir.mkdir()
    log = tmp_path / "pulumi-args"
    script = bin_dir / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{log}"\n'
        'if [ "$*" = "config get solPassword --stack hotelsol" ]; then\n'
        f"  printf '%s\\n' '{HOTEL_PASSWORD}'; exit 0\nfi\n"
        "echo 'error: configuration key not found' >&2; exit 255\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))
    code, out, err = check_sol(run_cli, repo, "hotelsol", sunat)
    assert code == 0, err
    assert "password from pulumi config solPassword of stack hotelsol" in out
    assert log.read_text().strip() == "config get solPassword --stack hotelsol"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def secrets_manager(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Secrets Manager on 127.0.0.1 (moto), emptied after each test."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint)
    client = boto3.client("secretsmanager", region_name="us-east-1")
    yield client
    for secret in client.list_secrets()["SecretList"]:
        client.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)


def test_secrets_manager_supplies_the_password(run_cli: RunCli, repo: Path, sunat: Emulator,
                                               secrets_manager: Any) -> None:
    secrets_manager.create_secret(Name="tenancy/tenants/hotelsol/sol", SecretString=json.dumps(
        {"username": "HOTELSOL", "password": HOTEL_PASSWORD}))
    code, out, err = check_sol(run_cli, repo, "hotelsol", sunat, "--format", "json")
    assert code == 0, err
    report = as_json(out)
    assert report["password_source"] == "Secrets Manager secret tenancy/tenants/hotelsol/sol"
    assert sunat.requests[0].password == HOTEL_PASSWORD
    assert err == ""


def test_environment_wins_over_secrets_manager(run_cli: RunCli, repo: Path, sunat: Emulator,
                                               secrets_manager: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    secrets_manager.create_secret(Name="tenancy/tenants/hotelsol/sol",
                                  SecretString=json.dumps({"password": "stale"}))
    monkeypatch.setenv("PROVISIONER_SOL_PASSWORD", HOTEL_PASSWORD)
    code, out, err = check_sol(run_cli, repo, "hotelsol", sunat)
    assert code == 0, err
    assert "environment variable PROVISIONER_SOL_PASSWORD" in out


def test_secret_for_another_user_is_used_with_a_warning(
        run_cli: RunCli, repo: Path, sunat: Emulator, secrets_manager: Any) -> None:
    secrets_manager.create_secret(Name="tenancy/tenants/hotelsol/sol", SecretString=json.dumps(
        {"username": "OTRO", "password": HOTEL_PASSWORD}))
    code, _, err = check_sol(run_cli, repo, "hotelsol", sunat)
    assert code == 0
    assert "warning: secret tenancy/tenants/hotelsol/sol is for user 'OTRO'" in err


@pytest.mark.parametrize("value", ["just-a-string", json.dumps({"username": "HOTELSOL"}),
                                   json.dumps({"password": ""})])
def test_unusable_secret_is_a_clear_error(run_cli: RunCli, repo: Path, sunat: Emulator,
                                          secrets_manager: Any, value: str) -> None:
    secrets_manager.create_secret(Name="tenancy/tenants/hotelsol/sol", SecretString=value)
    code, _, err = check_sol(run_cli, repo, "hotelsol", sunat)
    assert code == 10
    assert 'must be JSON {"username": ..., "password": ...}' in err
    assert sunat.requests == []


def test_missing_secret_is_reported_among_the_sources(run_cli: RunCli, repo: Path,
                                                      sunat: Emulator,
                                                      secrets_manager: Any) -> None:
    code, _, err = check_sol(run_cli, repo, "hotelsol", sunat)
    assert code == 10
    assert "Secrets Manager: no secret tenancy/tenants/hotelsol/sol" in err


# --- the password never shows -----------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["auth", "fault:0102", "http500", "empty"])
def test_password_appears_in_no_log_and_no_output(
        run_cli: RunCli, repo: Path, sunat: Emulator, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, scenario: str) -> None:
    sunat.scenario = scenario
    monkeypatch.setenv("PROVISIONER_SOL_PASSWORD", HOTEL_PASSWORD)
    before = logging.getLogRecordFactory()
    caplog.set_level(logging.DEBUG)
    for name in ("zeep", "urllib3"):  # in case something upstream raised their levels
        caplog.set_level(logging.DEBUG, logger=name)
    code, out, err = check_sol(run_cli, repo, "hotelsol", sunat, "--retries", "1")
    assert code in (0, 3, 5, 6)
    # the password really went out, and zeep really logged the envelope carrying it
    assert sunat.requests[0].password == HOTEL_PASSWORD
    assert "HTTP Post to" in caplog.text and "[REDACTED]" in caplog.text
    forms = {HOTEL_PASSWORD, "Clave&amp;&lt;Ñ&gt;\"1", "Clave&amp;&lt;\\xc3\\x91&gt;\"1"}
    for form in forms:
        assert form not in caplog.text
        assert all(form not in r.getMessage() for r in caplog.records)
        assert form not in out and form not in err
    assert logging.getLogRecordFactory() is before


def test_starting_the_cli_imports_no_soap_or_aws_library() -> None:
    code = ("import sys; from provisioner.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('zeep', 'requests', 'boto3', 'botocore', 'lxml') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
