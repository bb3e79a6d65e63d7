"""The stand-in aws plugin's S3 bucket (and its configuration resources) and KMS keys and
aliases, for the platform stack, through boto3 against moto.

Replacement rules (ForceNew) of hashicorp/terraform-provider-aws, for what the program sets:
- aws_s3_bucket (internal/service/s3/bucket.go): `bucket`, `bucket_prefix`,
  `object_lock_enabled`; force_destroy, tags in place; id = bucket name.
- aws_s3_bucket_public_access_block, _ownership_controls, _policy (bucket_*.go): `bucket`;
  the rest in place (a Put of the whole configuration); id = bucket name.
- aws_s3_bucket_versioning, _server_side_encryption_configuration: `bucket`,
  `expected_bucket_owner`; the rest in place; id = bucket name.
- aws_kms_key (internal/service/kms/key.go): `customer_master_key_spec`, `key_usage`,
  `multi_region`, `custom_key_store_id`, `xks_key_id`; description, policy,
  enable_key_rotation, deletion_window_in_days, tags in place; id = key id.
- aws_kms_alias (internal/service/kms/alias.go): `name`, `name_prefix`; target_key_id in
  place (UpdateAlias); id = name.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from tests.engine_plugins.server import Config, Kind, NotFound

Client = Callable[..., Any]
BUCKET_ONLY = frozenset({"bucket"})
BUCKET_AND_OWNER = frozenset({"bucket", "expectedBucketOwner"})


def _tags(tags: dict[str, str] | None, key: str = "Key", value: str = "Value"
          ) -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted((tags or {}).items())]


def kinds(client: Client) -> dict[str, Kind]:
    def s3(c: Config) -> Any:
        return client(c, "s3")

    # -- aws_s3_bucket -----------------------------------------------------------------------
    def bucket_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = p["bucket"]
        s3(c).create_bucket(Bucket=name)
        if p.get("tags"):
            s3(c).put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(p["tags"])})
        return name, {"arn": f"arn:aws:s3:::{name}", "bucketDomainName":
                      f"{name}.s3.amazonaws.com", "tagsAll": p.get("tags") or {}}

    def bucket_read(c: Config, id_: str, s: dict[str, Any]
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            s3(c).head_bucket(Bucket=id_)
        except Exception as exc:
            if "404" in str(exc) or "NoSuchBucket" in str(exc):
                raise NotFound(id_) from None
            raise
        inputs = {"bucket": id_}
        return {**inputs, "arn": f"arn:aws:s3:::{id_}"}, inputs

    def bucket_update(c: Config, id_: str, _o: dict[str, Any], n: dict[str, Any]
                      ) -> dict[str, Any]:
        s3(c).put_bucket_tagging(Bucket=id_, Tagging={"TagSet": _tags(n.get("tags"))})
        return {"tagsAll": n.get("tags") or {}}

    def bucket_delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
        s3(c).delete_bucket(Bucket=id_)

    # -- the bucket's configuration: one Put of the whole of it, by bucket name ---------------
    def configuration(put: Callable[[Any, dict[str, Any]], None],
                      get: Callable[[Any, str], dict[str, Any]],
                      remove: Callable[[Any, str], None] | None, force_new: frozenset[str]
                      ) -> Kind:
        def create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            put(s3(c), p)
            return p["bucket"], {}

        def read(c: Config, id_: str, s: dict[str, Any]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
            try:
                found = get(s3(c), id_)
            except Exception as exc:
                if "NoSuch" in str(exc) or "NotFound" in str(exc):
                    raise NotFound(id_) from None
                raise
            inputs = {**s, "bucket": id_, **found}
            return inputs, inputs

        def update(c: Config, _id: str, _o: dict[str, Any], n: dict[str, Any]
                   ) -> dict[str, Any]:
            put(s3(c), n)
            return {}

        def delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
            if remove is not None:
                with contextlib.suppress(Exception):
                    remove(s3(c), id_)

        return Kind(force_new, frozenset(), {}, create, read, update, delete)

    public_keys = {"blockPublicAcls": "BlockPublicAcls",
                   "blockPublicPolicy": "BlockPublicPolicy",
                   "ignorePublicAcls": "IgnorePublicAcls",
                   "restrictPublicBuckets": "RestrictPublicBuckets"}

    def sse_rules(p: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for rule in p.get("rules") or []:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            entry: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": default.get("sseAlgorithm"),
                **({"KMSMasterKeyID": default["kmsMasterKeyId"]}
                   if default.get("kmsMasterKeyId") else {})}}
            if "bucketKeyEnabled" in rule:
                entry["BucketKeyEnabled"] = bool(rule["bucketKeyEnabled"])
            out.append(entry)
        return out

    # -- aws_kms_key -------------------------------------------------------------------------
    def kms(c: Config) -> Any:
        return client(c, "kms")

    def key_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {"Description": p.get("description") or "",
                                  "Tags": _tags(p.get("tags"), "TagKey", "TagValue")}
        if p.get("policy"):
            kwargs["Policy"] = p["policy"]
        m = kms(c).create_key(**kwargs)["KeyMetadata"]
        if p.get("enableKeyRotation"):
            kms(c).enable_key_rotation(KeyId=m["KeyId"])
        return m["KeyId"], {"keyId": m["KeyId"], "arn": m["Arn"],
                            "tagsAll": p.get("tags") or {}}

    def key_read(c: Config, id_: str, s: dict[str, Any]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            m = kms(c).describe_key(KeyId=id_)["KeyMetadata"]
        except kms(c).exceptions.NotFoundException:
            raise NotFound(id_) from None
        if m.get("KeyState") == "PendingDeletion":
            raise NotFound(id_)
        policy = kms(c).get_key_policy(KeyId=id_, PolicyName="default")["Policy"]
        if s.get("policy") and json.loads(policy) == json.loads(s["policy"]):
            policy = s["policy"]
        rotation = kms(c).get_key_rotation_status(KeyId=id_)["KeyRotationEnabled"]
        inputs = {"description": m.get("Description", ""), "policy": policy,
                  "enableKeyRotation": bool(rotation)}
        return {**inputs, "keyId": id_, "arn": m["Arn"]}, inputs

    def key_update(c: Config, id_: str, o: dict[str, Any], n: dict[str, Any]
                   ) -> dict[str, Any]:
        if o.get("policy") != n.get("policy") and n.get("policy"):
            kms(c).put_key_policy(KeyId=id_, PolicyName="default", Policy=n["policy"])
        if o.get("description") != n.get("description"):
            kms(c).update_key_description(KeyId=id_, Description=n.get("description") or "")
        if bool(o.get("enableKeyRotation")) != bool(n.get("enableKeyRotation")):
            (kms(c).enable_key_rotation if n.get("enableKeyRotation")
             else kms(c).disable_key_rotation)(KeyId=id_)
        return {"tagsAll": n.get("tags") or {}}

    def key_delete(c: Config, id_: str, p: dict[str, Any]) -> None:
        kms(c).schedule_key_deletion(KeyId=id_,
                                     PendingWindowInDays=int(p.get("deletionWindowInDays", 30)))

    # -- aws_kms_alias -----------------------------------------------------------------------
    def alias_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kms(c).create_alias(AliasName=p["name"], TargetKeyId=p["targetKeyId"])
        return p["name"], {"arn": f"arn:aws:kms:{c.get('region') or 'us-east-1'}:"
                                  f"123456789012:{p['name']}"}

    def alias_read(c: Config, id_: str, s: dict[str, Any]
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
        found = [a for a in kms(c).list_aliases()["Aliases"] if a["AliasName"] == id_]
        if not found:
            raise NotFound(id_)
        inputs = {"name": id_, "targetKeyId": found[0].get("TargetKeyId")}
        return {**inputs, "arn": found[0]["AliasArn"]}, inputs

    def alias_update(c: Config, id_: str, _o: dict[str, Any], n: dict[str, Any]
                     ) -> dict[str, Any]:
        kms(c).update_alias(AliasName=id_, TargetKeyId=n["targetKeyId"])
        return {}

    def alias_delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            kms(c).delete_alias(AliasName=id_)

    return {
        "aws:s3/bucket:Bucket": Kind(
            frozenset({"bucket", "bucketPrefix", "objectLockEnabled"}), frozenset(),
            {"forceDestroy": False}, bucket_create, bucket_read, bucket_update, bucket_delete,
            computed=frozenset({"arn", "bucketDomainName", "tagsAll"})),
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": configuration(
            lambda s, p: s.put_public_access_block(
                Bucket=p["bucket"], PublicAccessBlockConfiguration={
                    aws: bool(p.get(k)) for k, aws in public_keys.items()}),
            lambda s, b: {k: s.get_public_access_block(Bucket=b)[
                "PublicAccessBlockConfiguration"][aws] for k, aws in public_keys.items()},
            lambda s, b: s.delete_public_access_block(Bucket=b), BUCKET_ONLY),
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": configuration(
            lambda s, p: s.put_bucket_ownership_controls(
                Bucket=p["bucket"], OwnershipControls={"Rules": [
                    {"ObjectOwnership": p["rule"]["objectOwnership"]}]}),
            lambda s, b: {"rule": {"objectOwnership": s.get_bucket_ownership_controls(
                Bucket=b)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]}},
            lambda s, b: s.delete_bucket_ownership_controls(Bucket=b), BUCKET_ONLY),
        "aws:s3/bucketVersioning:BucketVersioning": configuration(
            lambda s, p: s.put_bucket_versioning(
                Bucket=p["bucket"], VersioningConfiguration={
                    "Status": p["versioningConfiguration"]["status"]}),
            lambda s, b: {"versioningConfiguration": {
                "status": s.get_bucket_versioning(Bucket=b).get("Status", "Suspended")}},
            # terraform: deleting the resource suspends versioning (it cannot be removed)
            lambda s, b: s.put_bucket_versioning(
                Bucket=b, VersioningConfiguration={"Status": "Suspended"}), BUCKET_AND_OWNER),
        "aws:s3/bucketServerSideEncryptionConfiguration:"
        "BucketServerSideEncryptionConfiguration": configuration(
            lambda s, p: s.put_bucket_encryption(
                Bucket=p["bucket"],
                ServerSideEncryptionConfiguration={"Rules": sse_rules(p)}),
            lambda s, b: {}, lambda s, b: s.delete_bucket_encryption(Bucket=b),
            BUCKET_AND_OWNER),
        "aws:s3/bucketPolicy:BucketPolicy": configuration(
            lambda s, p: s.put_bucket_policy(Bucket=p["bucket"], Policy=p["policy"]),
            lambda s, b: {}, lambda s, b: s.delete_bucket_policy(Bucket=b), BUCKET_ONLY),
        "aws:kms/key:Key": Kind(
            frozenset({"customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId",
                       "xksKeyId"}), frozenset(), {}, key_create, key_read, key_update,
            key_delete, computed=frozenset({"keyId", "arn", "tagsAll"})),
        "aws:kms/alias:Alias": Kind(
            frozenset({"name", "namePrefix"}), frozenset(), {}, alias_create, alias_read,
            alias_update, alias_delete, computed=frozenset({"arn"})),
    }
