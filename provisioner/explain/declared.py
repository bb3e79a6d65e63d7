"""What one tenant's stack declares, from a mock run of the program, as data and as text.

No cloud credentials, no Pulumi CLI: the program runs under the mock runtime
(`provisioner.explain.mock_runtime`) with placeholder secrets, so this is the declared state,
never a diff against what exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from provisioner.explain.mock_runtime import RecordedResource, StackRun
    from provisioner.model.models import Platform
    from provisioner.model.repository import Repository
    from provisioner.redaction import Redactor

NOTE: Final = ("Declared state from a mock run of infra/ (no cloud, no Pulumi CLI, placeholder "
               "secrets shown as ********). This is what the stack declares, not a diff against "
               "the cloud: run `pulumi preview --stack {stack}` for that.")

# The properties worth a line of text per resource type; JSON shows them all.
KEY_PROPERTIES: Final[dict[str, tuple[str, ...]]] = {
    "aws:route53/record:Record": ("name", "type", "zoneId", "aliases"),
    "random:index/randomPassword:RandomPassword": ("length", "overrideSpecial"),
    "random:index/randomString:RandomString": ("length", "special"),
    "pulumi:providers:mysql": ("endpoint", "username", "password"),
    "mysql:index/database:Database": ("name", "defaultCharacterSet"),
    "mysql:index/user:User": ("user", "host", "plaintextPassword"),
    "mysql:index/grant:Grant": ("user", "database", "privileges"),
    "aws:rds/instance:Instance": (
        "identifier", "engine", "engineVersion", "instanceClass", "dbName", "username",
        "password", "storageEncrypted", "deletionProtection", "backupRetentionPeriod",
        "finalSnapshotIdentifier"),
    "aws:secretsmanager/secret:Secret": ("name", "kmsKeyId"),
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretId", "secretString"),
    "pulumi:pulumi:StackReference": ("name",),
    # the platform stack (provisioner/platform_stack)
    "aws:route53/zone:Zone": ("name",),
    "aws:kms/key:Key": ("description", "enableKeyRotation", "deletionWindowInDays"),
    "aws:kms/alias:Alias": ("name",),
    "aws:s3/bucket:Bucket": ("bucket", "forceDestroy"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"),
    "aws:s3/bucketVersioning:BucketVersioning": ("versioningConfiguration",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "rules",),
    "aws:s3/bucketPolicy:BucketPolicy": ("bucket",),  # documents: --format json
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("rule",),
    "aws:rds/parameterGroup:ParameterGroup": ("name", "family", "parameters"),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "subnetIds"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "vpcId", "ingress", "egress"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url", "clientIdLists"),
    "aws:iam/role:Role": ("name", "maxSessionDuration"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "role"),
}


# Display order: what a reader checks first (DNS, data) before the bookkeeping.
TYPE_ORDER: Final = tuple(KEY_PROPERTIES)


def placeholder_secrets() -> dict[str, str]:
    """A value for every stack secret, so that a tenant explains before its secrets are set."""
    from provisioner.secrets import ALL_SECRETS, CERTIFICATE

    values = {s.key: f"placeholder-{s.key}" for s in ALL_SECRETS}
    values[CERTIFICATE.key] = ("-----BEGIN CERTIFICATE-----\nplaceholder\n"
                               "-----END CERTIFICATE-----\n")
    return values


def declare(stack: str, spec_dir: Path | None,
            repository: Repository | None = None) -> StackRun:
    """Run the stack's program under mocks; `repository` reuses an already loaded one."""
    from provisioner.explain import mock_runtime
    from provisioner.infra.program import main

    config: dict[str, Any] = {"specDir": str(spec_dir)} if spec_dir is not None else {}
    if repository is not None and repository.reseller is not None:
        config.update(placeholder_platform(repository.reseller.platform))
    return mock_runtime.run_stack(stack, lambda: main(repository), config=config,
                     secrets=placeholder_secrets())


def placeholder_platform(platform: Platform) -> dict[str, Any]:
    """Stack config for every platform value reseller.yaml does not give yet (and no platform
    stack will), shown as `<platform.field>`, as `render` shows the shared database host: a new
    repository explains its first tenant before the platform exists. `pulumi up` still refuses
    until they are set (provisioner/infra/platform_refs.py)."""
    from provisioner.infra.platform_refs import SOURCES

    if platform.stack_reference:
        return {}
    out: dict[str, Any] = {}
    for source in SOURCES.values():
        if source.read(platform) not in (None, ""):
            continue
        if source.output == "sharedDatabasePort":
            out[source.output] = "3306"  # stack config is text (Config.get_int parses it)
        elif source.output == "securityGroupIds":
            out[source.output] = json.dumps([f"<{source.field}>"])
        else:
            out[source.output] = f"<{source.field}>"
    return out


def _mask(resource: RecordedResource, key: str, value: Any, redactor: Redactor) -> Any:
    from provisioner.secrets import MASK

    if key in resource.secret_inputs:
        return MASK
    return redactor.value(value)  # belt and braces: a placeholder that reached a plain value


def _masked_outputs(run: StackRun, redactor: Redactor) -> dict[str, Any]:
    from provisioner.secrets import MASK

    return {k: MASK if k in run.secret_outputs else redactor.value(v)
            for k, v in run.outputs.items()}


def _short(value: Any) -> str:
    if isinstance(value, list):
        if value and isinstance(value[0], dict) and "name" in value[0]:
            return ",".join(str(v["name"]) for v in value)
        return f"[{len(value)}]" if len(value) > 3 else ",".join(map(str, value))
    return str(value)


def as_data(run: StackRun) -> dict[str, Any]:
    from provisioner.redaction import Redactor

    redactor = Redactor(placeholder_secrets().values())
    resources = []
    order = {t: i for i, t in enumerate(TYPE_ORDER)}
    for r in sorted((r for r in run.resources if r.custom),
                    key=lambda r: (order.get(r.type, len(order)), r.name)):
        resources.append({
            "type": r.type, "name": r.name, "parent": r.parent_name,
            "protect": r.protect, "retain_on_delete": r.retain_on_delete,
            "read_only": r.read,
            "secret_properties": sorted(r.secret_inputs),
            "properties": {k: _mask(r, k, v, redactor) for k, v in sorted(r.inputs.items())},
        })
    return {"stack": run.stack, "note": NOTE.format(stack=run.stack),
            "declared_state_only": True, "resources": resources,
            "outputs": _masked_outputs(run, redactor)}


def _key_props(resource: dict[str, Any]) -> str:
    props = resource["properties"]
    keys = KEY_PROPERTIES.get(resource["type"], tuple(props))
    return " ".join(f"{k}={_short(props[k])}" for k in keys if k in props)


def _protection(resource: dict[str, Any]) -> str:
    if resource["read_only"]:
        return "read"
    if resource["protect"]:
        return "protected" + (", retained" if resource["retain_on_delete"] else "")
    return "retained" if resource["retain_on_delete"] else "-"


def format_text(data: dict[str, Any]) -> str:
    lines = [data["note"], "", f"stack {data['stack']}: {len(data['resources'])} resources"]
    for r in data["resources"]:
        lines.append(f"  {r['type']}  {r['name']}  [{_protection(r)}]")
        lines.append(f"      {_key_props(r)}")
    lines += ["", "outputs:"]
    for key, value in data["outputs"].items():
        if isinstance(value, dict):
            lines.append(f"  {key}:")
            lines += [f"    {k}: {v}" for k, v in value.items()]
        else:
            lines.append(f"  {key}: {value}")
    return "\n".join(lines)


def format_markdown(data: dict[str, Any]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [f"## Stack `{data['stack']}`", "", f"> {data['note']}", "",
             "| type | name | protection | key properties |", "|---|---|---|---|"]
    lines += [f"| `{r['type']}` | `{r['name']}` | {_protection(r)} | {cell(_key_props(r))} |"
              for r in data["resources"]]
    lines += ["", "| output | value |", "|---|---|"]
    for key, value in data["outputs"].items():
        text = "<br>".join(f"{k}: {v}" for k, v in value.items()) if isinstance(
            value, dict) else str(value)
        lines.append(f"| `{key}` | {cell(text)} |")
    return "\n".join(lines)
