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

Status = Literal["ok", "fail", "skip"]
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


ALL_CHECKS: Final[tuple[Callable[[Settings], Check], ...]] = (
    pulumi_cli, backend, secrets_provider, aws_identity, hosted_zone, kms_key,
    shared_database_secret, shared_mysql_tls, platform_stack, app_database, sunat_endpoints)


def run_checks(settings: Settings,
               checks: tuple[Callable[[Settings], Check], ...] = ALL_CHECKS) -> list[Check]:
    out = []
    for check in checks:
        try:
            out.append(check(settings))
        except Exception as exc:  # a check's own bug must not hide the others' results
            out.append(Check(check.__name__.replace("_", "-"), "fail",
                             f"the check failed: {type(exc).__name__}",
                             "report this; PROVISIONER_DEBUG=1 shows nothing more here"))
    return out
