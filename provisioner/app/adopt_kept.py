"""Accounts a production destroy left with their secrets, found before `adopt` writes anything.

`destroy` keeps a production tenant's secrets (docs/data-safety.md "Destroy"). The stack that
the first apply after `adopt` makes declares every `<prefix>/tenants/<subdomain>/...` secret
anew and imports none, so Secrets Manager refuses its first CreateSecret
(ResourceExistsException, or InvalidRequestException for a name scheduled for deletion) in the
middle of that apply, after the DNS records and the imports went through. `adopt` looks the
names up first (ListSecrets: names only, never a value) and leaves such an account out,
saying what clears the way.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from typing import Any, Final

from provisioner.naming import secret_name

# ListSecrets takes at most 10 values per filter, OR'ed; a `name` value matches as a prefix
# (Secrets Manager API reference, ListSecrets `Filters`)
NAMES_PER_CALL: Final = 10


class LookupFailed(Exception):
    """Secrets Manager could not be asked (no credentials or region, denied, unreachable)."""


def tenant_prefix(prefix: str, subdomain: str) -> str:
    """`<prefix>/tenants/<subdomain>/`, the start of each of a tenant's secret names."""
    return secret_name(prefix, subdomain, "")


def kept_secrets(prefix: str, subdomains: Iterable[str],
                 list_page: Callable[..., dict[str, Any]],
                 page_size: int = 100) -> dict[str, list[str]]:
    """subdomain -> the names of its secrets that exist (those scheduled for deletion
    included: they block a new secret of the same name too), for the subdomains that have any.
    `list_page` is a Secrets Manager client's `list_secrets`."""
    wanted = sorted(set(subdomains))
    found: dict[str, list[str]] = {}
    for start in range(0, len(wanted), NAMES_PER_CALL):
        chunk = {tenant_prefix(prefix, s): s for s in wanted[start:start + NAMES_PER_CALL]}
        kwargs: dict[str, Any] = {"Filters": [{"Key": "name", "Values": list(chunk)}],
                                  "IncludePlannedDeletion": True, "MaxResults": page_size}
        while True:
            page = list_page(**kwargs)
            for entry in page.get("SecretList", []):
                name = str(entry.get("Name", ""))
                # the filter is a case-insensitive prefix: keep exact owners only
                owner = next((s for p, s in chunk.items() if name.startswith(p)), None)
                if owner is not None:
                    found.setdefault(owner, []).append(name)
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    return {s: sorted(names) for s, names in found.items()}


def lookup(prefix: str, subdomains: Iterable[str], region: str | None) -> dict[str, list[str]]:
    """`kept_secrets` with boto3's usual credentials, region and endpoint (AWS_ENDPOINT_URL);
    LookupFailed says why it could not ask."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})
    try:
        # a session of its own: boto3's default one keeps the first credentials it resolved
        session = boto3.session.Session()
        client = session.client("secretsmanager", region_name=region or None, config=config)
        return kept_secrets(prefix, subdomains, client.list_secrets)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise LookupFailed(f"{code} on secretsmanager:ListSecrets") from None
    except BotoCoreError as exc:
        raise LookupFailed(f"{type(exc).__name__}: {str(exc)[:200]}") from None


def not_adopted_reason(names: list[str]) -> str:
    """One line: what is kept and the command that clears the way, shell-quoted."""
    quoted = " ".join(shlex.quote(n) for n in names)
    delete = (f"for s in {quoted}; do aws secretsmanager delete-secret --secret-id \"$s\" "
              "--force-delete-without-recovery; done")
    return (f"secrets kept by an earlier destroy exist ({', '.join(names)}): its first apply "
            "would fail to create them again; copy any value you still need, then run "
            f"`{delete}` and adopt it again")
