"""`provisioner doctor` against real servers on loopback: moto's server (AWS), a MariaDB started
here with TLS, a small HTTP server (a Pulumi service backend); each check is made to fail once
and says what to do. The Pulumi CLI cannot be installed here: a stand-in script answers its
`version` subcommand, which is all the check runs."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.orchestrate.local import client, free_port, moto_server

MARIADBD = "/usr/sbin/mariadbd"
DB_HOST = "mysql.acme.test"  # the certificate's name; tests reach it through --mysql-via
BASE_DOMAIN = "facturador.acme.test"
Run = Any


# ---- servers --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    """moto's in-process servers share one state: start and leave it empty for other tests."""
    import requests

    with moto_server() as url:
        requests.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()
        try:
            yield url
        finally:
            requests.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name in ("PULUMI_BACKEND_URL", "PROVISIONER_SECRETS_PROVIDER", "AWS_PROFILE",
                 "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def aws(moto: str) -> dict[str, str]:
    """What a platform stack would have made: state bucket, keys, zone, admin secret."""
    client("s3", moto).create_bucket(Bucket="acme-state")
    kms = client("kms", moto)
    state_key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/pulumi", TargetKeyId=state_key)
    tenants_key = kms.create_key()["KeyMetadata"]["Arn"]
    disabled = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=disabled)
    r53 = client("route53", moto)
    zone, other = _zone_id(r53, "acme.test."), _zone_id(r53, "other.test.")
    secret = client("secretsmanager", moto).create_secret(
        Name="acme/mysql-admin", SecretString='{"password": "x"}')["ARN"]
    return {"zone": zone, "other_zone": other,
            "kms": tenants_key, "disabled_kms": disabled, "secret": secret}


def _zone_id(r53: Any, name: str) -> str:
    """A zone whose id looks like AWS's (Z...), as reseller.yaml's rule wants; moto draws its
    ids from all letters and digits, so draw until one starts with Z (bounded)."""
    for attempt in range(500):
        zone_id = r53.create_hosted_zone(Name=name, CallerReference=f"{name}{attempt}")[
            "HostedZone"]["Id"].split("/")[-1]
        if zone_id.startswith("Z"):
            return str(zone_id)
        r53.delete_hosted_zone(Id=zone_id)
    raise AssertionError("moto never gave a hosted zone id starting with Z")


def _certificates(directory: Path) -> dict[str, Path]:
    """A CA and a server certificate for DB_HOST (cryptography, which moto needs anyway)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("doctor test CA"))
          .issuer_name(name("doctor test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name(DB_HOST)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName(DB_HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": directory / "ca.pem", "cert": directory / "server.pem",
             "key": directory / "server-key.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.TraditionalOpenSSL,
                                               serialization.NoEncryption()))
    return paths


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mariadbd exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("mariadbd did not listen within 60 s")


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real MariaDB on a private data directory, TLS on, loopback only."""
    if not Path(MARIADBD).is_file() or not shutil.which("mariadb-install-db"):
        pytest.skip("MariaDB server not installed")
    base = tmp_path_factory.mktemp("mariadb")
    certs = _certificates(base)
    data = base / "data"
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}",
                    "--auth-root-authentication-method=socket", "--skip-test-db", *user],
                   check=True, capture_output=True, timeout=120)
    port = free_port("127.0.0.1")
    log = base / "mariadb.log"
    proc = subprocess.Popen(
        [MARIADBD, "--no-defaults", f"--datadir={data}", f"--port={port}",
         "--bind-address=127.0.0.1", f"--socket={base / 'mysqld.sock'}",
         f"--pid-file={base / 'mysqld.pid'}", f"--log-error={log}", "--skip-name-resolve",
         f"--ssl-ca={certs['ca']}", f"--ssl-cert={certs['cert']}", f"--ssl-key={certs['key']}",
         *user], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, proc, log)
        # a server refuses the handshake itself to a host no account may come from; RDS
        # accounts usually allow '%', so this one does too
        subprocess.run(["mariadb", "--no-defaults", f"--socket={base / 'mysqld.sock'}", "-uroot",
                        "-e", "CREATE USER 'app'@'%' IDENTIFIED BY 'x'"],
                       check=True, capture_output=True, timeout=60)
        yield {"port": port, "ca": str(certs["ca"])}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


class _OneShotServer:
    """A loopback TCP server that answers each connection with fixed bytes."""

    def __init__(self, payload: bytes) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.payload = payload
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.payload)
                time.sleep(0.2)

    def close(self) -> None:
        self.sock.close()


def _handshake_without_tls() -> bytes:
    """A MySQL Initial Handshake v10 whose capabilities lack CLIENT_SSL (0x0800)."""
    caps = 0xFFFF & ~0x0800
    body = (b"\x0a" + b"5.7.0-notls\0" + (7).to_bytes(4, "little") + b"abcdefgh" + b"\0"
            + caps.to_bytes(2, "little") + b"\x21" + (2).to_bytes(2, "little")
            + (0).to_bytes(2, "little") + b"\x15" + b"\0" * 10 + b"ijklmnopqrst\0"
            + b"mysql_native_password\0")
    return len(body).to_bytes(3, "little") + b"\x00" + body


@pytest.fixture
def pulumi_stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stands in for the Pulumi CLI's `version` (the real CLI cannot be installed here)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "pulumi"
    stub.write_text("#!/bin/sh\n[ \"$1\" = version ] && echo v3.190.0\n")
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    return stub


@pytest.fixture
def repo(tmp_path: Path, aws: dict[str, str], mariadb: dict[str, Any]) -> Path:
    root = tmp_path / "acme"
    (root / "tenants").mkdir(parents=True)
    (root / "reseller.yaml").write_text(f"""base_domain: {BASE_DOMAIN}
database_prefix: acme
platform:
  region: us-east-1
  hosted_zone_id: {aws['zone']}
  load_balancer: {{dns_name: alb.acme.test, zone_id: Z35SXDOTRQ7X7K}}
  shared_database:
    host: {DB_HOST}
    port: 3306
    admin_secret_arn: {aws['secret']}
  kms_key_id: {aws['kms']}
""", encoding="utf-8")
    return root


def doctor(run_cli: Run, repo: Path, moto: str, mariadb: dict[str, Any], *extra: str,
           ) -> tuple[int, dict[str, dict[str, str]], str]:
    args = ["--repo", repo, "doctor", "--format", "json", "--endpoint-url", moto,
            "--backend-url", "s3://acme-state", "--secrets-provider", "awskms://alias/pulumi",
            "--mysql-via", f"127.0.0.1:{mariadb['port']}", "--mysql-ca", mariadb["ca"]]
    code, out, err = run_cli(*args, *extra)
    data = json.loads(out)
    assert data["ok"] is (code == 0)
    return code, {c["name"]: c for c in data["checks"]}, err


def failed(checks: dict[str, dict[str, str]]) -> list[str]:
    return [name for name, c in checks.items() if c["status"] == "fail"]


# ---- everything ready -----------------------------------------------------------------------

def test_a_ready_platform_passes_every_check(run_cli: Run, repo: Path, moto: str,
                                             mariadb: dict[str, Any], pulumi_stub: Path,
                                             ) -> None:
    code, checks, err = doctor(run_cli, repo, moto, mariadb)
    assert code == 0, ([checks[name] for name in failed(checks)], err)
    assert checks["pulumi-cli"]["detail"].endswith("v3.190.0")
    assert "TLS" in checks["shared-mysql-tls"]["detail"]
    assert "MariaDB" in checks["shared-mysql-tls"]["detail"]
    assert checks["app-database"]["status"] == "skip"  # no app: section in this reseller.yaml
    assert checks["sunat-endpoints"]["status"] == "skip"  # without --network
    assert {c["status"] for c in checks.values()} <= {"ok", "skip"}


def test_doctor_reports_the_engine_the_stack_commands_would_run(
        run_cli: Run, repo: Path, moto: str, mariadb: dict[str, Any], pulumi_stub: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A built engine (PROVISIONER_ENGINE_DIR, else the project's .engine/) wins over PATH."""
    engine = tmp_path / "engine" / "bin"
    engine.mkdir(parents=True)
    (engine / "pulumi").write_text("#!/bin/sh\n[ \"$1\" = version ] && echo v3.260.0\n")
    (engine / "pulumi").chmod(0o755)
    monkeypatch.setenv("PROVISIONER_ENGINE_DIR", str(engine.parent))
    _code, checks, _ = doctor(run_cli, repo, moto, mariadb)
    detail = checks["pulumi-cli"]["detail"]
    assert detail == f"the project's engine: {(engine / 'pulumi').resolve()} v3.260.0"
    monkeypatch.delenv("PROVISIONER_ENGINE_DIR")
    _code, checks, _ = doctor(run_cli, repo, moto, mariadb)
    assert checks["pulumi-cli"]["detail"] == f"from PATH: {pulumi_stub} v3.190.0"


def test_text_output_is_one_line_per_check_with_the_fix_under_a_failure(
        run_cli: Run, repo: Path, moto: str, mariadb: dict[str, Any], pulumi_stub: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    code, out, _ = run_cli("--repo", repo, "doctor", "--endpoint-url", moto,
                           "--backend-url", "s3://acme-state",
                           "--secrets-provider", "awskms://alias/pulumi",
                           "--mysql-via", f"127.0.0.1:{mariadb['port']}",
                           "--mysql-ca", mariadb["ca"])
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("FAIL  pulumi-cli") and "-> install the Pulumi CLI" in lines[1]
    assert sum(1 for line in lines if line.startswith(("OK ", "FAIL", "SKIP", "WARN"))) == 12
    assert lines[-1] == "1 of 12 checks failed"


# ---- each check failing once ----------------------------------------------------------------

@pytest.mark.parametrize(("case", "check", "expected"), [
    ("no-pulumi", "pulumi-cli", "not found on PATH"),
    ("old-pulumi", "pulumi-cli", "too old"),
    ("no-bucket", "backend", "s3 bucket acme-missing"),
    ("no-backend", "backend", "no state backend named"),
    ("file-backend-missing", "backend", "not a writable directory"),
    ("service-down", "backend", "ConnectionError"),
    ("unknown-kms-alias", "secrets-provider", "alias/missing"),
    ("passphrase-unset", "secrets-provider", "without a passphrase"),
    ("no-provider-self-managed", "secrets-provider", "no secrets provider"),
    ("no-credentials", "aws-credentials", "Unable to locate credentials"),
    ("unknown-zone", "hosted-zone", "Z000000000000NOPE"),
    ("zone-of-another-domain", "hosted-zone", "does not hold facturador.acme.test"),
    ("disabled-key", "kms-key", "Disabled"),
    ("unknown-secret", "shared-database-secret", "acme/gone"),
    ("mysql-closed-port", "shared-mysql-tls", "cannot connect"),
    ("mysql-without-tls", "shared-mysql-tls", "does not offer TLS"),
    ("mysql-not-mysql", "shared-mysql-tls", "not a MySQL server"),
    ("mysql-untrusted-certificate", "shared-mysql-tls", "not trusted"),
    ("mysql-wrong-name", "shared-mysql-tls", "not trusted"),
])
def test_each_check_fails_with_what_to_do(case: str, check: str, expected: str, run_cli: Run,
                                          repo: Path, moto: str, aws: dict[str, str],
                                          mariadb: dict[str, Any], pulumi_stub: Path,
                                          tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    extra: list[str] = []
    reseller = repo / "reseller.yaml"
    text = reseller.read_text(encoding="utf-8")
    servers: list[_OneShotServer] = []
    if case == "no-pulumi":
        monkeypatch.setenv("PATH", "/usr/bin:/bin")
    elif case == "old-pulumi":
        pulumi_stub.write_text("#!/bin/sh\necho v2.25.2\n")
    elif case == "no-bucket":
        extra = ["--backend-url", "s3://acme-missing"]
    elif case == "no-backend":
        extra = ["--backend-url", ""]
    elif case == "file-backend-missing":
        extra = ["--backend-url", f"file://{tmp_path}/no-such-state"]
    elif case == "service-down":
        extra = ["--backend-url", f"http://127.0.0.1:{free_port('127.0.0.1')}"]
    elif case == "unknown-kms-alias":
        extra = ["--secrets-provider", "awskms://alias/missing"]
    elif case == "passphrase-unset":
        extra = ["--secrets-provider", "passphrase"]
    elif case == "no-provider-self-managed":
        extra = ["--secrets-provider", ""]
    elif case == "no-credentials":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    elif case == "unknown-zone":
        reseller.write_text(text.replace(aws["zone"], "Z000000000000NOPE"))
    elif case == "zone-of-another-domain":
        reseller.write_text(text.replace(aws["zone"], aws["other_zone"]))
    elif case == "disabled-key":
        reseller.write_text(text.replace(aws["kms"], aws["disabled_kms"]))
    elif case == "unknown-secret":
        arn = aws["secret"].rsplit(":", 1)[0] + ":acme/gone-XyZ123"
        reseller.write_text(text.replace(aws["secret"], arn))
    elif case == "mysql-closed-port":
        extra = ["--mysql-via", f"127.0.0.1:{free_port('127.0.0.1')}"]
    elif case == "mysql-without-tls":
        servers.append(_OneShotServer(_handshake_without_tls()))
        extra = ["--mysql-via", f"127.0.0.1:{servers[-1].port}"]
    elif case == "mysql-not-mysql":
        servers.append(_OneShotServer(b"SSH-2.0-OpenSSH_9.2\r\n"))
        extra = ["--mysql-via", f"127.0.0.1:{servers[-1].port}"]
    elif case == "mysql-untrusted-certificate":
        extra = ["--mysql-ca", ""]  # the system's CAs only
    elif case == "mysql-wrong-name":
        reseller.write_text(text.replace(DB_HOST, "other-mysql.acme.test"))
    try:
        code, checks, err = doctor(run_cli, repo, moto, mariadb, *extra)
    finally:
        for server in servers:
            server.close()
    assert code == 1, err
    assert check in failed(checks), checks
    assert expected in checks[check]["detail"], checks[check]
    assert checks[check]["fix"]
    if case != "no-credentials":  # without credentials every AWS call fails too
        assert failed(checks) == [check], checks
    else:  # the platform checks wait for credentials; reseller.yaml is not blamed
        for name in ("hosted-zone", "kms-key", "shared-database-secret"):
            assert checks[name]["status"] == "skip", checks[name]
            assert checks[name]["detail"].startswith("skipped: no AWS credentials")


def test_platform_values_from_a_stack_reference_are_skipped_not_failed(
        run_cli: Run, repo: Path, moto: str, mariadb: dict[str, Any], pulumi_stub: Path) -> None:
    (repo / "reseller.yaml").write_text(f"base_domain: {BASE_DOMAIN}\nplatform:\n"
                                        "  stack_reference: acme/platform/prod\n")
    code, checks, _ = doctor(run_cli, repo, moto, mariadb)
    for name in ("hosted-zone", "kms-key", "shared-database-secret", "shared-mysql-tls"):
        assert checks[name]["status"] == "skip" and "acme/platform/prod" in checks[name]["detail"]
    # ... and read from that stack instead, which the stub engine does not have
    assert code == 1 and failed(checks) == ["platform-stack"]
    assert "platform up" in checks["platform-stack"]["fix"]


def _stub_outputs(stub: Path, outputs: dict[str, Any]) -> Path:
    """The stub engine answers `pulumi [--non-interactive] stack output --json
    [--show-secrets] --stack S` (the Automation API puts --non-interactive first)."""
    data = stub.parent / "outputs.json"
    data.write_text(json.dumps(outputs), encoding="utf-8")
    stub.write_text("#!/bin/sh\n[ \"$1\" = version ] && echo v3.190.0 && exit 0\n"
                    f"case \"$*\" in *'stack output --json'*) echo \"$@\" >> {data}.calls; "
                    f"cat {data}; exit 0;; esac\nexit 1\n")
    return data


def test_the_platform_stack_gives_every_output_the_tenants_read(
        run_cli: Run, repo: Path, moto: str, mariadb: dict[str, Any], pulumi_stub: Path) -> None:
    from provisioner.explain.mock_runtime import DEFAULT_PLATFORM_OUTPUTS

    (repo / "reseller.yaml").write_text(f"base_domain: {BASE_DOMAIN}\nplatform:\n"
                                        "  stack_reference: organization/platform/production\n")
    data = _stub_outputs(pulumi_stub, dict(DEFAULT_PLATFORM_OUTPUTS))
    code, checks, _ = doctor(run_cli, repo, moto, mariadb)
    assert checks["platform-stack"]["status"] == "ok", checks["platform-stack"]
    assert "the 9 outputs the tenants read" in checks["platform-stack"]["detail"]
    calls = Path(f"{data}.calls").read_text(encoding="utf-8")
    assert "--stack organization/platform/production" in calls
    # an older platform stack without one of them: named, with the fix
    _stub_outputs(pulumi_stub, {k: v for k, v in DEFAULT_PLATFORM_OUTPUTS.items()
                                if k not in ("kmsKeyId", "dbSubnetGroup")})
    code, checks, _ = doctor(run_cli, repo, moto, mariadb)
    assert code == 1 and checks["platform-stack"]["status"] == "fail"
    assert checks["platform-stack"]["detail"].endswith("lacks kmsKeyId, dbSubnetGroup")
    # what reseller.yaml sets itself is not asked of the stack
    (repo / "reseller.yaml").write_text(
        f"base_domain: {BASE_DOMAIN}\nplatform:\n  stack_reference: organization/platform/"
        "production\n  kms_key_id: alias/acme\n  db_subnet_group: acme-db\n")
    code, checks, _ = doctor(run_cli, repo, moto, mariadb)
    assert checks["platform-stack"]["status"] == "ok"
    assert "the 7 outputs" in checks["platform-stack"]["detail"]


def test_without_an_engine_the_platform_stack_is_skipped_with_the_reason(
        run_cli: Run, repo: Path, moto: str, mariadb: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("PROVISIONER_ENGINE_DIR", str(tmp_path / "none"))
    (repo / "reseller.yaml").write_text(f"base_domain: {BASE_DOMAIN}\nplatform:\n"
                                        "  stack_reference: organization/platform/production\n")
    _code, checks, _ = doctor(run_cli, repo, moto, mariadb)
    assert checks["platform-stack"]["status"] == "skip"
    assert "no Pulumi engine here" in checks["platform-stack"]["detail"]


def test_an_invalid_reseller_file_is_reported_by_the_platform_checks(
        run_cli: Run, repo: Path, moto: str, mariadb: dict[str, Any], pulumi_stub: Path) -> None:
    (repo / "reseller.yaml").write_text("base_domain: NOT A DOMAIN\n")
    code, checks, _ = doctor(run_cli, repo, moto, mariadb)
    assert code == 1 and "reseller.yaml is invalid" in checks["hosted-zone"]["detail"]
    assert "provisioner validate" in checks["hosted-zone"]["fix"]


class _Capabilities(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the Pulumi service's unauthenticated capabilities endpoint
        self.send_response(200 if self.path == "/api/capabilities" else 404)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def test_a_service_backend_is_reachable_and_brings_its_own_secrets(
        run_cli: Run, repo: Path, moto: str, mariadb: dict[str, Any], pulumi_stub: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capabilities)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        code, checks, _ = doctor(run_cli, repo, moto, mariadb, "--backend-url", url,
                                 "--secrets-provider", "")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, checks
    assert checks["backend"]["detail"].endswith("(HTTP 200)")
    assert "default" in checks["secrets-provider"]["detail"]


def test_passphrase_and_file_backends(run_cli: Run, repo: Path, moto: str,
                                      mariadb: dict[str, Any], pulumi_stub: Path,
                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "not-shown")
    code, checks, _ = doctor(run_cli, repo, moto, mariadb, "--backend-url",
                             f"file://{tmp_path}", "--secrets-provider", "passphrase")
    assert code == 0, checks
    assert "not-shown" not in json.dumps(checks)


def test_the_backend_comes_from_pulumi_yaml_or_the_environment(
        run_cli: Run, repo: Path, moto: str, mariadb: dict[str, Any], pulumi_stub: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "Pulumi.yaml").write_text("name: tenants\nruntime: python\n"
                                      "backend:\n  url: s3://acme-missing\n")
    _, out, _ = run_cli("--repo", repo, "doctor", "--format", "json", "--endpoint-url", moto)
    backend = next(c for c in json.loads(out)["checks"] if c["name"] == "backend")
    assert "acme-missing" in backend["detail"]
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://acme-state")  # wins over Pulumi.yaml
    _, out, _ = run_cli("--repo", repo, "doctor", "--format", "json", "--endpoint-url", moto)
    backend = next(c for c in json.loads(out)["checks"] if c["name"] == "backend")
    assert backend["status"] == "ok"


def test_sunat_host_names_with_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Resolution is real; the table is swapped for names whose answer is known offline
    (RFC 6761: `localhost` resolves, `.invalid` never does)."""
    from provisioner import readiness
    from provisioner.sunat import endpoints

    settings = readiness.Settings(root=tmp_path, reseller=None, network=True)
    monkeypatch.setattr(endpoints, "SUNAT_ENDPOINTS",
                        {"beta": {"a": "https://localhost/billService"}})
    assert readiness.sunat_endpoints(settings).status == "ok"
    monkeypatch.setattr(endpoints, "SUNAT_ENDPOINTS",
                        {"beta": {"a": "https://localhost/x", "b": "https://e-beta.invalid/x"}})
    check = readiness.sunat_endpoints(settings)
    assert check.status == "fail" and "e-beta.invalid" in check.detail and check.fix
    settings.network = False
    assert readiness.sunat_endpoints(settings).status == "skip"


# ---- the handshake parser on any bytes ------------------------------------------------------

def _framed(payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + b"\x00" + payload


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(_framed),
                 st.binary(max_size=120).map(lambda b: _framed(b"\x0a" + b))))
def test_any_first_bytes_give_a_result_or_a_probe_error(data: bytes) -> None:
    """Whatever a port answers (another service, a truncated or hostile greeting), the probe
    reports it as ProbeError, never another exception."""
    from provisioner.mysql_probe import ProbeError, _read_first_packet, parse_handshake

    a, b = socket.socketpair()
    with a, b:
        a.settimeout(2)
        b.sendall(data)
        b.shutdown(socket.SHUT_WR)
        with contextlib.suppress(ProbeError):
            parse_handshake(_read_first_packet(a))


@settings(max_examples=200, deadline=None)
@given(caps=st.integers(min_value=0, max_value=0xFFFFFFFF),
       version=st.text(alphabet="0123456789.-abcMariaDB", min_size=1, max_size=30))
def test_the_capabilities_of_a_v10_handshake_are_read_back(caps: int, version: str) -> None:
    from provisioner.mysql_probe import parse_handshake

    body = (b"\x0a" + version.encode() + b"\0" + (1).to_bytes(4, "little") + b"12345678\0"
            + (caps & 0xFFFF).to_bytes(2, "little") + b"\x21" + (2).to_bytes(2, "little")
            + (caps >> 16).to_bytes(2, "little") + b"\x15" + b"\0" * 10)
    assert parse_handshake(body) == (version, caps)
