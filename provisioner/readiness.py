"""What `provisioner doctor` checks before a first `pulumi up`: each check says what it found
and, when it fails, what to do. Checks never raise; each is bounded by short timeouts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import parse_qs, urlparse

from provisioner.doc_links import doc_url
from provisioner.model.models import ResellerSpec
from provisioner.safe_text import command_line

Status = Literal["ok", "fail", "skip", "warn"]  # warn: reported, not a failure
TIMEOUT: Final = 5.0  # seconds, per network call


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class Settings:
    """Where doctor looks: the repository's reseller.yaml and the environment CI sets."""

    root: Path
    reseller: ResellerSpec | None
    reseller_problem: str | None = None
    backend_url: str | None = None
    secrets_provider: str | None = None
    endpoint_url: str | None = None  # AWS API endpoint (moto, LocalStack); else boto3's own
    mysql_ca: str | None = None
    mysql_via: tuple[str, int] | None = None  # a tunnel to the shared MySQL server
    network: bool = False
    pulumi: str = "pulumi"
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    _session: Any = None

    def aws_session(self) -> Any:
        """One boto3 session per run, resolving credentials now (boto3's default session would
        keep what an earlier run in the same process found)."""
        if self._session is None:
            import boto3

            self._session = boto3.session.Session()
        return self._session

    @property
    def region(self) -> str | None:
        platform = self.reseller.platform if self.reseller else None
        return (platform.region if platform and platform.region else None) or \
            self.env.get("AWS_REGION") or self.env.get("AWS_DEFAULT_REGION")


def aws_client(settings: Settings, service: str, region: str | None = None) -> Any:
    from botocore.config import Config

    config = Config(connect_timeout=TIMEOUT, read_timeout=2 * TIMEOUT,
                    retries={"max_attempts": 1})
    kwargs: dict[str, Any] = {"config": config, "region_name": region or settings.region}
    if settings.endpoint_url:
        kwargs["endpoint_url"] = settings.endpoint_url
    return settings.aws_session().client(service, **kwargs)


def aws_error(exc: Exception) -> str:
    """botocore's message, one line, without request ids."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(
        exc, "response") else None
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{code}: {text}"[:300] if code else text[:300]


# ---- the checks -----------------------------------------------------------------------------

def pulumi_cli(s: Settings) -> Check:
    """The engine the stack commands would run (provisioner/engine.py), and its version."""
    from provisioner.engine import find_engine
    from provisioner.errors import ProvisionerError
    from provisioner.model.layout import find_project_dir

    name = "pulumi-cli"
    fix = ("install the Pulumi CLI (https://www.pulumi.com/docs/install/) and put it on PATH, "
           f"or build the tool's engine ({doc_url('docs/engine.md')})")
    if s.pulumi == "pulumi":
        try:
            project: Path | None = find_project_dir(s.root)
        except ProvisionerError:  # no Pulumi.yaml: only PATH can hold the engine
            project = None
        engine = find_engine(project, s.env)
        exe = engine.pulumi if engine is not None else None
        where = "the project's engine" if engine is not None and engine.root else "from PATH"
    else:
        exe, where = shutil.which(s.pulumi), "from PATH"
    if exe is None:
        return Check(name, "fail", f"`{s.pulumi}` not found on PATH (nor .engine/bin/pulumi)",
                     fix)
    try:
        proc = subprocess.run([exe, "version"], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name, "fail", f"{exe} version: {type(exc).__name__}", fix)
    version = proc.stdout.strip()
    if proc.returncode != 0 or not re.fullmatch(r"v?\d+\.\d+\.\d+\S*", version):
        return Check(name, "fail", f"{exe} version exited {proc.returncode}", fix)
    major = int(version.lstrip("v").split(".")[0])
    if major < 3:
        return Check(name, "fail", f"{exe} {version}: too old",
                     "install Pulumi 3 (the Automation API and the pulumi package need it)")
    return Check(name, "ok", f"{where}: {exe} {version}")


def backend(s: Settings) -> Check:
    name = "backend"
    url = s.backend_url
    if not url:
        return Check(name, "fail", "no state backend named",
                     "set PULUMI_BACKEND_URL (CI: the PULUMI_BACKEND_URL variable) or "
                     "Pulumi.yaml backend.url, e.g. s3://BUCKET")
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        bucket = parsed.netloc
        region = (parse_qs(parsed.query).get("region") or [None])[0]
        try:
            aws_client(s, "s3", region).head_bucket(Bucket=bucket)
        except Exception as exc:
            return Check(name, "fail", f"s3 bucket {bucket}: {aws_error(exc)}",
                         "create the bucket, or give this identity s3:ListBucket, "
                         "s3:GetObject and s3:PutObject on it")
        return Check(name, "ok", f"{url}: bucket reachable")
    if parsed.scheme == "file":
        path = Path(os.path.expanduser(parsed.netloc + parsed.path))
        if path.is_dir() and os.access(path, os.W_OK):
            return Check(name, "ok", f"{url}: writable directory")
        return Check(name, "fail", f"{url}: not a writable directory",
                     f"{command_line('mkdir', '-p', str(path))} (or point PULUMI_BACKEND_URL "
                     "at the real state)")
    if parsed.scheme in {"http", "https"}:
        import requests

        probe = url.rstrip("/") + "/api/capabilities"
        try:
            response = requests.get(probe, timeout=TIMEOUT)
        except requests.RequestException as exc:
            return Check(name, "fail", f"{url}: {type(exc).__name__}",
                         "check the URL and the network path to the Pulumi service")
        if response.status_code >= 500:
            return Check(name, "fail", f"{url}: HTTP {response.status_code}",
                         "the Pulumi service answered with an error; retry later")
        return Check(name, "ok", f"{url}: answers (HTTP {response.status_code})")
    return Check(name, "skip", f"{url}: doctor does not check {parsed.scheme}:// backends")


def secrets_provider(s: Settings) -> Check:
    name = "secrets-provider"
    provider = s.secrets_provider
    cloud = bool(s.backend_url and urlparse(s.backend_url).scheme in {"http", "https"})
    if not provider or provider == "default":
        if cloud:
            return Check(name, "ok", "the Pulumi service's own encryption (default)")
        return Check(name, "fail", "no secrets provider named for a self-managed backend",
                     "set PROVISIONER_SECRETS_PROVIDER (CI: PULUMI_SECRETS_PROVIDER), e.g. "
                     "awskms://alias/pulumi, or passphrase")
    if provider == "passphrase":
        if s.env.get("PULUMI_CONFIG_PASSPHRASE") or s.env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
            return Check(name, "ok", "passphrase (PULUMI_CONFIG_PASSPHRASE set)")
        return Check(name, "fail", "passphrase provider without a passphrase",
                     "set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE "
                     "(CI: the PULUMI_CONFIG_PASSPHRASE secret)")
    parsed = urlparse(provider)
    if parsed.scheme == "awskms":
        key = (parsed.netloc + parsed.path).lstrip("/") if parsed.netloc != "alias" else \
            "alias" + parsed.path
        region = (parse_qs(parsed.query).get("region") or [None])[0]
        try:
            kms = aws_client(s, "kms", region)
            blob = kms.encrypt(KeyId=key, Plaintext=b"provisioner doctor")["CiphertextBlob"]
            if kms.decrypt(CiphertextBlob=blob, KeyId=key)["Plaintext"] != b"provisioner doctor":
                raise ValueError("decrypt gave back other bytes")
        except Exception as exc:
            return Check(name, "fail", f"{provider}: {aws_error(exc)}",
                         "check the key exists and this identity may kms:Encrypt and "
                         "kms:Decrypt with it")
        return Check(name, "ok", f"{provider}: encrypts and decrypts")
    return Check(name, "skip", f"{provider}: doctor does not check {parsed.scheme}:// providers")


def aws_identity(s: Settings) -> Check:
    name = "aws-credentials"
    try:
        me = aws_client(s, "sts").get_caller_identity()
    except Exception as exc:
        return Check(name, "fail", aws_error(exc),
                     "configure AWS credentials (aws configure / AWS_PROFILE; in CI the OIDC "
                     "role) and a region")
    return Check(name, "ok", f"{me.get('Arn')} (account {me.get('Account')})")


def _no_credentials(s: Settings, name: str) -> Check | None:
    """A platform check that needs AWS, skipped (not blamed on reseller.yaml) when there are no
    credentials: the aws-credentials check says what to do about those."""
    try:
        found = s.aws_session().get_credentials()
    except Exception:  # a broken profile: aws-credentials reports it
        found = None
    if found is None:
        return Check(name, "skip", "skipped: no AWS credentials (see aws-credentials)")
    return None


def _from_stack(s: Settings) -> bool:
    return bool(s.reseller and s.reseller.platform.stack_reference)


def hosted_zone(s: Settings) -> Check:
    name = "hosted-zone"
    if s.reseller is not None and not _from_stack(s) and (skipped := _no_credentials(s, name)):
        return skipped
    zone = s.reseller.platform.hosted_zone_id if s.reseller else None
    if not zone:
        return _absent(s, name, "platform.hosted_zone_id")
    try:
        found = aws_client(s, "route53").get_hosted_zone(Id=zone)["HostedZone"]
    except Exception as exc:
        return Check(name, "fail", f"{zone}: {aws_error(exc)}",
                     "fix platform.hosted_zone_id in reseller.yaml, or allow "
                     "route53:GetHostedZone")
    zone_name = str(found.get("Name", "")).rstrip(".")
    base = s.reseller.base_domain if s.reseller else ""
    if base and not (base == zone_name or base.endswith("." + zone_name)):
        return Check(name, "fail", f"{zone} is {zone_name}, which does not hold {base}",
                     "use the hosted zone of base_domain (or a parent of it)")
    return Check(name, "ok", f"{zone} ({zone_name})")


def kms_key(s: Settings) -> Check:
    name = "kms-key"
    if s.reseller is not None and not _from_stack(s) and (skipped := _no_credentials(s, name)):
        return skipped
    key = s.reseller.platform.kms_key_id if s.reseller else None
    if not key:
        return _absent(s, name, "platform.kms_key_id")
    try:
        meta = aws_client(s, "kms").describe_key(KeyId=key)["KeyMetadata"]
    except Exception as exc:
        return Check(name, "fail", f"{key}: {aws_error(exc)}",
                     "fix platform.kms_key_id in reseller.yaml, or allow kms:DescribeKey")
    if meta.get("KeyState") != "Enabled":
        return Check(name, "fail", f"{key}: {meta.get('KeyState')}", "enable the key")
    return Check(name, "ok", f"{meta.get('Arn', key)} (enabled)")


def shared_database_secret(s: Settings) -> Check:
    name = "shared-database-secret"
    if s.reseller is not None and not _from_stack(s) and (skipped := _no_credentials(s, name)):
        return skipped
    db = s.reseller.platform.shared_database if s.reseller else None
    if db is None:
        return _absent(s, name, "platform.shared_database.admin_secret_arn")
    arn = db.admin_secret_arn
    region = arn.split(":")[3]
    try:
        aws_client(s, "secretsmanager", region).describe_secret(SecretId=arn)
    except Exception as exc:
        return Check(name, "fail", f"{arn}: {aws_error(exc)}",
                     "fix platform.shared_database.admin_secret_arn, or allow "
                     "secretsmanager:DescribeSecret")
    return Check(name, "ok", arn)


def shared_mysql_tls(s: Settings) -> Check:
    from provisioner.mysql_probe import ProbeError, probe_tls

    name = "shared-mysql-tls"
    db = s.reseller.platform.shared_database if s.reseller else None
    if db is None:
        return _absent(s, name, "platform.shared_database")
    try:
        result = probe_tls(db.host, db.port, cafile=s.mysql_ca, timeout=TIMEOUT,
                           via=s.mysql_via)
    except ProbeError as exc:
        return Check(name, "fail", str(exc),
                     "run doctor where the stacks run, or through a tunnel (--mysql-via), as "
                     "the database is usually private to the VPC; give --mysql-ca with the "
                     "server's CA bundle (RDS: global-bundle.pem) if the certificate is not "
                     "trusted")
    via = f" via {s.mysql_via[0]}:{s.mysql_via[1]}" if s.mysql_via else ""
    return Check(name, "ok", f"{db.host}:{db.port}{via} {result.server_version}, "
                             f"{result.tls_version}")


def app_database(s: Settings) -> Check:
    """The app's system database (reseller.yaml `app.system_database`) as onboard and adopt
    will use it: reachable with the password onboard reads, its TLS state, the tables and
    columns onboard needs (`app.schema_check`, the same check onboard runs first), and the
    grants hyn's system connection needs to make tenant databases and users."""
    from provisioner import secrets as names
    from provisioner.app.connection import AppError, Server
    from provisioner.app.schema_check import SYSTEM_NEEDS, describe, missing

    name = "app-database"
    if s.reseller is None:
        return Check(name, "fail", s.reseller_problem or "no reseller.yaml",
                     "run doctor in the tenant repository (or --repo DIR)")
    app = s.reseller.app
    if app is None:
        return Check(name, "skip", "reseller.yaml has no app: section (tenants are not "
                                   "onboarded into the app's databases)")
    db = app.system_database
    where = f"{db.host}:{db.port}/{db.database} as {db.user}"
    password = s.env.get(names.APP_DATABASE_PASSWORD.env)
    if password is None:
        return Check(name, "skip", f"skipped: no credentials ({names.APP_DATABASE_PASSWORD.env} "
                                   f"is not set) for {where}")
    server = Server(db.host, db.port, db.user, password, db.database)
    try:
        conn = server.connect()
    except AppError as exc:
        return Check(name, "fail", str(exc), "check app.system_database in reseller.yaml, "
                     f"{names.APP_DATABASE_PASSWORD.env} and the network path to the server")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
            row = cur.fetchone() or {}
            tls = str(row.get("Value") or "") or "no TLS"
            cur.execute("SHOW GRANTS")
            grants = [str(next(iter(r.values()))) for r in cur.fetchall()]
        gaps = missing(conn, SYSTEM_NEEDS)
    except Exception as exc:
        from provisioner.app.connection import error_reason

        return Check(name, "fail", f"{where}: {error_reason(exc)}",
                     "give the user SELECT on the app's database")
    finally:
        conn.close()
    if gaps:
        return Check(name, "fail", f"{where} ({tls}): missing {describe(gaps)}",
                     "point app.system_database.database at the app's DB_DATABASE, and run "
                     "the app's migrations there")
    problem = grants_problem(grants)
    if problem:
        return Check(name, "fail", f"{where} ({tls}): {problem}",
                     "onboard creates each tenant's database and user as hyn does: give this "
                     "user CREATE, CREATE USER and GRANT OPTION on *.* (or use the app's own "
                     "DB_USERNAME)")
    return Check(name, "ok", f"{where} ({tls}): the app's tables onboard needs, and grants to "
                             "create tenant databases and users")


_GLOBAL_GRANT: Final = re.compile(r"^GRANT (.+) ON \*\.\* TO ", re.I)


def grants_problem(grants: list[str]) -> str | None:
    """What `SHOW GRANTS` lacks for hyn's statements (CREATE DATABASE, CREATE USER, GRANT ALL
    ON `<uuid>`.*): None when the user has them on *.*."""
    privileges: set[str] = set()
    grant_option = False
    for line in grants:
        match = _GLOBAL_GRANT.match(line)
        if not match:
            continue
        privileges |= {p.strip().upper() for p in match.group(1).split(",")}
        grant_option |= "WITH GRANT OPTION" in line.upper()
    if "ALL PRIVILEGES" in privileges:
        privileges |= {"CREATE", "CREATE USER"}
    lacking = [p for p in ("CREATE", "CREATE USER") if p not in privileges]
    if not grant_option:
        lacking.append("GRANT OPTION")
    if lacking:
        return f"the user lacks {', '.join(lacking)} on *.*"
    return None


def sunat_endpoints(s: Settings) -> Check:
    import socket

    from provisioner.sunat.endpoints import SUNAT_ENDPOINTS

    name = "sunat-endpoints"
    hosts = sorted({urlparse(url).hostname or "" for stage in SUNAT_ENDPOINTS.values()
                    for url in stage.values() if url})
    if not s.network:
        return Check(name, "skip", f"{len(hosts)} host names; --network resolves them")
    failed = []
    for host in hosts:
        try:
            socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
        except OSError:
            failed.append(host)
    if failed:
        return Check(name, "fail", "not resolvable: " + ", ".join(failed),
                     "check DNS and outbound access from where the app and check-sol run")
    return Check(name, "ok", f"{len(hosts)} host names resolve")


# ---- the app's commands over ssh (docs/ci.md "The app's commands from CI") ----------------

def _file_problem(path: str, what: str) -> tuple[str, str] | None:
    """(detail, fix) when `path` is not a regular file of this user, readable by them only."""
    import stat

    try:
        st = os.stat(path)
    except OSError as exc:
        return (f"{what} {path}: {exc.strerror or 'cannot be read'}",
                "the apply job writes it from its secret under $RUNNER_TEMP; check the path")
    if not stat.S_ISREG(st.st_mode):
        return f"{what} {path}: not a regular file", "point the variable at the file itself"
    if st.st_uid != os.geteuid():
        return (f"{what} {path}: owned by uid {st.st_uid}, not by this user ({os.geteuid()})",
                command_line("chown", str(os.geteuid()), path))
    if stat.S_IMODE(st.st_mode) & 0o077:
        return (f"{what} {path}: mode {stat.S_IMODE(st.st_mode):04o}, readable by others "
                "(ssh refuses such a key)", command_line("chmod", "600", path))
    return None


def _ssh_lookup_name(argv: list[str]) -> str | None:
    """The known_hosts name ssh looks the host up by, as `ssh -G` resolves the command's own
    options and ssh_config (ssh(1) -G: print the configuration and exit, nothing connected):
    HostKeyAlias, else HostName, as `[host]:port` when the port is not 22 (sshd(8),
    SSH_KNOWN_HOSTS FILE FORMAT)."""
    try:
        proc = subprocess.run([argv[0], "-G", *argv[1:]], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    config = dict(line.partition(" ")[::2] for line in proc.stdout.splitlines())
    host = config.get("hostkeyalias") or config.get("hostname")
    port = config.get("port", "22")
    if not host:
        return None
    return host if port == "22" else f"[{host}]:{port}"


def app_ssh(s: Settings) -> list[Check]:
    """app.commands over ssh on this machine as the apply job runs them: both variables set
    together, the key and the pinned known_hosts usable, the host pinned. Missing variables
    warn on a workstation (ssh uses ~/.ssh there) and fail in CI (a runner has neither)."""
    from provisioner.app.app_commands import SSH_KEY_ENV, SSH_KNOWN_HOSTS_ENV, ssh_commands
    from provisioner.app.runner_reach import ci_name

    names = ("app-ssh", "app-ssh-key", "app-ssh-known-hosts")
    commands = ssh_commands(s.reseller.app.commands) if s.reseller and s.reseller.app else {}
    if not commands:
        return [Check(names[0], "skip", "app.commands run no ssh")]
    used = ", ".join(commands)
    key, known = s.env.get(SSH_KEY_ENV) or None, s.env.get(SSH_KNOWN_HOSTS_ENV) or None
    secrets = "the repository secrets APP_SSH_KEY and APP_SSH_KNOWN_HOSTS (the apply jobs " \
              f"write them and set both variables; {doc_url('docs/ci.md')})"
    if key and known:
        first = Check(names[0], "ok", f"{SSH_KEY_ENV} and {SSH_KNOWN_HOSTS_ENV} set ({used})")
    elif key or known:
        missing = SSH_KNOWN_HOSTS_ENV if key else SSH_KEY_ENV
        first = Check(names[0], "fail", f"{missing} is not set, the other is: the app "
                      "commands would be refused", f"set both or neither: {secrets}")
    elif (ci := ci_name(s.env)) is not None:
        first = Check(names[0], "fail", f"{used} run ssh and neither {SSH_KEY_ENV} nor "
                      f"{SSH_KNOWN_HOSTS_ENV} is set in CI ({ci}): a runner has no key and no "
                      "known_hosts (\"Host key verification failed\")", f"add {secrets}")
    else:
        first = Check(names[0], "warn", f"{used} run ssh with this machine's ~/.ssh: "
                      f"{SSH_KEY_ENV} and {SSH_KNOWN_HOSTS_ENV} are not set",
                      "set both to check the files CI uses")
    return [first, _ssh_key(names[1], key), _ssh_known_hosts(names[2], known, commands)]


def _ssh_key(name: str, key: str | None) -> Check:
    if key is None:
        return Check(name, "skip", "no deploy key named (see app-ssh)")
    problem = _file_problem(key, "deploy key")
    if problem:
        return Check(name, "fail", *problem)
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        return Check(name, "fail", "ssh-keygen not found to read the deploy key",
                     "install the OpenSSH client (Debian: openssh-client)")
    # -y prints the public key; -P "" never asks for a passphrase (BatchMode ssh could not)
    try:
        proc = subprocess.run([keygen, "-y", "-P", "", "-f", key], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name, "fail", f"ssh-keygen -y: {type(exc).__name__}",
                     "check the key file")
    if proc.returncode != 0:
        said = (proc.stderr.strip().splitlines() or ["no message"])[-1][:200]
        return Check(name, "fail", f"deploy key {key} does not load without a passphrase: "
                     f"{said}", "store the private key itself, with no passphrase, in the "
                     "APP_SSH_KEY secret (its first line: -----BEGIN OPENSSH PRIVATE KEY-----)")
    kind = proc.stdout.split(" ", 1)[0]
    return Check(name, "ok", f"deploy key {key}: yours, owner-only, a {kind} key")


def _ssh_known_hosts(name: str, known: str | None, commands: dict[str, list[str]]) -> Check:
    if known is None:
        return Check(name, "skip", "no pinned known_hosts named (see app-ssh)")
    problem = _file_problem(known, "known_hosts")
    if problem:
        return Check(name, "fail", *problem)
    keygen = shutil.which("ssh-keygen")
    if keygen is None or shutil.which("ssh") is None:
        return Check(name, "fail", "ssh or ssh-keygen not found",
                     "install the OpenSSH client (Debian: openssh-client)")
    hosts: dict[str, str] = {}
    for command, argv in commands.items():
        looked_up = _ssh_lookup_name(argv)
        if looked_up is None:
            return Check(name, "fail", f"app.commands.{command}: `ssh -G` cannot read its "
                         "options", "fix the ssh options of that command in reseller.yaml")
        hosts.setdefault(looked_up, command)
    missing = []
    for host in hosts:
        try:
            proc = subprocess.run([keygen, "-F", host, "-f", known], capture_output=True,
                                  stdin=subprocess.DEVNULL, timeout=TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired):
            proc = None
        if proc is None or proc.returncode != 0:
            missing.append(host)
    if missing:
        first = missing[0]
        host, _, port = first.strip("[").partition("]:")
        scan = command_line("ssh-keyscan", *(["-p", port] if port else []), host)
        return Check(name, "fail", f"known_hosts {known} pins no key for {', '.join(missing)}",
                     f"run {scan} where the network is trusted, compare the fingerprint with "
                     "the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), "
                     "and add the line to the APP_SSH_KNOWN_HOSTS secret")
    return Check(name, "ok", f"known_hosts {known}: yours, owner-only, pins {', '.join(hosts)}")


def _absent(s: Settings, name: str, key: str) -> Check:
    if s.reseller is None:
        return Check(name, "fail", s.reseller_problem or "no reseller.yaml",
                     "run doctor in the tenant repository (or --repo DIR) and fix "
                     "`provisioner validate`'s errors")
    if _from_stack(s):
        return Check(name, "skip", f"{key} comes from the platform stack "
                                   f"{s.reseller.platform.stack_reference}")
    return Check(name, "fail", f"{key} is not set in reseller.yaml",
                 f"set {key}, or platform.stack_reference")


def _project_engine(s: Settings) -> tuple[Path, Any]:
    """The tenant project's directory (the workspace) and the engine found for it."""
    from provisioner.engine import find_engine
    from provisioner.errors import ProvisionerError
    from provisioner.model.layout import find_project_dir

    try:
        project = find_project_dir(s.root)
    except ProvisionerError:
        project = s.root
    return project, find_engine(project, s.env)


def read_stack_outputs(s: Settings, stack: str) -> dict[str, Any]:
    """Another stack's outputs through the Automation API (`pulumi stack output --json`),
    with the engine the stack commands use and the backend doctor was given."""
    from pulumi import automation as auto

    from provisioner.engine import engine_env

    project, engine = _project_engine(s)
    env = {**s.env, **engine_env(engine, sys.executable, s.env)}
    if s.backend_url:
        env["PULUMI_BACKEND_URL"] = s.backend_url
    command = auto.PulumiCommand(root=str(engine.root)) if engine and engine.root else None
    workspace = auto.LocalWorkspace(work_dir=str(project), env_vars=env,
                                    pulumi_command=command)
    return {k: v.value for k, v in workspace.stack_outputs(stack).items()}


def platform_stack(s: Settings) -> Check:
    """Every output the tenant stacks read from `platform.stack_reference` (the ones
    reseller.yaml does not set itself), read from that stack when an engine is here."""
    name = "platform-stack"
    if s.reseller is None:
        return _absent(s, name, "platform.stack_reference")
    ref = s.reseller.platform.stack_reference
    if not ref:
        return Check(name, "skip", "reseller.yaml names no platform.stack_reference (its "
                                   "platform values are checked one by one)")
    _, engine = _project_engine(s)
    if engine is None:
        return Check(name, "skip", f"no Pulumi engine here (.engine/bin/pulumi or `pulumi` on "
                                   f"PATH) to read the outputs of {ref}")
    if not s.backend_url:
        return Check(name, "skip", f"no state backend named to read {ref} from")
    try:
        outputs = read_stack_outputs(s, ref)
    except Exception as exc:  # the CLI's error: no such stack, no access, wrong passphrase
        # an automation CommandError's text is "code: N / stdout: ... / stderr: ..."
        text = str(exc).rpartition("stderr:")[2] if "stderr:" in str(exc) else str(exc)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"the engine failed ({type(exc).__name__}, no message)"
        return Check(name, "fail", f"{ref}: {detail[:300]}",
                     "create it with `provisioner platform up ENV` "
                     f"({doc_url('docs/platform.md')}), or "
                     "check PULUMI_BACKEND_URL and the secrets provider")
    from provisioner.infra.platform_refs import SOURCES

    platform = s.reseller.platform
    wanted = [src.output for src in SOURCES.values() if src.read(platform) in (None, "")]
    missing = [o for o in wanted if outputs.get(o) in (None, "", [])]
    if missing:
        return Check(name, "fail", f"{ref} lacks {', '.join(missing)}",
                     "run `provisioner platform up ENV` with this version: the platform "
                     "program exports every output the tenants read")
    return Check(name, "ok", f"{ref}: the {len(wanted)} outputs the tenants read from it")


# a check gives one line, or several that belong together (app_ssh)
CheckFunction = Callable[[Settings], Check | list[Check]]
ALL_CHECKS: Final[tuple[CheckFunction, ...]] = (
    pulumi_cli, backend, secrets_provider, aws_identity, hosted_zone, kms_key,
    shared_database_secret, shared_mysql_tls, platform_stack, app_database, app_ssh,
    sunat_endpoints)


def run_checks(settings: Settings,
               checks: tuple[CheckFunction, ...] = ALL_CHECKS) -> list[Check]:
    out: list[Check] = []
    for check in checks:
        try:
            found = check(settings)
            out.extend(found if isinstance(found, list) else [found])
        except Exception as exc:  # a check's own bug must not hide the others' results
            out.append(Check(check.__name__.replace("_", "-"), "fail",
                             f"the check failed: {type(exc).__name__}",
                             "report this; PROVISIONER_DEBUG=1 shows nothing more here"))
    return out
