"""Everything a real engine run needs on this machine, for the engine tests and the demo.

moto's server (AWS APIs), a private MariaDB with the app's system database (also the server
behind every RDS instance the aws stand-in makes), the three stand-in provider plugins on a
temporary PATH, a file backend with passphrase secrets, and a spec
repository: the bundled examples with reseller.yaml pointed at those servers (hosted zone, KMS
key and admin secret created in moto; the app's commands are tests/app_command_hook.py). The
Pulumi project is a Pulumi.yaml in that repository whose `main` is this checkout's infra/ and
whose virtualenv is this checkout's .venv, so the program that runs is the repository's own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / ".engine"
HOOK = ROOT / "tests" / "app_command_hook.py"
PASSPHRASE = "engine-tests-passphrase-7f3a"
SYSTEM_DB = "facturador"


def engine_missing() -> str | None:
    """Why the engine tests cannot run here, or None."""
    if not (ENGINE / "bin" / "pulumi").is_file():
        return (f"{ENGINE / 'bin' / 'pulumi'} is missing: `bash scripts/setup.sh` builds the "
                "Pulumi engine (Go needed)")
    return None


def certificate_pem(ruc: str, password: str) -> str:
    """A self-signed signing certificate carrying the RUC, valid now (the app step checks it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EMPRESA DE PRUEBA S.A.C."),
                      x509.NameAttribute(NameOID.SERIAL_NUMBER, f"RUC:{ruc}")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.BestAvailableEncryption(password.encode()))
            + cert.public_bytes(serialization.Encoding.PEM)).decode()


@dataclass
class World:
    """The servers, the repository and the engine's environment of one run."""

    base: Path
    repo: Path
    moto: str
    server: Any  # tests.mariadb_server.MariaDBServer
    env: dict[str, str]
    platform: dict[str, str]  # plain stack config: the platform ids in moto / MariaDB
    app_key: str
    secrets_provider: str = "passphrase"
    secret_values: dict[str, dict[str, str]] = field(default_factory=dict)  # stack -> key -> v

    @property
    def state_dir(self) -> Path:
        return self.base / "state"

    def every_secret(self) -> set[str]:
        """Every secret value this run handed to the engine (to search state and output)."""
        out = {self.app_key, self.server.password, PASSPHRASE}
        for values in self.secret_values.values():
            out.update(v for v in values.values() if len(v) >= 8)
        return out

    def pulumi(self, *args: str, input: str | None = None, check: bool = True
               ) -> subprocess.CompletedProcess[str]:
        """The engine's CLI in the repository, with the run's environment."""
        proc = subprocess.run([str(ENGINE / "bin" / "pulumi"), *args, "--non-interactive"],
                              cwd=self.repo, env={**os.environ, **self.env}, input=input,
                              capture_output=True, text=True, timeout=600)
        if check and proc.returncode != 0:
            raise RuntimeError(f"pulumi {' '.join(args[:2])} failed: {proc.stderr[-2000:]}")
        return proc

    def provisioner(self, *args: str, check: bool = False
                    ) -> subprocess.CompletedProcess[str]:
        """`provisioner --repo REPO ARGS` as CI runs it: a process of its own."""
        proc = subprocess.run([sys.executable, "-m", "provisioner", "--repo", str(self.repo),
                               *args], env={**os.environ, **self.env}, capture_output=True,
                              text=True, timeout=1800)
        if check and proc.returncode != 0:
            raise RuntimeError(f"provisioner {' '.join(args)} exited {proc.returncode}:\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def tenant_specs(self) -> dict[str, Any]:
        from provisioner.model.repository import load_repository

        return {t.spec.subdomain: t.spec for t in load_repository(self.repo).tenants}

    def prepare_stack(self, stack: str) -> dict[str, str]:
        """What an operator does before a tenant's first apply: create its stack with the
        named secrets provider and `pulumi config set --secret` the secrets it needs."""
        from provisioner.secrets import APP_DATABASE_PASSWORD, APP_KEY, required_stack_secrets

        spec = self.tenant_specs()[stack]
        values = {APP_KEY.key: self.app_key, APP_DATABASE_PASSWORD.key: self.server.password}
        for need in required_stack_secrets(spec):
            if need.key == "certificatePassword":
                continue
            if need.key == "certificate":
                password = f"cert-{stack}-{secrets.token_hex(6)}"
                values["certificatePassword"] = password
                values["certificate"] = certificate_pem(spec.ruc, password)
            else:
                values[need.key] = f"{need.key}-{stack}-{secrets.token_hex(8)}"
        self.pulumi("stack", "init", stack, "--secrets-provider", self.secrets_provider)
        self.pulumi("config", "set-all", "--stack", stack,
                    *(f"--plaintext={k}={v}" for k, v in self.platform.items()))
        for key, value in values.items():  # read from stdin: never on a command line
            self.pulumi("config", "set", "--secret", key, "--stack", stack, input=value)
        self.secret_values[stack] = values
        return values

    def files_holding(self, needle: str, *dirs: Path) -> list[Path]:
        found = []
        for top in dirs:
            for path in top.rglob("*"):
                if path.is_file() and needle.encode() in path.read_bytes():
                    found.append(path)
        return found


def _platform(world_repo: Path, moto: str, server: Any, certs: Path) -> dict[str, str]:
    """Create the platform's hosted zone, KMS key and admin secret in moto, and point the app
    section of the examples' reseller.yaml at the MariaDB server. Returns the stack config that
    overrides reseller.yaml's platform ids with them (keys named like the platform stack's
    outputs, provisioner/infra/config.py; what local mode sets too): moto's zone ids and the
    loopback address are not values reseller.yaml's rules accept."""
    from provisioner.orchestrate.local import client

    path = world_repo / "reseller.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    zone = client("route53", moto).create_hosted_zone(
        Name=data["base_domain"] + ".", CallerReference=secrets.token_hex(8))
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    key_arn = client("kms", moto).create_key(Description="tenants")["KeyMetadata"]["Arn"]
    admin = client("secretsmanager", moto).create_secret(
        Name="platform/mysql-admin", KmsKeyId=key_arn,
        SecretString=json.dumps({"username": server.user, "password": server.password}))["ARN"]
    app = data["app"]
    app["system_database"].update({"host": server.host, "port": server.port,
                                   "database": SYSTEM_DB, "user": server.user})
    py, hook = sys.executable, str(HOOK)
    app["commands"] = {"migrate": [py, hook, "migrate", "{uuid}"],
                       "seed": [py, hook, "seed", "{uuid}"],
                       "put_certificate": [py, hook, "put-certificate",
                                           str(certs / "{filename}")]}
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return {"hostedZoneId": zone_id, "kmsKeyId": key_arn,
            "sharedDatabaseEndpoint": server.endpoint, "sharedDatabaseAdminUser": server.user,
            "sharedDatabaseAdminSecretArn": admin}


@contextmanager
def engine_world(base: Path, tenants: list[str] | None = None, *, s3: bool = False
                 ) -> Iterator[World]:
    """Start everything under `base`; `tenants` keeps only those example tenants. `s3`: the
    state in a bucket of moto's S3 and the secrets provider a key of moto's KMS (awskms://),
    as CI has them; the CLI's gocloud drivers reach moto through the bucket URL's `endpoint`
    and the AWS SDK's AWS_ENDPOINT_URL."""
    from provisioner.orchestrate.local import moto_server
    from tests import app_schema
    from tests.engine_plugins import aws_rds_mysql, install
    from tests.mariadb_server import start_server

    base.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        moto = stack.enter_context(moto_server())
        # moto's in-process servers share one state: start empty, leave it empty
        _reset_moto(moto)
        stack.callback(_reset_moto, moto)
        server = start_server(base)
        stack.callback(server.stop)
        repo = base / "repo"
        shutil.copytree(ROOT / "examples", repo)
        from provisioner.model.repository import load_repository
        from tests.app_env import catalog_plan_rows

        app_schema.create_system_database(
            server, SYSTEM_DB, catalog_plan_rows(load_repository(repo).catalog))
        if tenants is not None:
            for path in (repo / "tenants").glob("*.yaml"):
                if path.stem not in tenants:
                    path.unlink()
        certs = base / "certificates"
        certs.mkdir()
        platform = _platform(repo, moto, server, certs)
        (repo / "Pulumi.yaml").write_text(yaml.safe_dump({
            "name": "tenants", "description": "engine run of the repository's program",
            "runtime": {"name": "python", "options": {"toolchain": "pip",
                                                      "virtualenv": str(ROOT / ".venv")}},
            "main": str(ROOT / "infra")}, sort_keys=False), encoding="utf-8")
        plugins = install(base / "plugins-bin")
        state = base / "state"
        state.mkdir()
        home = base / "pulumi-home"
        from provisioner.engine import Engine, engine_env, program_python

        # what every engine run gets (PULUMI_PYTHON_CMD, no update check, the engine's bin
        # first), with the stand-in plugins' directory ahead of the rest of PATH
        env = {
            **engine_env(Engine(str(ENGINE / "bin" / "pulumi"), ENGINE),
                         program_python(ROOT, ".venv"),
                         {"PATH": f"{plugins}{os.pathsep}{os.environ.get('PATH', os.defpath)}"}),
            "PULUMI_HOME": str(home),
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PROVISIONER_SECRETS_PROVIDER": "passphrase",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PROVISIONER_ENGINE_DIR": str(ENGINE),
            # plugins come from PATH only: a missing one fails instead of being downloaded
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "HOOK_DB_PORT": str(server.port), "HOOK_DB_PASSWORD": server.password,
            # every RDS instance the aws stand-in makes is this MariaDB (its master user an
            # account there): a silo tenant's and the platform's shared server can be signed in
            aws_rds_mysql.ENV: aws_rds_mysql.login(server),
            "PROVISIONER_DEBUG": "",
        }
        provider = "passphrase"
        if s3:
            from provisioner.orchestrate.local import client

            client("s3", moto).create_bucket(Bucket="tenant-state")
            key = client("kms", moto).create_key(Description="state")["KeyMetadata"]["KeyId"]
            provider = f"awskms://{key}?region=us-east-1"
            env.pop("PULUMI_CONFIG_PASSPHRASE")
            env.update({"PULUMI_BACKEND_URL": f"s3://tenant-state?endpoint={moto[7:]}&"
                                              "disableSSL=true&s3ForcePathStyle=true&"
                                              "region=us-east-1",
                        "PROVISIONER_SECRETS_PROVIDER": provider})
        yield World(base, repo, moto, server, env, platform,
                    app_key="base64:" + secrets.token_urlsafe(24), secrets_provider=provider)


def _reset_moto(url: str) -> None:
    import requests

    requests.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()


def add_demo_tenants(repo: Path, count: int, prefix: str = "cliente") -> list[str]:
    """`count` more demo tenants like the example pruebademo (own subdomain, RUC, company name
    and e-mail)."""
    from stdnum.pe import ruc

    template = (ROOT / "examples" / "tenants" / "pruebademo.yaml").read_text(encoding="utf-8")
    names = []
    for n in range(1, count + 1):
        name = f"{prefix}{n:02d}"
        body = f"20{zlib.crc32(name.encode()) % 10**8:08d}"  # distinct across prefixes
        text = (template.replace("subdomain: pruebademo", f"subdomain: {name}")
                .replace('ruc: "20123456789"', f'ruc: "{body}{ruc.calc_check_digit(body)}"')
                .replace("demo@facturador.example.pe", f"admin@{name}.example.pe")
                .replace("company_name: Empresa de Prueba S.A.C.",
                         f"company_name: Empresa {name.capitalize()} S.A.C."))
        (repo / "tenants" / f"{name}.yaml").write_text(text, encoding="utf-8")
        names.append(name)
    return names
