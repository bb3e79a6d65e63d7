"""Local mode: provision without an AWS account. Pulumi state in .pulumi-local/ (file backend,
passphrase secrets), AWS served by moto on 127.0.0.1, pooled databases on a local MySQL 8.

Not MariaDB: pulumi-mysql is built on terraform-provider-mysql, whose `serverVersion` runs
`SELECT @@GLOBAL.innodb_version` before creating a grant or a user (mysql/provider.go,
resource_grant.go); MariaDB dropped that variable in 10.10 (Debian 12 ships 10.11), so the first
grant would fail inside `pulumi up`. `check_mysql_server` asks the server the same question
before any stack runs.

The local stacks' config (moto endpoints, placeholder ids) is written in a project copy under
.pulumi-local/project/ whose Pulumi.yaml points `main` at the real program, so the
repository's own Pulumi.<stack>.yaml files never receive localhost settings.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import yaml

from provisioner.doc_links import doc_url
from provisioner.errors import ProvisionerError
from provisioner.model.models import ResellerSpec
from provisioner.secrets import APP_DATABASE_PASSWORD, APP_KEY

LOCAL_DIRNAME: Final = ".pulumi-local"
# Protects only state on this machine; documented so a newcomer needs no setup. Override with
# PULUMI_CONFIG_PASSPHRASE.
DEFAULT_PASSPHRASE: Final = "provisioner-local"
REGION: Final = "us-east-1"
FAKE_KEY: Final = "test"
ENDPOINT_SERVICES: Final = ("route53", "secretsmanager", "rds", "kms", "sts")
# the platform stack also makes the state bucket, the roles and the database's network
PLATFORM_ENDPOINT_SERVICES: Final = (*ENDPOINT_SERVICES, "s3", "iam", "ec2")
# The aws provider aimed at moto: fake keys, no account or metadata lookups.
LOCAL_AWS_CONFIG: Final[dict[str, tuple[str, bool]]] = {
    "aws:region": (REGION, False),
    "aws:accessKey": (FAKE_KEY, False),
    "aws:secretKey": (FAKE_KEY, True),
    "aws:skipCredentialsValidation": ("true", False),
    "aws:skipRequestingAccountId": ("true", False),
    "aws:skipMetadataApiCheck": ("true", False),
    "aws:s3UsePathStyle": ("true", False),
}
KMS_ALIAS: Final = "alias/provisioner-local"
DEFAULT_DB_ENDPOINT: Final = "127.0.0.1:3306"
DEFAULT_DB_ADMIN_PASSWORD: Final = "provisioner-local"
# MySQL 8 makes a self-signed certificate at first start: encrypted, not verifiable.
LOCAL_DB_TLS: Final = "skip-verify"
MYSQL_8_HINT: Final = ("run MySQL 8, e.g. `docker run -d --name provisioner-mysql -p "
                       "127.0.0.1:3306:3306 -e MYSQL_ROOT_PASSWORD=provisioner-local mysql:8.4` "
                       f"({doc_url('docs/data-safety.md', 'Local mode: MySQL 8, not MariaDB')})")


class LocalDatabaseError(ProvisionerError):
    """The local MySQL server cannot serve the mysql provider; says what to run instead."""


def server_problem(version: str, innodb_version: str | None, tls_cipher: str) -> str | None:
    """Why a server (its @@version, @@innodb_version or None when the variable is unknown,
    and the session's Ssl_cipher) cannot serve the provider; None when it can."""
    if "mariadb" in version.lower() or innodb_version is None:
        return (f"it is {version}: the mysql provider reads @@GLOBAL.innodb_version, which "
                "MariaDB removed in 10.10, so creating a grant fails")
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) < 8:
        return f"it is MySQL {version}; the tenants' grants and users need MySQL 8"
    if not tls_cipher:
        return ("it does not offer TLS, which the provider always uses (sharedDatabaseTls); "
                "MySQL 8 creates its own certificate unless started with --tls-version=''")
    return None


def check_mysql_server(endpoint: str, user: str, password: str, timeout: float = 5.0) -> str:
    """Ask the local server what the provider will ask (over TLS, like the provider); return
    its version, or raise LocalDatabaseError naming the server to run instead."""
    import ssl

    import pymysql

    host, _, port = endpoint.rpartition(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # as tls=skip-verify
    def connect(tls: bool) -> Any:
        return pymysql.connect(host=host, port=int(port), user=user, password=password,
                               connect_timeout=timeout, read_timeout=timeout,
                               ssl=context if tls else None)

    try:
        try:
            conn = connect(tls=True)
        except pymysql.err.OperationalError as exc:
            if "SSL is required" not in str(exc):  # PyMySQL: the server offers no TLS
                raise
            conn = connect(tls=False)  # to say what else is wrong with it; cipher stays ""
    except pymysql.MySQLError as exc:
        raise LocalDatabaseError(
            f"local mode: cannot sign in to the MySQL server at {endpoint} as {user!r} "
            f"({type(exc).__name__}: {exc.args[-1] if exc.args else ''}); {MYSQL_8_HINT}, "
            "or point PROVISIONER_LOCAL_DB at one") from None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.version")
            version = str(cur.fetchone()[0])
            try:
                cur.execute("SELECT @@GLOBAL.innodb_version")  # the provider's own query
                innodb: str | None = str(cur.fetchone()[0])
            except pymysql.MySQLError:
                innodb = None
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            row = cur.fetchone()
            cipher = str(row[1]) if row else ""
    finally:
        conn.close()
    problem = server_problem(version, innodb, cipher)
    if problem:
        raise LocalDatabaseError(f"local mode: the server at {endpoint} cannot be used: "
                                 f"{problem}; {MYSQL_8_HINT}")
    return version


@dataclass(frozen=True)
class LocalPlatform:
    """What bootstrap created in moto: the placeholders the reseller file names for real."""

    endpoint: str
    hosted_zone_id: str
    kms_key_id: str
    db_admin_secret_arn: str
    db_endpoint: str
    db_admin_user: str
    db_admin_password: str = ""
    # The app's platform secrets (appKey, appDatabasePassword) when reseller.yaml has `app:`;
    # from the environment, as `provisioner onboard` reads them.
    app_secrets: tuple[tuple[str, str], ...] = ()

    def stack_config(self) -> dict[str, tuple[str, bool]]:
        """(value, secret) per key: the aws provider aimed at moto, and platform overrides the
        infra program reads instead of reseller.yaml's real ids."""
        return {
            **LOCAL_AWS_CONFIG,
            "hostedZoneId": (self.hosted_zone_id, False),
            "kmsKeyId": (self.kms_key_id, False),
            "sharedDatabaseAdminSecretArn": (self.db_admin_secret_arn, False),
            "sharedDatabaseEndpoint": (self.db_endpoint, False),
            "sharedDatabaseAdminUser": (self.db_admin_user, False),
            "sharedDatabaseAdminPassword": (self.db_admin_password, True),
            "sharedDatabaseTls": (LOCAL_DB_TLS, False),
            **{key: (value, True) for key, value in self.app_secrets},
        }

    def endpoint_paths(self) -> dict[str, str]:
        """aws:endpoints is a list of objects; set with `--path` keys (aws:endpoints[0].kms)."""
        return {f"aws:endpoints[0].{svc}": self.endpoint for svc in ENDPOINT_SERVICES}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(host: str = "127.0.0.1") -> Iterator[str]:
    """An in-process moto server on a random free port; its state lives as long as the command."""
    from moto.server import ThreadedMotoServer

    port = free_port(host)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=FAKE_KEY, aws_secret_access_key=FAKE_KEY)


def bootstrap(endpoint: str, reseller: ResellerSpec, *, db_endpoint: str, db_admin_user: str,
              db_admin_password: str) -> LocalPlatform:
    """Create (or find, on a long-running moto) the hosted zone, KMS key and DB admin secret."""
    try:
        zone_id = _hosted_zone(client("route53", endpoint), reseller.base_domain)
        key_id = _kms_key(client("kms", endpoint))
        arn = _admin_secret(client("secretsmanager", endpoint),
                            f"{reseller.database_prefix}/platform/mysql-admin",
                            db_admin_user, db_admin_password, key_id)
    except Exception as exc:  # botocore's errors name the call; keep it to one line
        raise ProvisionerError(f"local AWS (moto at {endpoint}) bootstrap failed: "
                               f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from exc
    return LocalPlatform(endpoint, zone_id, key_id, arn, db_endpoint, db_admin_user,
                         db_admin_password)


def _hosted_zone(r53: Any, domain: str) -> str:
    name = domain.rstrip(".") + "."
    for zone in r53.list_hosted_zones_by_name(DNSName=name).get("HostedZones", []):
        if zone["Name"] == name:
            return str(zone["Id"]).rsplit("/", 1)[-1]
    created = r53.create_hosted_zone(Name=name, CallerReference=str(uuid.uuid4()))
    return str(created["HostedZone"]["Id"]).rsplit("/", 1)[-1]


def _kms_key(kms: Any) -> str:
    for alias in kms.list_aliases().get("Aliases", []):
        if alias.get("AliasName") == KMS_ALIAS and alias.get("TargetKeyId"):
            return str(alias["TargetKeyId"])
    key_id = str(kms.create_key(Description="provisioner local mode")["KeyMetadata"]["KeyId"])
    kms.create_alias(AliasName=KMS_ALIAS, TargetKeyId=key_id)
    return key_id


def _admin_secret(sm: Any, name: str, user: str, password: str, key_id: str) -> str:
    value = json.dumps({"username": user, "password": password})
    try:
        arn = str(sm.describe_secret(SecretId=name)["ARN"])
        sm.put_secret_value(SecretId=name, SecretString=value)
        return arn
    except sm.exceptions.ResourceNotFoundException:
        return str(sm.create_secret(Name=name, SecretString=value, KmsKeyId=key_id)["ARN"])


def local_env(project_dir: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    state = project_dir / LOCAL_DIRNAME
    state.mkdir(parents=True, exist_ok=True)
    return {
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": env.get("PULUMI_CONFIG_PASSPHRASE") or DEFAULT_PASSPHRASE,
        "AWS_ACCESS_KEY_ID": FAKE_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_KEY,
        "AWS_REGION": REGION,
    }


def local_project(project_dir: Path) -> Path:
    """A copy of Pulumi.yaml whose program paths point back into the repository."""
    source = next((project_dir / n for n in ("Pulumi.yaml", "Pulumi.yml")
                   if (project_dir / n).is_file()), None)
    if source is None:
        raise ProvisionerError(f"no Pulumi.yaml in {project_dir}")
    settings = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    settings["main"] = str((project_dir / str(settings.get("main") or ".")).resolve())
    runtime = settings.get("runtime")
    if isinstance(runtime, dict) and isinstance(runtime.get("options"), dict):
        venv = runtime["options"].get("virtualenv")
        if isinstance(venv, str) and not os.path.isabs(venv):
            runtime["options"]["virtualenv"] = str((project_dir / venv).resolve())
    work = project_dir / LOCAL_DIRNAME / "project"
    work.mkdir(parents=True, exist_ok=True)
    (work / "Pulumi.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return work


@dataclass
class LocalSession:
    work_dir: Path
    env: dict[str, str]
    platform: LocalPlatform

    @property
    def passphrase(self) -> str:
        return self.env["PULUMI_CONFIG_PASSPHRASE"]


def local_app_secrets(reseller: ResellerSpec, environ: Mapping[str, str]
                      ) -> tuple[tuple[str, str], ...]:
    """The app's platform secrets for the local stacks, from the environment `onboard` reads;
    refused up front when reseller.yaml has `app:` and one is missing, not inside a stack."""
    if reseller.app is None:
        return ()
    wanted = (APP_KEY, APP_DATABASE_PASSWORD)
    missing = [s for s in wanted if not environ.get(s.env)]
    if missing:
        raise ProvisionerError(
            "local mode: reseller.yaml has an `app:` section, so the stacks need the app's "
            "platform secrets; set " + " and ".join(f"{s.env} ({s.what})" for s in missing))
    return tuple((s.key, environ[s.env]) for s in wanted)


@contextmanager
def local_session(project_dir: Path, reseller: ResellerSpec, *, endpoint: str | None = None,
                  environ: Mapping[str, str] | None = None,
                  check_database: bool = True) -> Iterator[LocalSession]:
    """Everything local mode needs, torn down (the in-process moto) on exit. The MySQL server
    is checked first, so a MariaDB or a stopped server fails here, not inside a stack."""
    env = os.environ if environ is None else environ
    db_user = env.get("PROVISIONER_LOCAL_DB_ADMIN_USER") or (
        reseller.platform.shared_database.admin_user if reseller.platform.shared_database
        else "admin")
    db_password = env.get("PROVISIONER_LOCAL_DB_ADMIN_PASSWORD") or DEFAULT_DB_ADMIN_PASSWORD
    db_endpoint = env.get("PROVISIONER_LOCAL_DB") or DEFAULT_DB_ENDPOINT
    if check_database:
        check_mysql_server(db_endpoint, db_user, db_password)

    app_secrets = local_app_secrets(reseller, env)

    def session(url: str) -> LocalSession:
        platform = replace(bootstrap(url, reseller, db_endpoint=db_endpoint,
                                     db_admin_user=db_user, db_admin_password=db_password),
                           app_secrets=app_secrets)
        return LocalSession(local_project(project_dir), local_env(project_dir, env), platform)

    if endpoint:
        yield session(endpoint)
        return
    with moto_server() as url:
        yield session(url)


# -- the platform stack in local mode ------------------------------------------------------------

LOCAL_VPC_CIDR: Final = "10.77.0.0/16"
LOCAL_VPC_TAG: Final = "provisioner-local"
# the app's load balancer is not the platform's to make: local mode names a placeholder
LOCAL_LOAD_BALANCER: Final = ("provisioner-local-alb.us-east-1.elb.amazonaws.com",
                              "Z35SXDOTRQ7X7K")
LOCAL_GITHUB_REPOSITORY: Final = "local/tenants"


def local_network(endpoint: str) -> tuple[str, list[str]]:
    """A VPC with two subnets in moto (found again on a long-running one): what the platform's
    database subnet group and security group need."""
    ec2 = client("ec2", endpoint)
    tag = {"Name": "tag:Name", "Values": [LOCAL_VPC_TAG]}
    found = ec2.describe_vpcs(Filters=[tag]).get("Vpcs", [])
    if found:
        vpc = str(found[0]["VpcId"])
    else:
        vpc = str(ec2.create_vpc(CidrBlock=LOCAL_VPC_CIDR, TagSpecifications=[{
            "ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": LOCAL_VPC_TAG}]}])[
            "Vpc"]["VpcId"])
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}]).get(
        "Subnets", [])
    if len(subnets) < 2:
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{i}.0/24",
                                     AvailabilityZone=f"{REGION}{zone}")["Subnet"]
                   for i, zone in ((1, "a"), (2, "b"))]
    return vpc, sorted(str(s["SubnetId"]) for s in subnets)[:2]


def local_platform_config(endpoint: str, github_repository: str | None = None
                          ) -> tuple[dict[str, tuple[str, bool]], dict[str, str]]:
    """(stack config, path config) of a local platform stack: the aws provider aimed at moto,
    a VPC made there, placeholders for what the platform does not make."""
    try:
        vpc, subnets = local_network(endpoint)
    except Exception as exc:  # botocore's errors name the call; keep it to one line
        raise ProvisionerError(f"local AWS (moto at {endpoint}) network setup failed: "
                               f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from exc
    config = {
        **LOCAL_AWS_CONFIG,
        "platform:githubRepository": (github_repository or LOCAL_GITHUB_REPOSITORY, False),
        "platform:vpcId": (vpc, False),
        "platform:subnetIds": (json.dumps(subnets), False),
        "platform:databaseClientCidrs": (json.dumps(["127.0.0.1/32"]), False),
        "platform:loadBalancerDnsName": (LOCAL_LOAD_BALANCER[0], False),
        "platform:loadBalancerZoneId": (LOCAL_LOAD_BALANCER[1], False),
    }
    paths = {f"aws:endpoints[0].{svc}": endpoint for svc in PLATFORM_ENDPOINT_SERVICES}
    return config, paths
