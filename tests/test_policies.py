"""The IAM policies in policies/: valid documents, least privilege, and covering every API call
the Pulumi program's resources, the state backend and the secrets provider make; the trust
policies admit exactly the GitHub environments the workflows use."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
WORKFLOWS = ROOT / ".github" / "workflows"

# What each AWS call site of the program needs, for an apply (create, update, delete, read)
# and for a plan or a drift check (preview; preview-only refresh reads every resource).
# Keys are `module.Name` as written in infra/ (pulumi-aws v7, i.e. the Terraform AWS provider's
# calls). A new resource type or data source in infra/ fails the coverage test until it is
# listed here and granted in the policies.
CALLS: dict[str, dict[str, set[str]]] = {
    "route53.Record": {
        "apply": {"route53:ChangeResourceRecordSets", "route53:GetChange",
                  "route53:ListResourceRecordSets", "route53:GetHostedZone"},
        "plan": {"route53:ListResourceRecordSets", "route53:GetHostedZone"},
    },
    "secretsmanager.Secret": {
        "apply": {"secretsmanager:CreateSecret", "secretsmanager:DescribeSecret",
                  "secretsmanager:GetResourcePolicy", "secretsmanager:UpdateSecret",
                  "secretsmanager:DeleteSecret", "secretsmanager:TagResource",
                  "secretsmanager:UntagResource"},
        "plan": {"secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"},
    },
    "secretsmanager.SecretVersion": {
        "apply": {"secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue",
                  "secretsmanager:ListSecretVersionIds",
                  "secretsmanager:UpdateSecretVersionStage"},
        "plan": {"secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds"},
    },
    "secretsmanager.get_secret_version_output": {
        "apply": {"secretsmanager:GetSecretValue"}, "plan": {"secretsmanager:GetSecretValue"},
    },
    "kms.get_key_output": {"apply": {"kms:DescribeKey"}, "plan": {"kms:DescribeKey"}},
    # an adopted silo instance, looked up to warn about the settings it keeps
    "rds.get_instance_output": {"apply": {"rds:DescribeDBInstances"},
                                "plan": {"rds:DescribeDBInstances"}},
    "rds.Instance": {
        "apply": {"rds:CreateDBInstance", "rds:DescribeDBInstances", "rds:ModifyDBInstance",
                  "rds:DeleteDBInstance", "rds:AddTagsToResource",
                  "rds:RemoveTagsFromResource", "rds:ListTagsForResource",
                  "kms:CreateGrant", "kms:DescribeKey"},
        "plan": {"rds:DescribeDBInstances", "rds:ListTagsForResource"},
    },
}
# Not a resource: the provider's account lookup, the S3 state backend, the awskms:// secrets
# provider (a new stack's data key is encrypted with kms:Encrypt, read back with kms:Decrypt).
ALWAYS = {
    "apply": {"sts:GetCallerIdentity", "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
              "s3:ListBucket", "kms:Encrypt", "kms:Decrypt"},
    "plan": {"sts:GetCallerIdentity", "s3:GetObject", "s3:ListBucket", "kms:Decrypt",
             "s3:PutObject"},  # lock files only, see test below
}
ROLE_FILES = {"apply": "apply-role.json", "plan": "plan-role.json"}


def _load(name: str) -> dict[str, Any]:
    return json.loads((POLICIES / name).read_text(encoding="utf-8"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _granted(policy: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(a, _as_list(s["Resource"])) for s in policy["Statement"] if s["Effect"] == "Allow"
            for a in _as_list(s["Action"])]


def _allows(policy: dict[str, Any], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern, _ in _granted(policy))


def _call_sites() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "provisioner" / "infra").glob("*.py"):
        if path.name == "mocks.py":
            continue
        text = path.read_text(encoding="utf-8")
        found.update(m for m in re.findall(r"\baws\.([a-z0-9_]+\.[A-Za-z_0-9]+)\(", text)
                     if not m.split(".")[1].endswith("Args"))
    return found


@pytest.mark.parametrize("name", sorted(p.name for p in POLICIES.glob("*.json")))
def test_every_policy_is_a_valid_document(name: str) -> None:
    policy = _load(name)
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids)), "Sids name each grant once"
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z*]+", action), action
            assert "*" not in action, f"{name}: wildcard action {action}"


@pytest.mark.parametrize("role", sorted(ROLE_FILES))
def test_role_covers_every_call_the_program_makes(role: str) -> None:
    sites = _call_sites()
    assert sites, "no AWS call sites found in infra/"
    unknown = sites - CALLS.keys()
    assert not unknown, f"infra/ calls AWS through {sorted(unknown)}: list their IAM actions"
    policy = _load(ROLE_FILES[role])
    needed = set(ALWAYS[role]).union(*(CALLS[s][role] for s in sites))
    missing = sorted(a for a in needed if not _allows(policy, a))
    assert not missing, f"{ROLE_FILES[role]} lacks {missing}"


def test_plan_role_cannot_change_anything() -> None:
    """Least privilege: the plan role writes only state lock files and changes no resource."""
    policy = _load("plan-role.json")
    verbs = ("Create", "Put", "Update", "Delete", "Modify", "Change", "Tag", "Untag", "Add",
             "Remove")
    writes = {a for c in CALLS.values() for a in c["apply"]
              if a.split(":")[1].startswith(verbs)}
    assert len(writes) > 10
    assert not [a for a in writes if _allows(policy, a)]
    assert not _allows(policy, "kms:Encrypt")
    for action, resources in _granted(policy):
        if action in ("s3:PutObject", "s3:DeleteObject"):
            assert all(r.endswith("/.pulumi/locks/*") for r in resources), resources
        if "*" in resources:
            assert action == "sts:GetCallerIdentity"


def test_only_the_account_lookup_is_unscoped() -> None:
    for name in ROLE_FILES.values():
        for action, resources in _granted(_load(name)):
            assert "*" not in resources or action == "sts:GetCallerIdentity", (name, action)


def _workflow_environments() -> dict[str, set[str]]:
    """environment names of the jobs that ask for an OIDC token, by role variable."""
    out: dict[str, set[str]] = {"AWS_PLAN_ROLE_ARN": set(), "AWS_APPLY_ROLE_ARN": set()}
    for path in WORKFLOWS.glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job in data["jobs"].values():
            if (job.get("permissions") or {}).get("id-token") != "write":
                continue
            env = str(job.get("environment", ""))
            names = set(re.findall(r"'([a-z-]+)'", env)) - {"true", "false"} or {env}
            roles = {m for step in job["steps"] for m in re.findall(
                r"vars\.(AWS_[A-Z_]+_ROLE_ARN)",
                str((step.get("with") or {}).get("role-to-assume", "")))}
            assert len(roles) == 1, f"{path.name}: one role per job"
            out[roles.pop()] |= names
    return out


def test_trust_policies_admit_exactly_the_workflow_environments() -> None:
    """With `environment:` the OIDC subject is repo:OWNER/REPO:environment:NAME (not the
    branch or pull_request form), so the trust policy lists those names and nothing else."""
    used = _workflow_environments()
    for role, trust in (("AWS_PLAN_ROLE_ARN", "trust-plan.json"),
                        ("AWS_APPLY_ROLE_ARN", "trust-apply.json")):
        policy = _load(trust)
        (statement,) = policy["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        condition = statement["Condition"]["StringEquals"]
        assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
        subjects = _as_list(condition["token.actions.githubusercontent.com:sub"])
        assert {s.rsplit(":environment:", 1)[1] for s in subjects} == used[role]
        assert all(s.startswith("repo:${GITHUB_REPOSITORY}:environment:") for s in subjects)
    assert not used["AWS_PLAN_ROLE_ARN"] & used["AWS_APPLY_ROLE_ARN"]
