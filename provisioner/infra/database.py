"""The tenant's MySQL database: a schema on the shared server (pool) or its own RDS (silo)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_mysql as mysql
import pulumi_random as random

from provisioner.app.adopt_first_apply import database_import_id
from provisioner.app.tenant_database import TENANT_CHARSET, TENANT_COLLATION
from provisioner.doc_links import doc_url
from provisioner.naming import silo_identifier

from .errors import StackError
from .platform_refs import PlatformValues

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
# Pinned deliberately to a major version in RDS standard support: MySQL 8.0's ended on
# 2026-07-31 (after it, RDS enrols the instance in paid Extended Support); 8.4 is the LTS line
# with standard support until 2029-07-31 (RDS for MySQL release calendar,
# docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MySQL.Concepts.VersionMgmt.html). A major
# prefix lets auto_minor_version_upgrade move within 8.4 without a diff (the provider compares
# the prefix with engine_version_actual); a major upgrade is a reviewed change of this constant.
SILO_ENGINE_VERSION: Final = "8.4"
# Never enrol in Extended Support silently: with it disabled, RDS refuses to create or keep an
# instance past standard support instead of billing for it.
SILO_LIFECYCLE_SUPPORT: Final = "open-source-rds-extended-support-disabled"
# Days of automated backups: a deleted demo instance's backups are kept this long, then expire.
PRODUCTION_BACKUP_DAYS: Final = 7
DEMO_BACKUP_DAYS: Final = 3

# TLS to the shared MySQL server, pulumi-mysql's provider `tls` argument (terraform-provider-mysql
# accepts "true", "false" and "skip-verify"; its default is "false", i.e. the admin and tenant
# passwords in clear, and refused by a server with require_secure_transport=ON). "true" verifies
# the server certificate against the runner's trust store (add the RDS CA bundle there, see
# docs/data-safety.md); "skip-verify" still encrypts (local mode's self-signed MySQL 8 certs).
# "false" is not offered.
TLS_CONFIG_KEY: Final = "sharedDatabaseTls"
TLS_MODES: Final = ("true", "skip-verify")
DEFAULT_TLS: Final = "true"

# What an adopted (imported) resource keeps as it is. Since CLI 3.174 an import whose declared
# inputs differ no longer fails: the engine imports, then diffs the imported state against the
# program and updates in the same run (pulumi/pulumi pkg/resource/deploy/step_generator.go:
# `generateSteps` resolves the ImportStep, then `continueStepsFromImport` checks and diffs),
# except for `ignore_changes` properties, whose imported values it keeps (`processIgnoreChanges`
# there). RDS never returns the master password, so the imported state has none and the first
# `up` would reset it to the stack's, and every other updatable setting would change at once
# (`apply_immediately`). So none of these is ever changed by the stack for an adopted instance;
# a setting that differs is reported as a warning at every preview (instance_differences).
# Left to the stack: tags and what only Pulumi reads (final snapshot, backups on delete,
# apply_immediately), none of which touches the database.
ADOPTED_INSTANCE_KEPT: Final = (
    "password", "identifier", "engine", "engine_version", "engine_lifecycle_support",
    "instance_class", "allocated_storage", "max_allocated_storage", "storage_type",
    "storage_encrypted", "kms_key_id", "db_subnet_group_name", "vpc_security_group_ids",
    "publicly_accessible", "db_name", "username", "backup_retention_period",
    "deletion_protection", "auto_minor_version_upgrade", "allow_major_version_upgrade",
    "copy_tags_to_snapshot")
# The same for an adopted pooled schema: its character set and collation are the app's
# (`adopt` reports another pair, with the ALTER DATABASE that fixes it, instead of `up` running
# one).
ADOPTED_SCHEMA_KEPT: Final = ("default_character_set", "default_collation")
# declared argument -> the field of aws.rds.get_instance that reports it on the live instance
_LIVE_FIELDS: Final = {
    "engine_version": "engine_version", "instance_class": "db_instance_class",
    "allocated_storage": "allocated_storage", "max_allocated_storage": "max_allocated_storage",
    "storage_type": "storage_type", "storage_encrypted": "storage_encrypted",
    "kms_key_id": "kms_key_id", "db_subnet_group_name": "db_subnet_group",
    "vpc_security_group_ids": "vpc_security_groups",
    "publicly_accessible": "publicly_accessible", "db_name": "db_name",
    "username": "master_username", "backup_retention_period": "backup_retention_period",
    "auto_minor_version_upgrade": "auto_minor_version_upgrade"}

Options = Callable[..., pulumi.ResourceOptions]


def instance_differences(declared: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """The settings in which an adopted instance differs from what the stack declares, one
    line each (kept, never applied). A value the live instance does not report is skipped; an
    engine version matches by prefix (8.4 is any 8.4.x), security groups as sets."""
    out = []
    for arg, field_name in _LIVE_FIELDS.items():
        want, have = declared.get(arg), live.get(field_name)
        if want is None or have is None:
            continue
        if arg == "engine_version":
            same = str(have) == str(want) or str(have).startswith(f"{want}.")
        elif arg == "vpc_security_group_ids":
            same = set(map(str, want)) == set(map(str, have))
        else:
            same = want == have
        if not same:
            out.append(f"{arg} is {have!r} on the instance, {want!r} in the stack")
    return out


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


# The pull-request plan role may read no secret value (policies/plan-role.json): pr.yml's
# preview sets this to "none", and the shared server's admin password is then left unknown, as
# any value computed at `up`. pulumi-mysql is Terraform-bridged and connects only to read or
# change a resource, which a preview does not do; an unknown provider input makes the engine
# compare the resources' old and new inputs (a preview of what the spec changes, not of the
# server's live state, which drift.yml's refresh checks with its own role).
PREVIEW_SECRET_VALUES_ENV: Final = "PROVISIONER_PREVIEW_SECRET_VALUES"


def _unknown_secret() -> pulumi.Output[str]:
    loop = asyncio.get_event_loop()
    value, known, secret = loop.create_future(), loop.create_future(), loop.create_future()
    value.set_result(None)
    known.set_result(False)
    secret.set_result(True)
    return pulumi.Output(set(), value, known, secret)


def shared_admin_password(platform: PlatformValues,
                          parent: pulumi.Resource) -> pulumi.Output[str]:
    if platform.shared_database_admin_password is not None:
        return pulumi.Output.secret(platform.shared_database_admin_password)
    if pulumi.runtime.is_dry_run() and os.environ.get(PREVIEW_SECRET_VALUES_ENV) == "none":
        return _unknown_secret()
    version = aws.secretsmanager.get_secret_version_output(
        secret_id=platform["shared_database_admin_secret_arn"], region=platform.region,
        opts=pulumi.InvokeOutputOptions(parent=parent))
    return pulumi.Output.secret(version.secret_string.apply(admin_password_from))


def shared_database_tls(config: pulumi.Config | None = None) -> str:
    """The provider's `tls` mode from stack config `sharedDatabaseTls` (default "true")."""
    value = (config or pulumi.Config()).get(TLS_CONFIG_KEY) or DEFAULT_TLS
    if value not in TLS_MODES:
        raise StackError(f"config {TLS_CONFIG_KEY}: {value!r} is not one of "
                         f"{', '.join(TLS_MODES)} (TLS to the shared MySQL server cannot be "
                         "turned off: the tenant's password would cross the network in clear)")
    return value


def pool_database(*, name: str, username: str, password: pulumi.Output[str],
                  platform: PlatformValues, parent: pulumi.Resource,
                  options: Options, adopted: bool = False) -> Database:
    """A schema and user on the platform's shared server, through an explicit provider.

    `adopted` (an account the app made, `provisioner adopt`): the existing schema is imported by
    its name, and hyn's user and grant are not declared, because pulumi-mysql cannot import them
    (provisioner/app/adopt_first_apply.py says why); the onboarding `database` step keeps them."""
    host = pulumi.Output.from_input(platform["shared_database_host"])
    port = pulumi.Output.from_input(platform["shared_database_port"]).apply(int)
    provider = mysql.Provider(
        "shared-mysql",
        endpoint=pulumi.Output.concat(host, ":", port.apply(str)),
        username=platform.shared_database_admin_user,
        password=shared_admin_password(platform, parent),
        tls=shared_database_tls(),
        opts=options(secret_outputs=["password"]))
    # The schema holds the tenant's data, so in every environment it is
    # - retained: a delete, or the delete half of a replacement, only drops it from state
    #   (the engine's DeleteStep skips the provider's Delete when retainOnDelete is set,
    #   pulumi/pulumi pkg/resource/deploy/step.go), so DROP DATABASE never runs;
    # - protected: the engine refuses to replace it (`new.Protect && old.Protect`,
    #   step_generator.go, checked before the replacement is created) or delete it
    #   (DeleteStep.Apply, in preview too), whatever the cause (a name, a character set, a
    #   program change). The orchestrator unprotects it only for an acknowledged move or an
    #   allowed destroy (provisioner/orchestrate/teardown.py).
    # Adopted: imported by name and its character set and collation kept as they are
    # (ADOPTED_SCHEMA_KEPT: an import no longer fails on a difference, it updates).
    schema = mysql.Database(
        "database", name=name, default_character_set=TENANT_CHARSET,
        default_collation=TENANT_COLLATION,
        opts=pulumi.ResourceOptions.merge(
            options(database=True, provider=provider),
            pulumi.ResourceOptions(import_=database_import_id(name), ignore_changes=list(
                ADOPTED_SCHEMA_KEPT)) if adopted else pulumi.ResourceOptions()))
    if adopted:
        return Database(host, port, name, username, (schema,))
    user = mysql.User(
        "database-user", user=username, host="%", plaintext_password=password,
        opts=options(protected=True, provider=provider,
                     secret_outputs=["plaintextPassword", "password"]))
    # Neither protected nor retained: a grant holds no data, and every one of its arguments is
    # ForceNew in the provider (no Update; terraform-provider-mysql resource_grant.go), so a
    # privilege change is a replacement, which the engine refuses for a protected resource
    # (`new.Protect && old.Protect`, pkg/resource/deploy/step_generator.go). Its id is
    # user@host:database, the same before and after: replaced create-before-delete, the old
    # one's REVOKE would strip the privileges the new GRANT just gave, so delete it first.
    grant = mysql.Grant(
        "database-grant", user=user.user, host=user.host, database=schema.name,
        privileges=list(TENANT_PRIVILEGES),
        opts=pulumi.ResourceOptions.merge(options(provider=provider),
                                          pulumi.ResourceOptions(delete_before_replace=True)))
    return Database(host, port, name, username, (schema, user, grant))


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
                  options: Options, adopted: bool = False) -> Database:
    """A dedicated, encrypted RDS MySQL instance whose master user is the tenant's user.

    `adopted`: the instance exists and is imported by its identifier (pulumi-aws v7
    aws.rds.Instance import id); the stack then keeps its settings and master password
    (ADOPTED_INSTANCE_KEPT; `password` is the instance's own, a stack secret) and warns about
    each setting that differs from these."""
    identifier = silo_identifier(prefix, subdomain)
    # made once per stack and kept: a tenant destroyed, recreated and destroyed again gets a
    # second final snapshot instead of colliding with the first one's name
    snapshot_suffix = random.RandomId("final-snapshot-suffix", byte_length=4,
                                      opts=options(protected=True))
    # What a delete through the provider does (the engine itself never deletes the instance:
    # it is retained, below; these apply if it is ever deleted through Pulumi after a state
    # edit, and docs/data-safety.md gives the same choice for a delete by hand). Production
    # keeps a final snapshot, deliberately, until someone deletes it. Demo skips it, so no
    # snapshot piles up forever: its automated backups are kept after the delete
    # (delete_automated_backups=False) and expire with their retention period, DEMO_BACKUP_DAYS.
    backup_days = PRODUCTION_BACKUP_DAYS if production else DEMO_BACKUP_DAYS
    settings: dict[str, Any] = {
        "engine_version": SILO_ENGINE_VERSION, "instance_class": instance_class,
        "allocated_storage": SILO_STORAGE_GB, "max_allocated_storage": SILO_MAX_STORAGE_GB,
        "storage_type": "gp3", "storage_encrypted": True,
        "kms_key_id": kms_key_arn(platform["kms_key_id"], platform.region, parent),
        "db_subnet_group_name": platform["db_subnet_group"],
        "vpc_security_group_ids": platform["security_group_ids"],
        "publicly_accessible": False, "db_name": name, "username": username,
        "backup_retention_period": backup_days, "auto_minor_version_upgrade": True}
    if adopted:
        warn_adopted_differences(identifier, settings, platform.region, parent)
    instance = aws.rds.Instance(
        "database",
        identifier=identifier,
        engine="mysql",
        engine_version=settings["engine_version"],
        engine_lifecycle_support=SILO_LIFECYCLE_SUPPORT,
        instance_class=settings["instance_class"],
        allocated_storage=settings["allocated_storage"],
        max_allocated_storage=settings["max_allocated_storage"],
        storage_type=settings["storage_type"],
        storage_encrypted=settings["storage_encrypted"],
        kms_key_id=settings["kms_key_id"],
        db_subnet_group_name=settings["db_subnet_group_name"],
        vpc_security_group_ids=settings["vpc_security_group_ids"],
        publicly_accessible=settings["publicly_accessible"],
        db_name=name,
        username=username,
        password=password,
        skip_final_snapshot=not production,
        final_snapshot_identifier=pulumi.Output.concat(identifier, "-final-",
                                                       snapshot_suffix.hex)
        if production else None,
        delete_automated_backups=False,
        deletion_protection=production,
        backup_retention_period=settings["backup_retention_period"],
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=settings["auto_minor_version_upgrade"],
        allow_major_version_upgrade=False,
        # Changes take effect at `up`, not at the next maintenance window: a deferred change
        # leaves the instance differing from its state, which every nightly drift run would
        # report. Merging a change to main is the moment it is meant to happen.
        apply_immediately=True,
        region=platform.region,
        tags=tags,
        # protected and retained in every environment, like the pooled schema: a KMS key,
        # subnet group or identifier change would otherwise replace it with an empty instance
        opts=pulumi.ResourceOptions.merge(
            options(database=True, secret_outputs=["password"]),
            pulumi.ResourceOptions(import_=identifier, ignore_changes=list(
                ADOPTED_INSTANCE_KEPT)) if adopted else pulumi.ResourceOptions()))
    return Database(instance.address, instance.port, name, username, (instance,))


def warn_adopted_differences(identifier: str, settings: dict[str, Any], region: str | None,
                             parent: pulumi.Resource) -> None:
    """Look the adopted instance up and warn, at preview and up, about each kept setting that
    differs from the stack's (instance_differences): the plan says what `up` will not do."""
    live = aws.rds.get_instance_output(db_instance_identifier=identifier, region=region,
                                       opts=pulumi.InvokeOutputOptions(parent=parent))
    live_fields = live.apply(lambda r: {f: getattr(r, f, None) for f in _LIVE_FIELDS.values()})

    def report(values: dict[str, Any]) -> None:
        for line in instance_differences(values["declared"], values["live"]):
            pulumi.log.warn(f"adopted instance {identifier}: {line}; kept as it is, `up` does "
                            f"not change it ({doc_url('docs/adopt.md')})", resource=parent)

    pulumi.Output.all(declared=pulumi.Output.all(**settings), live=live_fields).apply(report)
