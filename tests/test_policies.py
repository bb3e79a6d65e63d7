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
from hypothesis import example, given
from hypothesis import strategies as st

from provisioner import iam_policy
from provisioner.iam_policy import ROLES

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
WORKFLOWS = ROOT / ".github" / "workflows"

# What each AWS call site of the program needs, per role: `apply` (create, update, delete,
# read), `plan` (a pull request's preview: no refresh, so no resource is read, and no secret
# value: pr.yml sets PROVISIONER_PREVIEW_SECRET_VALUES=none, provisioner/infra/database.py),
# `drift` (a preview-only refresh: every resource is read, secret values included).
# Keys are `module.Name` as written in infra/ (pulumi-aws v7, i.e. the Terraform AWS provider's
# calls). A new resource type or data source in infra/ fails the coverage test until it is
# listed here and granted in the policies. Each call names the resource it is made on (RES).
CALLS: dict[str, dict[str, set[str]]] = {
    "route53.Record": {
        "apply": {"route53:ChangeResourceRecordSets", "route53:GetChange",
                  "route53:ListResourceRecordSets", "route53:GetHostedZone"},
        "plan": {"route53:ListResourceRecordSets", "route53:GetHostedZone"},
        "drift": {"route53:ListResourceRecordSets", "route53:GetHostedZone"},
    },
    "secretsmanager.Secret": {
        "apply": {"secretsmanager:CreateSecret", "secretsmanager:DescribeSecret",
                  "secretsmanager:GetResourcePolicy", "secretsmanager:UpdateSecret",
                  "secretsmanager:DeleteSecret", "secretsmanager:TagResource",
                  "secretsmanager:UntagResource", "kms:GenerateDataKey@tenant"},
        "plan": {"secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"},
        "drift": {"secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"},
    },
    "secretsmanager.SecretVersion": {
        "apply": {"secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue",
                  "secretsmanager:ListSecretVersionIds",
                  "secretsmanager:UpdateSecretVersionStage", "kms:Decrypt@tenant"},
        "plan": {"secretsmanager:ListSecretVersionIds"},
        "drift": {"secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds",
                  "kms:Decrypt@tenant"},
    },
    "secretsmanager.get_secret_version_output": {
        "apply": {"secretsmanager:GetSecretValue@admin"}, "plan": set(),
        "drift": {"secretsmanager:GetSecretValue@admin"},
    },
    "kms.get_key_output": {"apply": {"kms:DescribeKey@tenant"},
                           "plan": {"kms:DescribeKey@tenant"},
                           "drift": {"kms:DescribeKey@tenant"}},
    # an adopted silo instance, looked up to warn about the settings it keeps
    "rds.get_instance_output": {"apply": {"rds:DescribeDBInstances"},
                                "plan": {"rds:DescribeDBInstances"},
                                "drift": {"rds:DescribeDBInstances"}},
    "rds.Instance": {
        "apply": {"rds:CreateDBInstance", "rds:DescribeDBInstances", "rds:ModifyDBInstance",
                  "rds:DeleteDBInstance", "rds:AddTagsToResource",
                  "rds:RemoveTagsFromResource", "rds:ListTagsForResource",
                  "rds:CreateDBInstance@subgrp", "rds:CreateDBInstance@pg",
                  "rds:CreateDBInstance@og", "rds:DeleteDBInstance@snapshot",
                  # a production instance's final snapshot, taken by the delete
                  "rds:CreateDBSnapshot@snapshot",
                  "kms:CreateGrant@tenant", "kms:DescribeKey@tenant"},
        "plan": {"rds:DescribeDBInstances", "rds:ListTagsForResource"},
        "drift": {"rds:DescribeDBInstances", "rds:ListTagsForResource"},
    },
}
# Not a resource: the provider's account lookup, the S3 state backend (the orchestrator's
# Automation API and the CLI), the awskms:// secrets provider (a new stack's data key is
# encrypted with kms:Encrypt, read back with kms:Decrypt). Previews and preview-only refreshes
# take no lock on the DIY backend: pulumi/pulumi pkg/backend/diy/backend.go, `Preview` goes
# straight to `apply` with DryRun and `Refresh` with PreviewOnly returns before `b.Lock`
# (only `Update`, `Import`, `Destroy` and a real refresh lock), so plan and drift write nothing.
ALWAYS = {
    "apply": {"sts:GetCallerIdentity", "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
              "s3:ListBucket", "kms:Encrypt@state", "kms:Decrypt@state",
              "kms:GenerateDataKey@state"},  # the state bucket is SSE-KMS: PutObject asks it
    "plan": {"sts:GetCallerIdentity", "s3:GetObject", "s3:ListBucket", "kms:Decrypt@state"},
    "drift": {"sts:GetCallerIdentity", "s3:GetObject", "s3:ListBucket", "kms:Decrypt@state"},
}
ROLE_FILES = {"apply": "apply-role.json", "plan": "plan-role.json", "drift": "drift-role.json"}
TRUST_FILES = {"AWS_PLAN_ROLE_ARN": "trust-plan.json", "AWS_APPLY_ROLE_ARN": "trust-apply.json",
               "AWS_DRIFT_ROLE_ARN": "trust-drift.json"}

# The placeholders filled with sample values: the policies as an account would install them.
SAMPLE = {
    "ACCOUNT_ID": "111111111111", "REGION": "us-east-1", "STATE_BUCKET": "acme-pulumi-state",
    "STATE_KMS_KEY_ID": "1234abcd-12ab-34cd-56ef-1234567890ab",
    "TENANT_KMS_KEY_ID": "5678abcd-12ab-34cd-56ef-1234567890ab",
    "HOSTED_ZONE_ID": "Z0123456789ABCDEFGHIJ", "DATABASE_PREFIX": "tenancy",
    "DB_SUBNET_GROUP": "platform-db", "BASE_DOMAIN": "facturador.pe",
    "SHARED_DATABASE_ADMIN_SECRET_ARN":
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:platform/mysql-admin-AbCdEf",
    "GITHUB_REPOSITORY": "acme/tenants",
}
_ARN = "arn:aws:{}:" + SAMPLE["REGION"] + ":" + SAMPLE["ACCOUNT_ID"] + ":{}"


def _resource(action: str) -> str:
    """The ARN a call is made on, for the sample tenant `nandu` (names from the program)."""
    from provisioner.infra.database import silo_identifier
    from provisioner.naming import secret_name

    action, _, on = action.partition("@")
    service = action.split(":")[0]
    prefix, tenant = SAMPLE["DATABASE_PREFIX"], "nandu"
    instance = silo_identifier(prefix, tenant)
    by_target = {
        "state": _ARN.format("kms", "key/" + SAMPLE["STATE_KMS_KEY_ID"]),
        "tenant": _ARN.format("kms", "key/" + SAMPLE["TENANT_KMS_KEY_ID"]),
        "admin": SAMPLE["SHARED_DATABASE_ADMIN_SECRET_ARN"],
        "subgrp": _ARN.format("rds", "subgrp:" + SAMPLE["DB_SUBNET_GROUP"]),
        "pg": _ARN.format("rds", "pg:default.mysql8.4"),
        "og": _ARN.format("rds", "og:default:mysql-8-4"),
        "snapshot": _ARN.format("rds", f"snapshot:{instance}-final-0a1b2c3d"),
    }
    if on:
        return by_target[on]
    if service == "s3":
        bucket = SAMPLE["STATE_BUCKET"]
        return (f"arn:aws:s3:::{bucket}" if action == "s3:ListBucket"
                else f"arn:aws:s3:::{bucket}/.pulumi/stacks/tenants/{tenant}.json")
    if action == "route53:GetChange":
        return "arn:aws:route53:::change/C2682N5HXP0BZ4"
    return {
        "route53": f"arn:aws:route53:::hostedzone/{SAMPLE['HOSTED_ZONE_ID']}",
        "secretsmanager": _ARN.format(
            "secretsmanager", "secret:" + secret_name(prefix, tenant, "smtp") + "-AbCdEf"),
        "rds": _ARN.format("rds", f"db:{instance}"),
        "sts": "*",
    }[service]


def _load(name: str) -> dict[str, Any]:
    return json.loads((POLICIES / name).read_text(encoding="utf-8"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _granted(policy: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(a, _as_list(s["Resource"])) for s in policy["Statement"] if s["Effect"] == "Allow"
            for a in _as_list(s["Action"])]


def _rendered(name: str) -> dict[str, Any]:
    text = (POLICIES / name).read_text(encoding="utf-8")
    for key, value in SAMPLE.items():
        text = text.replace("${" + key + "}", value)
    assert "${" not in text, f"{name}: a placeholder without a sample value"
    return json.loads(text)


def _allows(policy: dict[str, Any], call: str) -> bool:
    """Some Allow statement matches the call's action and the resource it is made on.
    Conditions are checked by their own tests (Route 53, kms:ViaService)."""
    action = call.partition("@")[0]
    resource = _resource(call)
    return any(fnmatch.fnmatchcase(action, a) and any(fnmatch.fnmatchcase(resource, r)
                                                      for r in resources)
               for a, resources in _granted(policy))


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
def test_iam_role_covers_every_call_its_jobs_make(role: str) -> None:
    sites = _call_sites()
    assert sites, "no AWS call sites found in infra/"
    unknown = sites - CALLS.keys()
    assert not unknown, f"infra/ calls AWS through {sorted(unknown)}: list their IAM actions"
    policy = _rendered(ROLE_FILES[role])
    needed = set(ALWAYS[role]).union(*(CALLS[s][role] for s in sites))
    missing = sorted(a for a in needed if not _allows(policy, a))
    assert not missing, f"{ROLE_FILES[role]} lacks {missing}"


@pytest.mark.parametrize("role", sorted(ROLE_FILES))
def test_iam_role_grants_nothing_its_jobs_do_not_call(role: str) -> None:
    """Least privilege, the other way round: every granted action is one of the calls."""
    needed = {c.partition("@")[0] for c in set(ALWAYS[role]).union(
        *(calls[role] for calls in CALLS.values()))}
    needed.add("s3:GetBucketLocation")  # the S3 backend's region lookup (gocloud.dev s3blob)
    extra = sorted({a for a, _ in _granted(_load(ROLE_FILES[role]))} - needed)
    assert not extra, f"{ROLE_FILES[role]} grants {extra}, which no job calls"


def test_iam_plan_role_reads_no_secret_value_and_writes_nothing() -> None:
    """The pull request's preview: no GetSecretValue, no lock file (a DIY preview takes none),
    no write of any kind, and pr.yml's preview is the one that asks for no secret value."""
    policy = _load("plan-role.json")
    granted = {a for a, _ in _granted(policy)}
    assert "secretsmanager:GetSecretValue" not in granted
    assert not {"s3:PutObject", "s3:DeleteObject", "kms:Encrypt"} & granted
    verbs = ("Create", "Put", "Update", "Delete", "Modify", "Change", "Tag", "Untag", "Add",
             "Remove", "Encrypt", "GenerateDataKey")
    writes = {a for a in granted if a.split(":")[1].startswith(verbs)}
    assert not writes
    plan_step = yaml.safe_load((WORKFLOWS / "pr.yml").read_text())["jobs"]["plan"]["steps"]
    (step,) = [s for s in plan_step if s.get("name") == "Plan"]
    from provisioner.infra.database import PREVIEW_SECRET_VALUES_ENV

    assert step["env"][PREVIEW_SECRET_VALUES_ENV] == "none"


def test_iam_drift_role_reads_secret_values_and_writes_nothing() -> None:
    granted = {a for a, _ in _granted(_load("drift-role.json"))}
    assert "secretsmanager:GetSecretValue" in granted
    verbs = ("Create", "Put", "Update", "Delete", "Modify", "Change", "Tag", "Untag", "Add",
             "Remove", "Encrypt", "GenerateDataKey")
    assert not {a for a in granted if a.split(":")[1].startswith(verbs)}


def test_iam_apply_role_changes_rds_only_on_tenant_instances() -> None:
    policy = _rendered("apply-role.json")
    for call in ("rds:DeleteDBInstance", "rds:ModifyDBInstance", "rds:CreateDBInstance"):
        assert _allows(policy, call)
    other = _ARN.format("rds", "db:platform-mysql")
    for action, resources in _granted(policy):
        if action.startswith("rds:"):
            assert not any(fnmatch.fnmatchcase(other, r) for r in resources), (action, other)
            assert all(":db:*" not in r and not r.endswith(":*") for r in resources), resources


def _dns_condition(policy: dict[str, Any]) -> dict[str, Any]:
    (statement,) = [s for s in policy["Statement"]
                    if "route53:ChangeResourceRecordSets" in _as_list(s["Action"])]
    return statement["Condition"]


def _dns_change_allowed(condition: dict[str, Any], names: list[str], types: list[str],
                        actions: list[str]) -> bool:
    """IAM's ForAllValues: every value in the request matches one of the listed patterns."""
    context = {"route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
               "route53:ChangeResourceRecordSetsRecordTypes": types,
               "route53:ChangeResourceRecordSetsActions": actions}
    for operator, keys in condition.items():
        assert operator in ("ForAllValues:StringLike", "ForAllValues:StringEquals"), operator
        like = operator.endswith("StringLike")
        for key, patterns in keys.items():
            for value in context[key]:
                if not any(fnmatch.fnmatchcase(value, p) if like else value == p
                           for p in _as_list(patterns)):
                    return False
    return True


def test_iam_apply_role_dns_changes_only_tenant_records() -> None:
    """The tenants' A/AAAA alias records under the base domain, nothing else in the zone
    (route53:ChangeResourceRecordSetsNormalizedRecordNames: lower case, no trailing dot;
    ...RecordTypes, ...Actions: docs.aws.amazon.com/Route53/latest/DeveloperGuide/
    specifying-rrset-conditions.html)."""
    condition = _dns_condition(_rendered("apply-role.json"))
    keys = {k for body in condition.values() for k in body}
    assert keys == {"route53:ChangeResourceRecordSetsNormalizedRecordNames",
                    "route53:ChangeResourceRecordSetsRecordTypes",
                    "route53:ChangeResourceRecordSetsActions"}
    from provisioner.naming import fqdn

    tenant = fqdn("nandu", SAMPLE["BASE_DOMAIN"])
    assert _dns_change_allowed(condition, [tenant], ["A", "AAAA"], ["CREATE", "DELETE"])
    assert _dns_change_allowed(condition, [tenant], ["A"], ["UPSERT"])
    assert not _dns_change_allowed(condition, [SAMPLE["BASE_DOMAIN"]], ["A"], ["UPSERT"])
    assert not _dns_change_allowed(condition, [tenant], ["MX"], ["CREATE"])
    assert not _dns_change_allowed(condition, [tenant, "mail.example.com"], ["A"], ["CREATE"])
    # the record types the program makes are the ones allowed
    text = (ROOT / "provisioner" / "infra" / "tenant.py").read_text()
    made = set(re.findall(r'"(A|AAAA|CNAME|TXT|MX)"', text))
    types = condition["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"]
    assert made == set(types)


# parliament's findings that stay, with the reason: RDS needs a grant on the tenant key to
# encrypt a silo instance's storage (the statement allows it only through RDS and Secrets
# Manager, kms:ViaService)
PARLIAMENT_ACCEPTED = {("apply-role.json", "PERMISSIONS_MANAGEMENT_ACTIONS",
                        ("kms:creategrant",))}


@pytest.mark.parametrize("name", sorted(ROLE_FILES.values()))
def test_policy_passes_parliament(name: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports pkg_resources (deprecated)
        from parliament import analyze_policy_string

    text = json.dumps(_rendered(name))
    findings = analyze_policy_string(text, include_community_auditors=True).findings
    found = {(name, f.issue, tuple(f.location.get("actions", ()))) for f in findings}
    assert found <= PARLIAMENT_ACCEPTED, found


def test_policy_parliament_finds_what_it_should() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from parliament import analyze_policy_string

    bad = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSet"],
         "Resource": "arn:aws:route53:::hostedzone/Z1"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket"}]}
    issues = {f.issue for f in analyze_policy_string(json.dumps(bad)).findings}
    assert {"UNKNOWN_ACTION", "RESOURCE_MISMATCH"} <= issues


def test_only_the_account_lookup_is_unscoped() -> None:
    for name in ROLE_FILES.values():
        for action, resources in _granted(_load(name)):
            assert "*" not in resources or action == "sts:GetCallerIdentity", (name, action)


def _workflow_environments() -> dict[str, set[str]]:
    """environment names of the jobs that ask for an OIDC token, by role variable."""
    out: dict[str, set[str]] = {role: set() for role in TRUST_FILES}
    for role, names, _workflow, _seconds in _workflow_jobs():
        out[role] |= names
    return out


def test_iam_trust_policies_admit_exactly_the_workflow_environments() -> None:
    """With `environment:` the OIDC subject is repo:OWNER/REPO:environment:NAME (not the
    branch or pull_request form), so the trust policy lists those names and nothing else;
    each environment assumes one role only."""
    used = _workflow_environments()
    assert used["AWS_DRIFT_ROLE_ARN"] == {"drift"}
    for role, trust in TRUST_FILES.items():
        policy = _load(trust)
        (statement,) = policy["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        condition = statement["Condition"]["StringEquals"]
        assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
        subjects = _as_list(condition["token.actions.githubusercontent.com:sub"])
        assert {s.rsplit(":environment:", 1)[1] for s in subjects} == used[role]
        assert all(s.startswith("repo:${GITHUB_REPOSITORY}:environment:") for s in subjects)
    names = [n for envs in used.values() for n in envs]
    assert len(names) == len(set(names))


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


def test_each_role_allows_the_sessions_its_workflows_ask_for() -> None:
    """configure-aws-credentials fails when role-duration-seconds exceeds the role's
    MaxSessionDuration, which the platform program sets from iam_policy.ROLES."""
    longest = {role.variable: role.max_session_seconds for role in ROLES}
    for variable, _, workflow, seconds in _workflow_jobs():
        assert seconds <= longest[variable], (workflow, variable, seconds)


VALUES = {"ACCOUNT_ID": "111111111111", "REGION": "us-east-1", "STATE_BUCKET": "acme-state",
          "BASE_DOMAIN": "facturador.acme.pe",
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
