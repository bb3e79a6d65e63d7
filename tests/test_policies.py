"""The IAM policies in policies/: valid documents, least privilege, and covering every API call
the Pulumi program's resources, the state backend and the secrets provider make; the trust
policies admit exactly the GitHub environments the workflows use."""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from provisioner import iam_policy
from provisioner.iam_policy import ROLES

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
# The state bucket is SSE-KMS with the state key (provisioner/platform_stack): S3 asks KMS for
# a data key on every PutObject and decrypts on every GetObject, as the caller.
ALWAYS = {
    "apply": {"sts:GetCallerIdentity", "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
              "s3:ListBucket", "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"},
    "plan": {"sts:GetCallerIdentity", "s3:GetObject", "s3:ListBucket", "kms:Decrypt",
             "s3:PutObject", "kms:GenerateDataKey"},  # lock files only, see test below
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


def _workflow_jobs() -> list[tuple[str, set[str], str, int]]:
    """(role variable, environment names, workflow, role-duration-seconds) of each job that
    asks for an OIDC token."""
    out = []
    for path in WORKFLOWS.glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job in data["jobs"].values():
            if (job.get("permissions") or {}).get("id-token") != "write":
                continue
            env = str(job.get("environment", ""))
            names = set(re.findall(r"'([a-z-]+)'", env)) - {"true", "false"} or {env}
            steps = [step for step in job["steps"]
                     if "role-to-assume" in (step.get("with") or {})]
            roles = {m for step in steps for m in re.findall(
                r"vars\.(AWS_[A-Z_]+_ROLE_ARN)", str(step["with"]["role-to-assume"]))}
            assert len(roles) == 1, f"{path.name}: one role per job"
            seconds = max(int(step["with"].get("role-duration-seconds", 3600))
                          for step in steps)
            out.append((roles.pop(), names, path.name, seconds))
    return out


def _workflow_environments() -> dict[str, set[str]]:
    """environment names of the jobs that ask for an OIDC token, by role variable."""
    out: dict[str, set[str]] = {role.variable: set() for role in ROLES}
    for variable, names, workflow, _ in _workflow_jobs():
        assert variable in out, f"{workflow}: {variable} is no role of iam_policy.ROLES"
        out[variable] |= names
    return out


def test_trust_policies_admit_exactly_the_workflow_environments() -> None:
    """With `environment:` the OIDC subject is repo:OWNER/REPO:environment:NAME (not the
    branch or pull_request form), so the trust policy lists those names and nothing else."""
    used = _workflow_environments()
    for role in ROLES:
        policy = _load(role.trust)
        (statement,) = policy["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        condition = statement["Condition"]["StringEquals"]
        assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
        subjects = _as_list(condition["token.actions.githubusercontent.com:sub"])
        assert {s.rsplit(":environment:", 1)[1] for s in subjects} == used[role.variable]
        assert all(s.startswith("repo:${GITHUB_REPOSITORY}:environment:") for s in subjects)
        assert not any("ref:refs/heads/" in s for s in subjects), "never a branch subject"
    for a, b in itertools.combinations(ROLES, 2):
        assert not used[a.variable] & used[b.variable], (a.name, b.name)


def test_each_role_allows_the_sessions_its_workflows_ask_for() -> None:
    """configure-aws-credentials fails when role-duration-seconds exceeds the role's
    MaxSessionDuration, which the platform program sets from iam_policy.ROLES."""
    longest = {role.variable: role.max_session_seconds for role in ROLES}
    for variable, _, workflow, seconds in _workflow_jobs():
        assert seconds <= longest[variable], (workflow, variable, seconds)


VALUES = {"ACCOUNT_ID": "111111111111", "REGION": "us-east-1", "STATE_BUCKET": "acme-state",
          "STATE_KMS_KEY_ID": "0000aaaa-1111-2222-3333-444455556666",
          "TENANT_KMS_KEY_ID": "7777bbbb-1111-2222-3333-444455556666",
          "HOSTED_ZONE_ID": "Z0123456789ABC", "DATABASE_PREFIX": "acme",
          "DB_SUBNET_GROUP": "acme-production-db",
          "SHARED_DATABASE_ADMIN_SECRET_ARN":
              "arn:aws:secretsmanager:us-east-1:111111111111:secret:acme/mysql-admin-AbCdEf",
          "GITHUB_REPOSITORY": "acme/tenants"}


@pytest.mark.parametrize("name", sorted(p.name for p in POLICIES.glob("*.json")))
def test_every_document_renders_with_every_placeholder_filled(name: str) -> None:
    rendered = iam_policy.render(name, VALUES)
    text = json.dumps(rendered)
    assert "${" not in text
    assert iam_policy.placeholders(_load(name)) <= set(VALUES)
    # the renderer reads the very files of policies/: same shape, placeholders filled
    assert len(rendered["Statement"]) == len(_load(name)["Statement"])
    assert [s["Sid"] for s in rendered["Statement"]] == [s["Sid"] for s in _load(name)["Statement"]]


def test_rendering_refuses_a_missing_or_unknown_placeholder() -> None:
    document = _load("trust-apply.json")
    with pytest.raises(iam_policy.PolicyError, match="no value for GITHUB_REPOSITORY"):
        iam_policy.fill(document, {"ACCOUNT_ID": "111111111111"})
    with pytest.raises(iam_policy.PolicyError, match="no placeholder for REGOIN"):
        iam_policy.fill(document, {"ACCOUNT_ID": "1", "GITHUB_REPOSITORY": "a/b",
                                   "REGOIN": "x"})


@given(st.text(min_size=1, max_size=40))
@example('a/b"}],"Effect":"Allow')
@example("${ACCOUNT_ID}")
def test_a_value_never_changes_the_documents_structure(value: str) -> None:
    """Values are put inside JSON strings of the parsed document, never spliced into text."""
    rendered = iam_policy.render("trust-apply.json", {"ACCOUNT_ID": "111111111111",
                                                      "GITHUB_REPOSITORY": value})
    (statement,) = rendered["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"] == f"repo:{value}:environment:apply"
