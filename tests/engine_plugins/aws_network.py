"""The stand-in aws plugin's hosted zone, security group, RDS subnet group and parameter
group, for the platform stack, through boto3 against moto.

Replacement rules (ForceNew) of hashicorp/terraform-provider-aws, for what the program sets:
- aws_route53_zone (internal/service/route53/zone.go): `name`, `delegation_set_id`; comment,
  tags, force_destroy in place; id = zone id; import by zone id.
- aws_security_group (internal/service/ec2/vpc_security_group.go): `name`, `name_prefix`,
  `description`, `vpc_id`; ingress, egress, tags in place (revoke + authorize); id = group id.
- aws_db_subnet_group (internal/service/rds/subnet_group.go): `name`, `name_prefix`;
  description, subnet_ids, tags in place; id = name.
- aws_db_parameter_group (internal/service/rds/parameter_group.go): `name`, `name_prefix`,
  `family`, `description`; parameter, tags in place; id = name.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from tests.engine_plugins.server import Config, Kind, NotFound

Client = Callable[..., Any]


def _tags(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())]


def _permissions(rules: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for r in rules or []:
        out.append({"IpProtocol": r.get("protocol", "tcp"), "FromPort": int(r["fromPort"]),
                    "ToPort": int(r["toPort"]),
                    "UserIdGroupPairs": [{"GroupId": g} for g in r.get("securityGroups") or []],
                    "IpRanges": [{"CidrIp": c} for c in r.get("cidrBlocks") or []]})
    return out


def kinds(client: Client) -> dict[str, Kind]:
    # -- aws_route53_zone --------------------------------------------------------------------
    def zone_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        r53 = client(c, "route53")
        z = r53.create_hosted_zone(Name=p["name"], CallerReference=str(uuid.uuid4()),
                                   HostedZoneConfig={"Comment": p.get("comment") or ""})
        zone_id = z["HostedZone"]["Id"].rsplit("/", 1)[-1]
        if p.get("tags"):
            r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id,
                                         AddTags=_tags(p["tags"]))
        return zone_id, {"zoneId": zone_id, "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
                         "nameServers": z["DelegationSet"]["NameServers"],
                         "tagsAll": p.get("tags") or {}}

    def zone_read(c: Config, id_: str, s: dict[str, Any]
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
        r53 = client(c, "route53")
        try:
            z = r53.get_hosted_zone(Id=id_)
        except r53.exceptions.NoSuchHostedZone:
            raise NotFound(id_) from None
        inputs = {"name": z["HostedZone"]["Name"].rstrip(".")}
        return {**inputs, "zoneId": id_, "arn": f"arn:aws:route53:::hostedzone/{id_}",
                "comment": z["HostedZone"].get("Config", {}).get("Comment", ""),
                "nameServers": z.get("DelegationSet", {}).get("NameServers", [])}, inputs

    def zone_update(c: Config, id_: str, o: dict[str, Any], n: dict[str, Any]
                    ) -> dict[str, Any]:
        if o.get("comment") != n.get("comment") and "comment" in n:
            client(c, "route53").update_hosted_zone_comment(Id=id_,
                                                            Comment=n.get("comment") or "")
        return {"tagsAll": n.get("tags") or {}}

    def zone_delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
        r53 = client(c, "route53")
        with contextlib.suppress(r53.exceptions.NoSuchHostedZone):
            r53.delete_hosted_zone(Id=id_)

    # -- aws_security_group ------------------------------------------------------------------
    def group_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = client(c, "ec2")
        group = ec2.create_security_group(
            GroupName=p["name"], Description=p.get("description") or "Managed by Pulumi",
            VpcId=p["vpcId"], TagSpecifications=[{"ResourceType": "security-group",
                                                  "Tags": _tags(p.get("tags"))}]
            if p.get("tags") else [])["GroupId"]
        if p.get("ingress"):
            ec2.authorize_security_group_ingress(GroupId=group,
                                                 IpPermissions=_permissions(p["ingress"]))
        _set_egress(ec2, group, p.get("egress"))
        return group, {"arn": f"arn:aws:ec2:us-east-1:123456789012:security-group/{group}",
                       "ownerId": "123456789012", "tagsAll": p.get("tags") or {}}

    def _set_egress(ec2: Any, group: str, egress: list[dict[str, Any]] | None) -> None:
        """terraform: `egress = []` removes the default allow-all rule AWS adds."""
        current = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
        if current.get("IpPermissionsEgress"):
            ec2.revoke_security_group_egress(GroupId=group,
                                             IpPermissions=current["IpPermissionsEgress"])
        if egress:
            ec2.authorize_security_group_egress(GroupId=group,
                                                IpPermissions=_permissions(egress))

    def group_read(c: Config, id_: str, s: dict[str, Any]
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
        ec2 = client(c, "ec2")
        try:
            (g,) = ec2.describe_security_groups(GroupIds=[id_])["SecurityGroups"]
        except Exception as exc:
            if "InvalidGroup.NotFound" in str(exc):
                raise NotFound(id_) from None
            raise
        inputs = {"name": g["GroupName"], "description": g.get("Description", ""),
                  "vpcId": g.get("VpcId", "")}
        return {**s, **inputs}, inputs

    def group_update(c: Config, id_: str, o: dict[str, Any], n: dict[str, Any]
                     ) -> dict[str, Any]:
        ec2 = client(c, "ec2")
        if o.get("ingress") != n.get("ingress"):
            if o.get("ingress"):
                ec2.revoke_security_group_ingress(GroupId=id_,
                                                  IpPermissions=_permissions(o["ingress"]))
            if n.get("ingress"):
                ec2.authorize_security_group_ingress(GroupId=id_,
                                                     IpPermissions=_permissions(n["ingress"]))
        if o.get("egress") != n.get("egress"):
            _set_egress(ec2, id_, n.get("egress"))
        return {"tagsAll": n.get("tags") or {}}

    def group_delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            client(c, "ec2").delete_security_group(GroupId=id_)

    # -- aws_db_subnet_group -----------------------------------------------------------------
    def subnets_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        g = client(c, "rds").create_db_subnet_group(
            DBSubnetGroupName=p["name"],
            DBSubnetGroupDescription=p.get("description") or "Managed by Pulumi",
            SubnetIds=p["subnetIds"], Tags=_tags(p.get("tags")))["DBSubnetGroup"]
        return p["name"], {"arn": g["DBSubnetGroupArn"], "vpcId": g.get("VpcId", ""),
                           "tagsAll": p.get("tags") or {}}

    def subnets_read(c: Config, id_: str, s: dict[str, Any]
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
        rds = client(c, "rds")
        try:
            (g,) = rds.describe_db_subnet_groups(DBSubnetGroupName=id_)["DBSubnetGroups"]
        except rds.exceptions.DBSubnetGroupNotFoundFault:
            raise NotFound(id_) from None
        inputs = {"name": id_, "subnetIds": sorted(x["SubnetIdentifier"]
                                                   for x in g.get("Subnets", []))}
        return {**s, **inputs, "arn": g["DBSubnetGroupArn"]}, inputs

    def subnets_update(c: Config, id_: str, _o: dict[str, Any], n: dict[str, Any]
                       ) -> dict[str, Any]:
        client(c, "rds").modify_db_subnet_group(
            DBSubnetGroupName=id_, SubnetIds=n["subnetIds"],
            DBSubnetGroupDescription=n.get("description") or "Managed by Pulumi")
        return {"tagsAll": n.get("tags") or {}}

    def subnets_delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            client(c, "rds").delete_db_subnet_group(DBSubnetGroupName=id_)

    # -- aws_db_parameter_group --------------------------------------------------------------
    def _parameters(rds: Any, name: str, params: list[dict[str, Any]] | None) -> None:
        if params:
            rds.modify_db_parameter_group(DBParameterGroupName=name, Parameters=[
                {"ParameterName": x["name"], "ParameterValue": str(x["value"]),
                 "ApplyMethod": x.get("applyMethod") or "immediate"} for x in params])

    def params_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        rds = client(c, "rds")
        g = rds.create_db_parameter_group(
            DBParameterGroupName=p["name"], DBParameterGroupFamily=p["family"],
            Description=p.get("description") or "Managed by Pulumi",
            Tags=_tags(p.get("tags")))["DBParameterGroup"]
        _parameters(rds, p["name"], p.get("parameters"))
        return p["name"], {"arn": g["DBParameterGroupArn"], "tagsAll": p.get("tags") or {}}

    def params_read(c: Config, id_: str, s: dict[str, Any]
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
        rds = client(c, "rds")
        try:
            (g,) = rds.describe_db_parameter_groups(DBParameterGroupName=id_)[
                "DBParameterGroups"]
        except rds.exceptions.DBParameterGroupNotFoundFault:
            raise NotFound(id_) from None
        inputs = {"name": id_, "family": g["DBParameterGroupFamily"]}
        return {**s, **inputs, "arn": g["DBParameterGroupArn"]}, inputs

    def params_update(c: Config, id_: str, _o: dict[str, Any], n: dict[str, Any]
                      ) -> dict[str, Any]:
        _parameters(client(c, "rds"), id_, n.get("parameters"))
        return {"tagsAll": n.get("tags") or {}}

    def params_delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            client(c, "rds").delete_db_parameter_group(DBParameterGroupName=id_)

    return {
        "aws:route53/zone:Zone": Kind(
            frozenset({"name", "delegationSetId"}), frozenset(), {"forceDestroy": False},
            zone_create, zone_read, zone_update, zone_delete,
            computed=frozenset({"zoneId", "arn", "nameServers", "tagsAll"})),
        "aws:ec2/securityGroup:SecurityGroup": Kind(
            frozenset({"name", "namePrefix", "description", "vpcId"}), frozenset(), {},
            group_create, group_read, group_update, group_delete,
            computed=frozenset({"arn", "ownerId", "tagsAll"})),
        "aws:rds/subnetGroup:SubnetGroup": Kind(
            frozenset({"name", "namePrefix"}), frozenset(), {}, subnets_create, subnets_read,
            subnets_update, subnets_delete, computed=frozenset({"arn", "vpcId", "tagsAll"})),
        "aws:rds/parameterGroup:ParameterGroup": Kind(
            frozenset({"name", "namePrefix", "family", "description"}), frozenset(), {},
            params_create, params_read, params_update, params_delete,
            computed=frozenset({"arn", "tagsAll"})),
    }
