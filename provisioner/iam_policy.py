"""The IAM documents in policies/ filled in for one platform: the one renderer of those files,
used by the platform program (the roles it creates) and the tests (the documents they check).

The files are the source; `${NAME}` placeholders (string.Template syntax) are replaced inside
each JSON string of the parsed document, never in the raw text, so a value cannot change the
document's structure. A placeholder without a value, or a value for no placeholder of the file,
is refused: a typo never leaves `${...}` in a live policy.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from provisioner.errors import ProvisionerError

POLICIES_PACKAGE: Final = "provisioner.policies"
# The Federated principal of every trust document: GitHub's OIDC provider in this account.
GITHUB_OIDC_URL: Final = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE: Final = "sts.amazonaws.com"


class PolicyError(ProvisionerError):
    """A policy template and its values do not fit together."""


@dataclass(frozen=True)
class Role:
    """One role CI assumes: its trust and permission documents, and the longest session a
    workflow asks of it (`role-duration-seconds`, checked against .github/workflows/)."""

    name: str  # plan | apply | drift
    variable: str  # the repository variable the workflows read its ARN from
    trust: str
    permissions: str
    max_session_seconds: int


# The drift check runs what a plan runs (a preview-only refresh): the plan role's permissions,
# its own trust (environment `drift`), so that neither role is trusted by the other's jobs.
ROLES: Final[tuple[Role, ...]] = (
    Role("plan", "AWS_PLAN_ROLE_ARN", "trust-plan.json", "plan-role.json", 3600),
    Role("apply", "AWS_APPLY_ROLE_ARN", "trust-apply.json", "apply-role.json", 21600),
    Role("drift", "AWS_DRIFT_ROLE_ARN", "trust-drift.json", "drift-role.json", 14400),
)


def template(name: str) -> dict[str, Any]:
    """The parsed document `policies/<name>`, placeholders left as they are."""
    try:
        text = resources.files(POLICIES_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"policies/{name}: no such policy document") from None
    data = json.loads(text)
    if not isinstance(data, dict):
        raise PolicyError(f"policies/{name}: not a JSON object")
    return data


def template_names() -> list[str]:
    root = resources.files(POLICIES_PACKAGE)
    return sorted(item.name for item in root.iterdir()
                  if item.is_file() and item.name.endswith(".json"))


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def placeholders(document: dict[str, Any]) -> set[str]:
    """The `${NAME}`s a document holds."""
    found: set[str] = set()
    for text in _strings(document):
        for _, named, braced, _ in string.Template.pattern.findall(text):
            if named or braced:
                found.add(named or braced)
    return found


def _fill(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return string.Template(node).substitute(values)
    if isinstance(node, dict):
        return {_fill(k, values): _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node


def fill(document: dict[str, Any], values: Mapping[str, str], name: str = "") -> dict[str, Any]:
    """`document` with every placeholder replaced; exactly its placeholders must be given."""
    wanted = placeholders(document)
    missing, extra = sorted(wanted - set(values)), sorted(set(values) - wanted)
    where = f"policies/{name}" if name else "policy document"
    if missing:
        raise PolicyError(f"{where}: no value for {', '.join(missing)}")
    if extra:
        raise PolicyError(f"{where}: no placeholder for {', '.join(extra)}")
    bad = sorted(k for k, v in values.items() if not isinstance(v, str) or not v)
    if bad:
        raise PolicyError(f"{where}: empty value for {', '.join(bad)}")
    return _fill(document, values)


def render(name: str, values: Mapping[str, str]) -> dict[str, Any]:
    """`policies/<name>` for these values: only the placeholders that file holds are used,
    and each of them must be given."""
    document = template(name)
    return fill(document, {k: v for k, v in values.items() if k in placeholders(document)},
                name)


def render_json(name: str, values: Mapping[str, str]) -> str:
    """`render`, as the compact JSON text IAM is given."""
    return json.dumps(render(name, values), separators=(",", ":"), sort_keys=False)


def key_statements(document: dict[str, Any], key_resource: str) -> list[dict[str, Any]]:
    """The grants a permission document makes on one KMS key (`key_resource` as written in
    the template, e.g. `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${STATE_KMS_KEY_ID}`): the
    key policy allows the role exactly these (same actions, same conditions), so the key's
    policy and the role's are one source."""
    out = []
    for statement in document.get("Statement", []):
        resources_ = statement.get("Resource")
        listed = resources_ if isinstance(resources_, list) else [resources_]
        if statement.get("Effect") == "Allow" and key_resource in listed:
            actions = statement["Action"]
            grant: dict[str, Any] = {"Action": actions if isinstance(actions, list)
                                     else [actions]}
            if "Condition" in statement:
                grant["Condition"] = statement["Condition"]
            out.append(grant)
    return out
