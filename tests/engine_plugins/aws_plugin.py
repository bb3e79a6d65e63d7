"""Stand-in for pulumi-aws's plugin: Route53 records, Secrets Manager secrets and versions and
RDS instances made through boto3 against moto's server (AWS_ENDPOINT_URL, or the provider's
`endpoints` configuration), plus the two functions the program calls.

Replacement rules (ForceNew) of hashicorp/terraform-provider-aws, for what the program sets:
- aws_route53_record (internal/service/route53/record.go): `name`, `zone_id`; `type`, `alias`,
  `records`, `ttl` update in place (an UPSERT); id `<zone>_<name>_<type>`.
- aws_secretsmanager_secret (internal/service/secretsmanager/secret.go): `name`, `name_prefix`;
  description, kms_key_id, recovery_window_in_days, tags in place; id = ARN.
- aws_secretsmanager_secret_version (secret_version.go): `secret_id`, `secret_string`,
  `secret_binary`; `secret_string` Sensitive; id `<secret_id>|<version_id>`.
- aws_db_instance (internal/service/rds/instance.go): `identifier`, `identifier_prefix`,
  `engine`, `db_name`, `username`, `kms_key_id`, `storage_encrypted`, `availability_zone`,
  `character_set_name`, `snapshot_identifier`, `timezone`; `password` Sensitive; the rest
  (instance_class, storage, backups, tags...) in place; import by identifier. Each instance is
  the run's MariaDB when the world names one (aws_rds_mysql.py): its master user an account
  there, its address and port the MariaDB's.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from typing import Any

from tests.engine_plugins import aws_iam, aws_network, aws_rds_mysql, aws_storage
from tests.engine_plugins.server import Config, Kind, NotFound, Provider, plugin_version, serve

REGION = "us-east-1"


def client(c: Config, service: str, region: str | None = None) -> Any:
    import boto3

    endpoint = None
    endpoints = c.get("endpoints") or []
    if isinstance(endpoints, str):  # a default provider's config arrives JSON-encoded
        endpoints = json.loads(endpoints)
    for entry in endpoints:
        if isinstance(entry, dict) and entry.get(service):
            endpoint = entry[service]
    return boto3.client(service, region_name=region or c.get("region") or REGION,
                        endpoint_url=endpoint or os.environ.get("AWS_ENDPOINT_URL"),
                        aws_access_key_id=c.get("accessKey") or os.environ.get(
                            "AWS_ACCESS_KEY_ID", "test"),
                        aws_secret_access_key=c.get("secretKey") or os.environ.get(
                            "AWS_SECRET_ACCESS_KEY", "test"))


def _tags(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())]


# -- aws_route53_record ------------------------------------------------------------------------

def _alias_name(name: str) -> str:  # record.go normalizeAliasDomainName
    return name.rstrip(".").lower()


def _record_set(p: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": p["name"], "Type": p["type"]}
    if p.get("aliases"):
        a = p["aliases"][0]
        out["AliasTarget"] = {"HostedZoneId": a["zoneId"], "DNSName": a["name"],
                              "EvaluateTargetHealth": bool(a["evaluateTargetHealth"])}
    else:
        out["TTL"] = int(p.get("ttl") or 300)
        out["ResourceRecords"] = [{"Value": v} for v in p.get("records") or []]
    return out


def _change(c: Config, zone: str, action: str, p: dict[str, Any]) -> None:
    client(c, "route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": action, "ResourceRecordSet": _record_set(p)}]})


def _find(c: Config, zone: str, name: str, kind: str) -> dict[str, Any] | None:
    """The record set of this name and type, if the zone has it."""
    sets = client(c, "route53").list_resource_record_sets(
        HostedZoneId=zone, StartRecordName=name, StartRecordType=kind, MaxItems="1")
    return next((r for r in sets.get("ResourceRecordSets", [])
                 if r["Name"].rstrip(".").lower() == name.rstrip(".").lower()
                 and r["Type"] == kind), None)


def record_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """record.go sends CREATE (UPSERT with allow_overwrite), which Route53 refuses for a set
    that exists. moto 5.2.6 refuses more: a CREATE equal to one in the zone's journal fails
    when any set sorts at or after it (models.py change_resource_record_sets lists sets from
    the name onward, not the name), so re-creating a deleted A record fails once its AAAA is
    back. Route53's own rule is kept here, by name and type, and the change sent as UPSERT."""
    if not p.get("allowOverwrite") and _find(c, p["zoneId"], p["name"], p["type"]):
        raise RuntimeError(f"InvalidChangeBatch: [Tried to create resource record set "
                           f"[name='{p['name']}', type='{p['type']}'] but it already exists]")
    _change(c, p["zoneId"], "UPSERT", p)
    return f"{p['zoneId']}_{p['name']}_{p['type']}", {"fqdn": p["name"].rstrip(".").lower()}


def record_read(c: Config, id_: str, s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    zone, name, kind = (s["zoneId"], s["name"], s["type"]) if s.get("zoneId") else \
        id_.split("_", 2)
    r = _find(c, zone, name, kind)
    if r is None:
        raise NotFound(id_)
    inputs: dict[str, Any] = {"zoneId": zone, "name": name, "type": kind}
    if "AliasTarget" in r:
        t = r["AliasTarget"]
        inputs["aliases"] = [{"name": _alias_name(t["DNSName"]), "zoneId": t["HostedZoneId"],
                              "evaluateTargetHealth": bool(t["EvaluateTargetHealth"])}]
    else:
        inputs["ttl"] = r.get("TTL")
        inputs["records"] = [x["Value"] for x in r.get("ResourceRecords", [])]
    return {**inputs, "fqdn": name.rstrip(".").lower()}, inputs


def record_update(c: Config, _id: str, o: dict[str, Any], n: dict[str, Any]) -> dict[str, Any]:
    if o.get("type") != n["type"]:  # record.go: a type change deletes the old set first
        _change(c, o["zoneId"], "DELETE", o)
    _change(c, n["zoneId"], "UPSERT", n)
    return {"fqdn": n["name"].rstrip(".").lower()}


def record_delete(c: Config, _id: str, p: dict[str, Any]) -> None:
    try:
        _change(c, p["zoneId"], "DELETE", p)
    except Exception as exc:  # already gone
        if "InvalidChangeBatch" not in type(exc).__name__ + str(exc):
            raise


# -- aws_secretsmanager_secret -----------------------------------------------------------------

def secret_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    sm = client(c, "secretsmanager", p.get("region"))
    kwargs: dict[str, Any] = {"Name": p["name"], "Description": p.get("description") or "",
                              "Tags": _tags(p.get("tags")),
                              "ClientRequestToken": str(uuid.uuid4())}
    if p.get("kmsKeyId"):
        kwargs["KmsKeyId"] = p["kmsKeyId"]
    arn = sm.create_secret(**kwargs)["ARN"]
    return arn, {"arn": arn, "tagsAll": p.get("tags") or {}}


def secret_read(c: Config, id_: str, s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    sm = client(c, "secretsmanager", s.get("region"))
    try:
        d = sm.describe_secret(SecretId=id_)
    except sm.exceptions.ResourceNotFoundException:
        raise NotFound(id_) from None
    if d.get("DeletedDate"):
        raise NotFound(id_)
    tags = {t["Key"]: t["Value"] for t in d.get("Tags", [])}
    inputs = {"name": d["Name"], "description": d.get("Description") or "", "tags": tags,
              **({"kmsKeyId": d["KmsKeyId"]} if d.get("KmsKeyId") else {})}
    return {**inputs, "arn": d["ARN"], "tagsAll": tags}, inputs


def secret_update(c: Config, id_: str, o: dict[str, Any], n: dict[str, Any]) -> dict[str, Any]:
    sm = client(c, "secretsmanager", n.get("region"))
    if (o.get("description"), o.get("kmsKeyId")) != (n.get("description"), n.get("kmsKeyId")):
        kwargs: dict[str, Any] = {"SecretId": id_, "Description": n.get("description") or ""}
        if n.get("kmsKeyId"):
            kwargs["KmsKeyId"] = n["kmsKeyId"]
        sm.update_secret(**kwargs)
    old, new = o.get("tags") or {}, n.get("tags") or {}
    if gone := sorted(set(old) - set(new)):
        sm.untag_resource(SecretId=id_, TagKeys=gone)
    if new != old:
        sm.tag_resource(SecretId=id_, Tags=_tags(new))
    return {"tagsAll": new}


def secret_delete(c: Config, id_: str, p: dict[str, Any]) -> None:
    sm = client(c, "secretsmanager", p.get("region"))
    days = int(p.get("recoveryWindowInDays", 30))
    kwargs = {"ForceDeleteWithoutRecovery": True} if days == 0 else {
        "RecoveryWindowInDays": days}
    with contextlib.suppress(sm.exceptions.ResourceNotFoundException):
        sm.delete_secret(SecretId=id_, **kwargs)


# -- aws_secretsmanager_secret_version ---------------------------------------------------------

def version_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    sm = client(c, "secretsmanager", p.get("region"))
    out = sm.put_secret_value(SecretId=p["secretId"], SecretString=p["secretString"],
                              ClientRequestToken=str(uuid.uuid4()))
    return f"{p['secretId']}|{out['VersionId']}", {
        "arn": out["ARN"], "versionId": out["VersionId"],
        "versionStages": out.get("VersionStages", ["AWSCURRENT"])}


def version_read(c: Config, id_: str, s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    secret_id, _, version = id_.partition("|")
    sm = client(c, "secretsmanager", s.get("region"))
    try:
        v = sm.get_secret_value(SecretId=secret_id, VersionId=version)
    except (sm.exceptions.ResourceNotFoundException, sm.exceptions.InvalidRequestException):
        raise NotFound(id_) from None
    inputs = {"secretId": secret_id, "secretString": v.get("SecretString")}
    return {**inputs, "arn": v["ARN"], "versionId": v["VersionId"],
            "versionStages": v.get("VersionStages", [])}, inputs


# -- aws_db_instance ---------------------------------------------------------------------------

RDS_SET = {"instanceClass": "DBInstanceClass", "allocatedStorage": "AllocatedStorage",
           "maxAllocatedStorage": "MaxAllocatedStorage", "storageType": "StorageType",
           "backupRetentionPeriod": "BackupRetentionPeriod",
           "deletionProtection": "DeletionProtection", "copyTagsToSnapshot": "CopyTagsToSnapshot",
           "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade",
           "publiclyAccessible": "PubliclyAccessible", "engineVersion": "EngineVersion",
           "dbSubnetGroupName": "DBSubnetGroupName",
           "vpcSecurityGroupIds": "VpcSecurityGroupIds",
           "parameterGroupName": "DBParameterGroupName"}


def _instance_outputs(d: dict[str, Any]) -> dict[str, Any]:
    """The instance's outputs: its endpoint is the MariaDB behind it when the world named one
    (aws_rds_mysql.py), else moto's (no server there)."""
    endpoint = d.get("Endpoint") or {}
    address, port = endpoint.get("Address", ""), int(endpoint.get("Port", 3306))
    out = {"address": address, "port": port, "endpoint": f"{address}:{port}",
           "arn": d["DBInstanceArn"], "engineVersionActual": d.get("EngineVersion", "")}
    server = aws_rds_mysql.backing()
    return {**out, **server.endpoint} if server is not None else out


def instance_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rds = client(c, "rds", p.get("region"))
    server = aws_rds_mysql.backing()
    if server is not None:  # refused before anything exists
        server.check_master(p["identifier"], p["username"], p["password"])
    kwargs = {aws: p[key] for key, aws in RDS_SET.items() if p.get(key) is not None}
    optional = {"DBName": p.get("dbName"), "KmsKeyId": p.get("kmsKeyId")}  # a server has none
    d = rds.create_db_instance(
        DBInstanceIdentifier=p["identifier"], Engine=p["engine"],
        MasterUsername=p["username"], MasterUserPassword=p["password"],
        StorageEncrypted=bool(p.get("storageEncrypted")), Tags=_tags(p.get("tags")),
        **{k: v for k, v in optional.items() if v is not None}, **kwargs)["DBInstance"]
    if server is not None:
        server.create_master(p["identifier"], p["username"], p["password"])
    return p["identifier"], _instance_outputs(d)


def instance_read(c: Config, id_: str, s: dict[str, Any]
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    rds = client(c, "rds", s.get("region"))
    try:
        (d,) = rds.describe_db_instances(DBInstanceIdentifier=id_)["DBInstances"]
    except rds.exceptions.DBInstanceNotFoundFault:
        raise NotFound(id_) from None
    # pulumi-aws v7 gives every regional resource a `region` (optional, computed from the
    # provider's region), which its Read sets, an import's too
    inputs = {"identifier": id_, "engine": d["Engine"], "username": d["MasterUsername"],
              "region": s.get("region") or c.get("region") or REGION,
              "storageEncrypted": bool(d.get("StorageEncrypted")),
              **({"dbName": d["DBName"]} if d.get("DBName") else {}),
              **({"kmsKeyId": d["KmsKeyId"]} if d.get("KmsKeyId") else {})}
    return {**inputs, **_instance_outputs(d)}, inputs


def instance_update(c: Config, id_: str, o: dict[str, Any], n: dict[str, Any]
                    ) -> dict[str, Any]:
    rds = client(c, "rds", n.get("region"))
    changes = {aws: n[key] for key, aws in RDS_SET.items()
               if n.get(key) is not None and n.get(key) != o.get(key)}
    if n.get("password") != o.get("password"):
        changes["MasterUserPassword"] = n["password"]
    server = aws_rds_mysql.backing()
    login_changed = (o.get("username"), o.get("password")) != (n.get("username"),
                                                                n.get("password"))
    if server is not None and login_changed:  # refused before anything changes
        server.check_master(id_, n["username"], n["password"])
    if changes:
        d = rds.modify_db_instance(DBInstanceIdentifier=id_, ApplyImmediately=True,
                                   **changes)["DBInstance"]
    else:
        (d,) = rds.describe_db_instances(DBInstanceIdentifier=id_)["DBInstances"]
    if server is not None and login_changed:
        server.alter_master(id_, o.get("username") or n["username"], n["username"],
                            n["password"])
    # always the instance's own outputs: the engine's update result is olds + news + these,
    # and a `port` input (3306) must not stand for the server's port
    return _instance_outputs(d)


def instance_delete(c: Config, id_: str, p: dict[str, Any]) -> None:
    # as resourceInstanceDelete (internal/service/rds/instance.go) asks: a final snapshot
    # unless skip_final_snapshot (default false), which then needs final_snapshot_identifier;
    # DeleteAutomatedBackups from delete_automated_backups (default true). RDS itself refuses
    # an instance with deletion protection (moto too: InvalidParameterCombination), and then
    # the master account stays.
    rds = client(c, "rds", p.get("region"))
    skip = bool(p.get("skipFinalSnapshot"))
    if not skip and not p.get("finalSnapshotIdentifier"):
        raise ValueError("final_snapshot_identifier is required when skip_final_snapshot is "
                         "false")
    rds.delete_db_instance(DBInstanceIdentifier=id_, SkipFinalSnapshot=skip,
                           DeleteAutomatedBackups=bool(p.get("deleteAutomatedBackups", True)),
                           **({"FinalDBSnapshotIdentifier": p["finalSnapshotIdentifier"]}
                              if not skip else {}))
    server = aws_rds_mysql.backing()
    if server is not None and p.get("username"):
        server.drop_master(id_, p["username"])


# -- functions ---------------------------------------------------------------------------------

def get_secret_version(c: Config, a: dict[str, Any]) -> dict[str, Any]:
    sm = client(c, "secretsmanager", a.get("region"))
    v = sm.get_secret_value(SecretId=a["secretId"],
                            **({"VersionStage": a["versionStage"]} if a.get("versionStage")
                               else {}))
    return {"arn": v["ARN"], "id": a["secretId"], "secretId": a["secretId"],
            "secretString": v.get("SecretString", ""), "secretBinary": "",
            "versionId": v["VersionId"], "versionStages": v.get("VersionStages", []),
            "createdDate": str(v.get("CreatedDate", "")), "region": a.get("region") or REGION}


def get_key(c: Config, a: dict[str, Any]) -> dict[str, Any]:
    m = client(c, "kms", a.get("region")).describe_key(KeyId=a["keyId"])["KeyMetadata"]
    return {"arn": m["Arn"], "id": m["KeyId"], "keyId": a["keyId"],
            "region": a.get("region") or REGION}


def get_instance(c: Config, a: dict[str, Any]) -> dict[str, Any]:
    """aws.rds.getInstance (data source aws_db_instance, internal/service/rds/
    instance_data_source.go): the instance by identifier, its settings as RDS describes them
    (what the adopted-instance warnings compare), the endpoint the MariaDB's when one is behind
    it."""
    rds = client(c, "rds", a.get("region"))
    (d,) = rds.describe_db_instances(DBInstanceIdentifier=a["dbInstanceIdentifier"])[
        "DBInstances"]
    outs = _instance_outputs(d)
    found = {
        "id": d["DBInstanceIdentifier"], "dbInstanceIdentifier": d["DBInstanceIdentifier"],
        "dbInstanceArn": d["DBInstanceArn"], "address": outs["address"], "port": outs["port"],
        "endpoint": outs["endpoint"], "engine": d.get("Engine"),
        "engineVersion": d.get("EngineVersion"), "dbInstanceClass": d.get("DBInstanceClass"),
        "allocatedStorage": d.get("AllocatedStorage"),
        "maxAllocatedStorage": d.get("MaxAllocatedStorage"),
        "storageType": d.get("StorageType"), "storageEncrypted": d.get("StorageEncrypted"),
        "kmsKeyId": d.get("KmsKeyId"),
        "dbSubnetGroup": (d.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
        "vpcSecurityGroups": [g["VpcSecurityGroupId"] for g in d.get("VpcSecurityGroups", [])],
        "publiclyAccessible": d.get("PubliclyAccessible"), "dbName": d.get("DBName"),
        "masterUsername": d.get("MasterUsername"),
        "backupRetentionPeriod": d.get("BackupRetentionPeriod"),
        "autoMinorVersionUpgrade": d.get("AutoMinorVersionUpgrade"),
        "region": a.get("region") or REGION}
    return {k: v for k, v in found.items() if v is not None}


PROVIDER = Provider("aws", plugin_version("pulumi_aws"), {
    "aws:route53/record:Record": Kind(
        frozenset({"name", "zoneId"}), frozenset(), {}, record_create, record_read,
        record_update, record_delete, computed=frozenset({"fqdn"})),
    "aws:secretsmanager/secret:Secret": Kind(
        frozenset({"name", "namePrefix"}), frozenset(), {"recoveryWindowInDays": 30},
        secret_create, secret_read, secret_update, secret_delete,
        computed=frozenset({"arn", "tagsAll"})),
    "aws:secretsmanager/secretVersion:SecretVersion": Kind(
        frozenset({"secretId", "secretString", "secretBinary"}), frozenset({"secretString"}),
        {}, version_create, version_read, None, None,
        computed=frozenset({"arn", "versionId", "versionStages"})),
    "aws:rds/instance:Instance": Kind(
        frozenset({"identifier", "identifierPrefix", "engine", "dbName", "username",
                   "kmsKeyId", "storageEncrypted", "availabilityZone", "characterSetName",
                   "snapshotIdentifier", "timezone"}), frozenset({"password"}), {},
        instance_create, instance_read, instance_update, instance_delete,
        computed=frozenset({"address", "port", "endpoint", "arn", "engineVersionActual"})),
}, invokes={
    "aws:secretsmanager/getSecretVersion:getSecretVersion": get_secret_version,
    "aws:kms/getKey:getKey": get_key,
    "aws:rds/getInstance:getInstance": get_instance,
})

# The platform stack's resource types and functions (tests/engine_plugins/aws_iam.py,
# aws_storage.py, aws_network.py), each module given this plugin's boto3 client.
for _module in (aws_iam, aws_storage, aws_network):
    PROVIDER.kinds.update(_module.kinds(client))
    PROVIDER.invokes.update(getattr(_module, "invokes", lambda _c: {})(client))

if __name__ == "__main__":
    serve(PROVIDER)
