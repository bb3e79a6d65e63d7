"""The `Platform` ComponentResource: hosted zone, KMS keys, state bucket, shared MySQL server,
the GitHub OIDC provider and CI roles, every child parented to it."""

from __future__ import annotations

import json
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from provisioner import iam_policy
from provisioner.infra.database import SILO_ENGINE_VERSION, SILO_LIFECYCLE_SUPPORT
from provisioner.platform_outputs import ALL_OUTPUTS, CI_OUTPUTS, TENANT_OUTPUTS

from . import documents
from .settings import PlatformSettings

TYPE: Final = "facturador:platform:Platform"
ADMIN_USER: Final = "admin"
MYSQL_PORT: Final = 3306
# the MySQL 8.4 parameter group family, for the engine version the tenants' silos use
PARAMETER_FAMILY: Final = f"mysql{SILO_ENGINE_VERSION}"
# Every connection to the shared server must use TLS (the tenants' mysql provider does:
# provisioner/infra/database.py TLS_MODES).
SERVER_PARAMETERS: Final = (("require_secure_transport", "ON"),)
# RDS refuses '/', '@', '"' and spaces in a master password (CreateDBInstance MasterUserPassword)
ADMIN_PASSWORD_SPECIAL: Final = "!#$%^&*()-_=+[]{}<>:?"
KEY_DELETION_WINDOW_DAYS: Final = 30


class Platform(pulumi.ComponentResource):
    """One reseller environment's platform. `outputs` holds the stack outputs by name, exactly
    provisioner/platform_outputs.py ALL_OUTPUTS."""

    outputs: dict[str, pulumi.Output[Any]]

    def __init__(self, name: str, settings: PlatformSettings,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        self.settings = s = settings
        prefix, tags = s.prefix, s.tags
        invoke = pulumi.InvokeOptions(parent=self)
        identity = aws.get_caller_identity_output(opts=invoke)
        region = aws.get_region_output(opts=invoke).region
        account = identity.account_id

        # -- the GitHub OIDC provider and the roles (trust only; permissions at the end) ----
        trust_deps: list[pulumi.Resource] = []
        if s.oidc_provider_arn is None:
            trust_deps.append(aws.iam.OpenIdConnectProvider(
                "github-oidc", url=iam_policy.GITHUB_OIDC_URL,
                client_id_lists=[iam_policy.GITHUB_OIDC_AUDIENCE], tags=tags,
                opts=self._child()))
        roles: dict[str, aws.iam.Role] = {}
        for role in iam_policy.ROLES:
            roles[role.name] = aws.iam.Role(
                f"{role.name}-role", name=f"{prefix}-{role.name}",
                description=f"GitHub Actions: {role.name} ({s.github_repository}, "
                            f"{role.trust} + {role.permissions})",
                assume_role_policy=account.apply(
                    lambda a, r=role: iam_policy.render_json(r.trust, {
                        "ACCOUNT_ID": a, "GITHUB_REPOSITORY": s.github_repository})),
                max_session_duration=role.max_session_seconds, tags=tags,
                opts=self._child(depends_on=trust_deps))
        role_arns = pulumi.Output.all(**{n: r.arn for n, r in roles.items()})

        # -- the keys --------------------------------------------------------------------------
        def key(name: str, resource: str, description: str) -> aws.kms.Key:
            return aws.kms.Key(
                name, description=description, enable_key_rotation=True,
                deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
                policy=pulumi.Output.all(account, region, role_arns).apply(
                    lambda v: json.dumps(documents.key_policy(resource, v[0], v[1], v[2]))),
                tags=tags, opts=self._kept())

        state_key = key("state-key", documents.STATE_KEY_RESOURCE,
                        f"Pulumi state and stack secrets of {prefix}")
        tenant_key = key("tenant-secrets-key", documents.TENANT_KEY_RESOURCE,
                         f"Tenant secrets and databases of {prefix}")
        state_alias = aws.kms.Alias("state-key-alias", name=f"alias/{prefix}-pulumi-state",
                                    target_key_id=state_key.key_id, opts=self._child())
        aws.kms.Alias("tenant-secrets-key-alias", name=f"alias/{prefix}-tenant-secrets",
                      target_key_id=tenant_key.key_id, opts=self._child())

        # -- the hosted zone, created or adopted ---------------------------------------------
        if s.hosted_zone_id:  # adopted: imported as it is, its comment and tags left alone
            zone = aws.route53.Zone("hosted-zone", name=s.reseller.base_domain,
                                    opts=self._kept(import_=s.hosted_zone_id,
                                                    ignore_changes=["comment", "tags"]))
        else:
            zone = aws.route53.Zone("hosted-zone", name=s.reseller.base_domain,
                                    comment=f"Tenants of {s.reseller.base_domain} ({prefix})",
                                    tags=tags, opts=self._kept())

        # -- the state bucket ------------------------------------------------------------------
        bucket = aws.s3.Bucket("state-bucket", bucket=s.state_bucket, force_destroy=False,
                               tags=tags, opts=self._kept())
        public = aws.s3.BucketPublicAccessBlock(
            "state-bucket-public-access", bucket=bucket.id, block_public_acls=True,
            block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
            opts=self._child())
        aws.s3.BucketOwnershipControls(
            "state-bucket-ownership", bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self._child())
        aws.s3.BucketVersioning(
            "state-bucket-versioning", bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"), opts=self._child())
        aws.s3.BucketServerSideEncryptionConfiguration(
            "state-bucket-encryption", bucket=bucket.id, rules=[{
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms", "kms_master_key_id": state_key.arn},
                "bucket_key_enabled": True}], opts=self._child())
        aws.s3.BucketPolicy(
            "state-bucket-tls-only", bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(
                documents.tls_only_bucket_policy(arn))),
            opts=self._child(depends_on=[public]))  # a policy after the block, never before

        # -- the shared MySQL server -----------------------------------------------------------
        ingress = []
        if s.client_security_group_ids or s.client_cidrs:
            ingress.append(aws.ec2.SecurityGroupIngressArgs(
                description="MySQL from the app and the runners", protocol="tcp",
                from_port=MYSQL_PORT, to_port=MYSQL_PORT,
                security_groups=s.client_security_group_ids, cidr_blocks=s.client_cidrs))
        group = aws.ec2.SecurityGroup(
            "database-security-group", name=f"{prefix}-mysql", vpc_id=s.vpc_id,
            description=f"MySQL servers of {prefix}", ingress=ingress, egress=[], tags=tags,
            opts=self._child())
        subnets = aws.rds.SubnetGroup(
            "database-subnet-group", name=f"{prefix}-db", subnet_ids=s.subnet_ids,
            description=f"MySQL servers of {prefix}", tags=tags, opts=self._child())
        parameters = aws.rds.ParameterGroup(
            "mysql-parameters", name=f"{prefix}-mysql{SILO_ENGINE_VERSION.replace('.', '')}",
            family=PARAMETER_FAMILY, description=f"MySQL of {prefix}: TLS only",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=n, value=v)
                        for n, v in SERVER_PARAMETERS], tags=tags, opts=self._child())
        password = random.RandomPassword(
            "shared-mysql-admin-password", length=32, special=True,
            override_special=ADMIN_PASSWORD_SPECIAL, opts=self._child())
        secret = aws.secretsmanager.Secret(
            "shared-mysql-admin-secret", name=f"{s.reseller.database_prefix}/platform/"
                                              f"{s.environment}/mysql-admin",
            description=f"Admin of the shared MySQL server of {prefix}",
            kms_key_id=tenant_key.arn, recovery_window_in_days=30, tags=tags,
            opts=self._kept())
        server = aws.rds.Instance(
            "shared-mysql", identifier=f"{prefix}-mysql", engine="mysql",
            engine_version=SILO_ENGINE_VERSION, engine_lifecycle_support=SILO_LIFECYCLE_SUPPORT,
            instance_class=s.instance_class, allocated_storage=s.storage_gb,
            max_allocated_storage=s.storage_gb * 5, storage_type="gp3",
            storage_encrypted=True, kms_key_id=tenant_key.arn, username=ADMIN_USER,
            password=password.result, port=MYSQL_PORT, db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id], parameter_group_name=parameters.name,
            publicly_accessible=False, deletion_protection=True,
            backup_retention_period=s.backup_retention_days, copy_tags_to_snapshot=True,
            skip_final_snapshot=False, final_snapshot_identifier=f"{prefix}-mysql-final",
            auto_minor_version_upgrade=True, tags=tags,
            opts=self._kept(additional_secret_outputs=["password"]))
        aws.secretsmanager.SecretVersion(
            "shared-mysql-admin-secret-value", secret_id=secret.id,
            secret_string=pulumi.Output.secret(pulumi.Output.json_dumps({
                "engine": "mysql", "username": ADMIN_USER, "password": password.result,
                "host": server.address, "port": server.port})),
            opts=self._child())

        # -- the roles' permissions: policies/ filled in ---------------------------------------
        values = pulumi.Output.all(
            account_id=account, region=region, state_bucket=bucket.bucket,
            state_key_id=state_key.key_id, tenant_key_id=tenant_key.key_id,
            hosted_zone_id=zone.zone_id, db_subnet_group=subnets.name,
            admin_secret_arn=secret.arn).apply(lambda v: documents.permission_values(
                database_prefix=s.reseller.database_prefix,
                github_repository=s.github_repository, base_domain=s.reseller.base_domain, **v))
        for role in iam_policy.ROLES:
            aws.iam.RolePolicy(
                f"{role.name}-role-policy", name=f"{prefix}-{role.name}",
                role=roles[role.name].id,
                policy=values.apply(lambda v, r=role: iam_policy.render_json(r.permissions, v)),
                opts=self._child())

        tenant = {
            "hosted_zone_id": zone.zone_id,
            "load_balancer_dns_name": pulumi.Output.from_input(s.load_balancer_dns_name),
            "load_balancer_zone_id": pulumi.Output.from_input(s.load_balancer_zone_id),
            "shared_database_host": server.address,
            "shared_database_port": server.port,
            "shared_database_admin_secret_arn": secret.arn,
            "kms_key_id": tenant_key.arn,
            "db_subnet_group": subnets.name,
            "security_group_ids": pulumi.Output.all(group.id),
        }
        ci = {
            "backend_url": pulumi.Output.concat("s3://", bucket.bucket, "?region=", region),
            "secrets_provider": pulumi.Output.concat("awskms://", state_alias.name,
                                                     "?region=", region),
            "plan_role_arn": roles["plan"].arn,
            "apply_role_arn": roles["apply"].arn,
            "drift_role_arn": roles["drift"].arn,
        }
        self.outputs = {**{TENANT_OUTPUTS[k]: v for k, v in tenant.items()},
                        **{CI_OUTPUTS[k]: v for k, v in ci.items()}}
        assert tuple(self.outputs) == ALL_OUTPUTS, "one output per name, in order"
        self.register_outputs(dict(self.outputs))

    def _child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _kept(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """What tenants and CI depend on: protected and retained (the names of
        protected.PROTECTED, which the orchestrator's guard reads)."""
        return pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True,
                                      **kwargs)
