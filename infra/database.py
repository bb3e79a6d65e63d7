"""The tenant's MySQL database: a schema on the shared server (pool) or its own RDS (silo)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_mysql as mysql
import pulumi_random as random

from infra.errors import StackError
from infra.platform import PlatformValues

# RFC 3986 unreserved: safe unquoted in a URL, a .env file and a shell word
SAFE_SPECIAL: Final = "-_.~"

# What Laravel's migrations and the app need inside its own schema (granted ON `<schema>`.*, never
# global, never WITH GRANT OPTION). On MySQL 8 that is every schema-level privilege: SELECT,
# INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE TEMPORARY TABLES,
# LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, TRIGGER, EVENT.
# It is spelled ALL PRIVILEGES because SHOW GRANTS reports that full set as ALL PRIVILEGES and
# the mysql provider compares privilege names literally: the 18 names would read back as a
# change on every preview, and every `up` would revoke and re-grant them.
TENANT_PRIVILEGES: Final = ("ALL PRIVILEGES",)
SILO_STORAGE_GB: Final = 20
SILO_MAX_STORAGE_GB: Final = 100

Options = Callable[..., pulumi.ResourceOptions]


@dataclass(frozen=True)
class Database:
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    name: str
    username: str
    resources: tuple[pulumi.Resource, ...] = ()  # what must exist before the app uses it


def admin_password_from(secret_string: str | None) -> str:
    """The shared server's admin password: the secret's plain text or its JSON `password`."""
    if not secret_string:
        raise StackError("the shared database's admin secret is empty")
    try:
        data: Any = json.loads(secret_string)
    except ValueError:
        return secret_string
    if isinstance(data, dict):
        password = data.get("password")
        if not isinstance(password, str) or not password:
            raise StackError("the shared database's admin secret is JSON without a "
                             "'password' string")
        return password
    return secret_string


def shared_admin_password(platform: PlatformValues,
                          parent: pulumi.Resource) -> pulumi.Output[str]:
    if platform.shared_database_admin_password is not None:
        return pulumi.Output.secret(platform.shared_database_admin_password)
    version = aws.secretsmanager.get_secret_version_output(
        secret_id=platform["shared_database_admin_secret_arn"], region=platform.region,
        opts=pulumi.InvokeOutputOptions(parent=parent))
    return pulumi.Output.secret(version.secret_string.apply(admin_password_from))


def pool_database(*, name: str, username: str, password: pulumi.Output[str],
                  platform: PlatformValues, parent: pulumi.Resource,
                  options: Options) -> Database:
    """A schema and user on the platform's shared server, through an explicit provider."""
    host = pulumi.Output.from_input(platform["shared_database_host"])
    port = pulumi.Output.from_input(platform["shared_database_port"]).apply(int)
    provider = mysql.Provider(
        "shared-mysql",
        endpoint=pulumi.Output.concat(host, ":", port.apply(str)),
        username=platform.shared_database_admin_user,
        password=shared_admin_password(platform, parent),
        opts=options(secret_outputs=["password"]))
    schema = mysql.Database(
        "database", name=name, default_character_set="utf8mb4",
        default_collation="utf8mb4_unicode_ci",
        opts=options(protected=True, provider=provider))
    user = mysql.User(
        "database-user", user=username, host="%", plaintext_password=password,
        opts=options(protected=True, provider=provider,
                     secret_outputs=["plaintextPassword", "password"]))
    grant = mysql.Grant(
        "database-grant", user=user.user, host=user.host, database=schema.name,
        privileges=list(TENANT_PRIVILEGES),
        opts=options(protected=True, provider=provider))
    return Database(host, port, name, username, (schema, user, grant))


def silo_identifier(prefix: str, subdomain: str) -> str:
    """RDS instance identifier: letters, digits and single hyphens."""
    return f"{prefix}-{subdomain}"


def kms_key_arn(key: pulumi.Input[str], region: str | None,
                parent: pulumi.Resource) -> pulumi.Input[str]:
    """RDS takes only a key ARN; an alias or key id is looked up."""
    if isinstance(key, str) and key.startswith("arn:") and ":key/" in key:
        return key
    return aws.kms.get_key_output(key_id=key, region=region,
                                  opts=pulumi.InvokeOutputOptions(parent=parent)).arn


def silo_database(*, name: str, username: str, password: pulumi.Output[str], prefix: str,
                  subdomain: str, production: bool, instance_class: str,
                  platform: PlatformValues, tags: dict[str, str], parent: pulumi.Resource,
                  options: Options) -> Database:
    """A dedicated, encrypted RDS MySQL instance whose master user is the tenant's user."""
    identifier = silo_identifier(prefix, subdomain)
    # made once per stack and kept: a tenant destroyed, recreated and destroyed again gets a
    # second final snapshot instead of colliding with the first one's name
    snapshot_suffix = random.RandomId("final-snapshot-suffix", byte_length=4,
                                      opts=options(protected=True))
    instance = aws.rds.Instance(
        "database",
        identifier=identifier,
        engine="mysql",
        engine_version="8.0",
        instance_class=instance_class,
        allocated_storage=SILO_STORAGE_GB,
        max_allocated_storage=SILO_MAX_STORAGE_GB,
        storage_type="gp3",
        storage_encrypted=True,
        kms_key_id=kms_key_arn(platform["kms_key_id"], platform.region, parent),
        db_subnet_group_name=platform["db_subnet_group"],
        vpc_security_group_ids=platform["security_group_ids"],
        publicly_accessible=False,
        db_name=name,
        username=username,
        password=password,
        skip_final_snapshot=False,
        final_snapshot_identifier=pulumi.Output.concat(identifier, "-final-",
                                                       snapshot_suffix.hex),
        deletion_protection=production,
        backup_retention_period=7 if production else 1,
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=True,
        region=platform.region,
        tags=tags,
        opts=options(protected=True, secret_outputs=["password"]))
    return Database(instance.address, instance.port, name, username, (instance,))
