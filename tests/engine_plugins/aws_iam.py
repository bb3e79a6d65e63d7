"""The stand-in aws plugin's IAM resources and identity functions, for the platform stack:
the GitHub OIDC provider, roles and inline role policies, through boto3 against moto.

Replacement rules (ForceNew) of hashicorp/terraform-provider-aws, for what the program sets:
- aws_iam_openid_connect_provider (internal/service/iam/openid_connect_provider.go): `url`;
  client_id_list, thumbprint_list, tags in place; id = ARN.
- aws_iam_role (internal/service/iam/role.go): `name`, `name_prefix`, `path`;
  assume_role_policy, description, max_session_duration, tags in place; id = name.
- aws_iam_role_policy (internal/service/iam/role_policy.go): `name`, `name_prefix`, `role`;
  policy in place (PutRolePolicy again); id `<role>:<name>`.
- data aws_caller_identity, aws_region (internal/service/sts, internal/provider/meta).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from tests.engine_plugins.server import Config, Kind, NotFound

Client = Callable[..., Any]


def _tags(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())]


def _same_document(a: Any, b: Any) -> bool:
    def load(x: Any) -> Any:
        return json.loads(x) if isinstance(x, str) else x
    return bool(load(a) == load(b))


def kinds(client: Client) -> dict[str, Kind]:
    def oidc_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {"Url": p["url"], "ClientIDList": p["clientIdLists"],
                                  "Tags": _tags(p.get("tags"))}
        if p.get("thumbprintLists"):
            kwargs["ThumbprintList"] = p["thumbprintLists"]
        arn = client(c, "iam").create_open_id_connect_provider(**kwargs)[
            "OpenIDConnectProviderArn"]
        return arn, {"arn": arn, "tagsAll": p.get("tags") or {}}

    def oidc_read(c: Config, id_: str, s: dict[str, Any]
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
        iam = client(c, "iam")
        try:
            d = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=id_)
        except iam.exceptions.NoSuchEntityException:
            raise NotFound(id_) from None
        url = d["Url"] if d["Url"].startswith("https://") else "https://" + d["Url"]
        inputs = {"url": url, "clientIdLists": d.get("ClientIDList", [])}
        return {**inputs, "arn": id_}, inputs

    def oidc_delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
        iam = client(c, "iam")
        with contextlib.suppress(iam.exceptions.NoSuchEntityException):
            iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=id_)

    def role_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        r = client(c, "iam").create_role(
            RoleName=p["name"], AssumeRolePolicyDocument=p["assumeRolePolicy"],
            Description=p.get("description") or "",
            MaxSessionDuration=int(p.get("maxSessionDuration") or 3600),
            Tags=_tags(p.get("tags")))["Role"]
        return p["name"], {"arn": r["Arn"], "uniqueId": r["RoleId"],
                           "tagsAll": p.get("tags") or {}}

    def role_read(c: Config, id_: str, s: dict[str, Any]
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
        iam = client(c, "iam")
        try:
            r = iam.get_role(RoleName=id_)["Role"]
        except iam.exceptions.NoSuchEntityException:
            raise NotFound(id_) from None
        document = r["AssumeRolePolicyDocument"]
        # IAM returns the document it parsed; keep the program's text when it is the same
        if _same_document(document, s.get("assumeRolePolicy")):
            document = s["assumeRolePolicy"]
        inputs = {"name": id_, "assumeRolePolicy": document if isinstance(document, str)
                  else json.dumps(document),
                  "maxSessionDuration": int(r.get("MaxSessionDuration", 3600))}
        return {**inputs, "arn": r["Arn"], "uniqueId": r["RoleId"]}, inputs

    def role_update(c: Config, id_: str, o: dict[str, Any], n: dict[str, Any]
                    ) -> dict[str, Any]:
        iam = client(c, "iam")
        if not _same_document(o.get("assumeRolePolicy"), n["assumeRolePolicy"]):
            iam.update_assume_role_policy(RoleName=id_, PolicyDocument=n["assumeRolePolicy"])
        if (o.get("description"), o.get("maxSessionDuration")) != (
                n.get("description"), n.get("maxSessionDuration")):
            iam.update_role(RoleName=id_, Description=n.get("description") or "",
                            MaxSessionDuration=int(n.get("maxSessionDuration") or 3600))
        return {"tagsAll": n.get("tags") or {}}

    def role_delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
        iam = client(c, "iam")
        with contextlib.suppress(iam.exceptions.NoSuchEntityException):
            iam.delete_role(RoleName=id_)

    def policy_create(c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        client(c, "iam").put_role_policy(RoleName=p["role"], PolicyName=p["name"],
                                         PolicyDocument=p["policy"])
        return f"{p['role']}:{p['name']}", {}

    def policy_read(c: Config, id_: str, s: dict[str, Any]
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
        role, _, name = id_.partition(":")
        iam = client(c, "iam")
        try:
            d = iam.get_role_policy(RoleName=role, PolicyName=name)
        except iam.exceptions.NoSuchEntityException:
            raise NotFound(id_) from None
        document = d["PolicyDocument"]
        if _same_document(document, s.get("policy")):
            document = s["policy"]
        inputs = {"role": role, "name": name, "policy": document if isinstance(document, str)
                  else json.dumps(document)}
        return inputs, inputs

    def policy_update(c: Config, _id: str, _o: dict[str, Any], n: dict[str, Any]
                      ) -> dict[str, Any]:
        policy_create(c, n)
        return {}

    def policy_delete(c: Config, id_: str, _p: dict[str, Any]) -> None:
        role, _, name = id_.partition(":")
        iam = client(c, "iam")
        with contextlib.suppress(iam.exceptions.NoSuchEntityException):
            iam.delete_role_policy(RoleName=role, PolicyName=name)

    return {
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider": Kind(
            frozenset({"url"}), frozenset(), {}, oidc_create, oidc_read, None, oidc_delete,
            computed=frozenset({"arn", "tagsAll"})),
        "aws:iam/role:Role": Kind(
            frozenset({"name", "namePrefix", "path"}), frozenset(), {}, role_create, role_read,
            role_update, role_delete, computed=frozenset({"arn", "uniqueId", "tagsAll"})),
        "aws:iam/rolePolicy:RolePolicy": Kind(
            frozenset({"name", "namePrefix", "role"}), frozenset(), {}, policy_create,
            policy_read, policy_update, policy_delete),
    }


def invokes(client: Client) -> dict[str, Callable[[Config, dict[str, Any]], dict[str, Any]]]:
    def caller_identity(c: Config, _a: dict[str, Any]) -> dict[str, Any]:
        me = client(c, "sts").get_caller_identity()
        return {"accountId": me["Account"], "arn": me["Arn"], "userId": me["UserId"],
                "id": me["Account"]}

    def region(c: Config, a: dict[str, Any]) -> dict[str, Any]:
        name = a.get("region") or a.get("name") or c.get("region") or "us-east-1"
        return {"region": name, "name": name, "id": name, "description": name,
                "endpoint": f"ec2.{name}.amazonaws.com"}

    return {"aws:index/getCallerIdentity:getCallerIdentity": caller_identity,
            "aws:index/getRegion:getRegion": region}
