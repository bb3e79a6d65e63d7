"""Check with boto3 that a tenant's stack made what its spec says: the DNS record, each
expected secret, and the published config documents.

The documents hold values generated per stack (passwords, the API token, the bcrypt hash), so
they are compared masked:

1. The secrets are read from Secrets Manager (db, admin, sol, smtp, certificate). The expected
   documents are rendered with those real values; a value no secret holds (typically the
   bcrypt hash) is rendered as a placeholder that later matches anything.
2. In both the expected and the fetched document, every known secret (raw, JSON-escaped and
   env-quoted, each replaced by the mask in the same encoding) becomes `********`.
3. JSON documents are compared structurally, others line by line. A placeholder position that
   differs is `unverified` (listed, not a failure). A difference where the expected text held a
   known secret is a mismatch reported without the fetched text, so a wrong password is
   flagged but never shown; other differences show both (already masked) sides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from provisioner import naming
from provisioner.model.catalog import Catalog, DatabaseTier
from provisioner.model.models import ResellerSpec, TenantSpec
from provisioner.model.semantics import plan_of
from provisioner.redaction import Redactor
from provisioner.render.quoting import env_quote
from provisioner.secrets import MASK

CONFIG_DOCUMENTS: Final = ("tenant.env", "bootstrap.json")
SECRET_KEY_HINTS: Final = ("password", "token", "hash", "secret", "pem", "certificate", "key")
WILDCARD: Final = "UNVERIFIED0VALUE0PLACEHOLDER"  # encodes the same in env and JSON


@dataclass
class Check:
    what: str
    ok: bool
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.what, "ok": self.ok, "message": self.message}


@dataclass
class Verification:
    tenant: str
    checks: list[Check] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, what: str, ok: bool, message: str = "") -> None:
        self.checks.append(Check(what, ok, message))

    def as_dict(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "ok": self.ok,
                "checks": [c.as_dict() for c in self.checks],
                "mismatches": [c.as_dict() for c in self.checks if not c.ok],
                "unverified": self.unverified}


def expected_concerns(spec: TenantSpec) -> list[str]:
    concerns = ["db", "admin"]
    if spec.soap.needs_sol_password:
        concerns.append("sol")
    if spec.smtp is not None:
        concerns.append("smtp")
    if spec.certificate:
        concerns.append("certificate")
    return [*concerns, *(f"config/{d}" for d in CONFIG_DOCUMENTS)]


def secret_strings(value: str | None) -> list[str]:
    """The secret parts of a stored secret: the whole string, or a JSON object's values under
    keys that name secrets (password, token, hash, pem, ...)."""
    if not value:
        return []
    try:
        data = json.loads(value)
    except ValueError:
        return [value]
    if not isinstance(data, dict):
        return [value]
    out = []
    for k, v in data.items():
        if isinstance(v, str) and v and any(h in k.lower() for h in SECRET_KEY_HINTS):
            out.append(v)
    return out


def _encodings(value: str) -> dict[str, str]:
    """Each way a template may write `value`, mapped to the same encoding of the mask, so a
    masked fetched document reads exactly like the masked render."""
    forms = {value: MASK, json.dumps(value, ensure_ascii=False)[1:-1]: MASK,
             json.dumps(value)[1:-1]: MASK}
    forms[env_quote(value)] = env_quote(MASK)
    return {f: m for f, m in forms.items() if len(f) >= 4}


def mask_known(text: str, secrets: Iterable[str]) -> str:
    """Every known secret, in every encoding the templates use, replaced by the mask."""
    forms: dict[str, str] = {}
    for s in secrets:
        forms.update(_encodings(s))
    if not forms:
        return text
    pattern = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.sub(pattern, lambda m: forms[m.group(0)], text)


def _wildcard(expected: str) -> re.Pattern[str]:
    parts = re.split(f"({re.escape(WILDCARD)})", expected)
    return re.compile("".join(".+?" if p == WILDCARD else re.escape(p) for p in parts)
                      + r"\Z", re.S)


def _masked(expected: str) -> bool:
    """The expected text held a secret (known, masked) or a value no secret holds."""
    return MASK in expected or WILDCARD in expected


def compare_document(name: str, expected: str, fetched: str, secrets: list[str],
                     result: Verification) -> None:
    """Record a check per document; mismatching lines are listed without secret text."""
    got = mask_known(fetched, secrets)
    if name.endswith(".json"):
        try:
            want_data, got_data = json.loads(expected), json.loads(got)
        except ValueError:
            pass
        else:
            problems: list[str] = []
            _compare_json(want_data, got_data, "$", problems, result.unverified, name)
            result.add(f"config/{name}", not problems, "; ".join(problems[:20]))
            return
    problems = []
    want_lines, got_lines = expected.splitlines(), got.splitlines()
    if len(want_lines) != len(got_lines):
        problems.append(f"{len(got_lines)} lines, expected {len(want_lines)}")
    for n, (w, g) in enumerate(zip(want_lines, got_lines, strict=False), 1):
        if w == g:
            continue
        if WILDCARD in w and _wildcard(w).match(g):
            result.unverified.append(f"{name}:{n}: {w}")
            continue
        if _masked(w):
            problems.append(f"line {n}: expected {w!r}; the published line differs "
                            "(it carries a secret, so it is not shown)")
        else:
            problems.append(f"line {n}: expected {w!r}, found {g!r}")
    result.add(f"config/{name}", not problems, "; ".join(problems[:20]))


def _compare_json(want: Any, got: Any, path: str, problems: list[str], unverified: list[str],
                  name: str) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(want.keys() | got.keys()):
            if key not in got:
                problems.append(f"{path}.{key} missing")
            elif key not in want:
                problems.append(f"{path}.{key} unexpected")
            else:
                _compare_json(want[key], got[key], f"{path}.{key}", problems, unverified, name)
        return
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            problems.append(f"{path}: {len(got)} items, expected {len(want)}")
        for i, (w, g) in enumerate(zip(want, got, strict=False)):
            _compare_json(w, g, f"{path}[{i}]", problems, unverified, name)
        return
    if want == got:
        return
    if isinstance(want, str) and _masked(want):
        if WILDCARD in want and isinstance(got, str) and _wildcard(want).match(got):
            unverified.append(f"{name}:{path}")
        else:
            problems.append(f"{path}: differs (carries a secret, not shown)")
        return
    problems.append(f"{path}: expected {json.dumps(want, ensure_ascii=False)}, "
                    f"found {json.dumps(got, ensure_ascii=False)}")


def _json(value: str | None) -> Any:
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None


def _pick(value: str | None, *keys: str, raw_ok: bool = True) -> str | None:
    """A field of a JSON secret, or the whole secret when it is a plain string."""
    data = _json(value)
    if isinstance(data, dict):
        return next((str(data[k]) for k in keys if isinstance(data.get(k), str) and data[k]),
                    None)
    return value if raw_ok and value else None


def known_secret_values(spec: TenantSpec, fetched: dict[str, str | None]) -> Any:
    """SecretValues from what Secrets Manager holds; absent ones are the WILDCARD placeholder."""
    from provisioner.render.secrets import SecretValues

    def get(concern: str, *keys: str, raw_ok: bool = True) -> str:
        return _pick(fetched.get(concern), *keys, raw_ok=raw_ok) or WILDCARD

    return SecretValues(
        db_password=get("db", "password"),
        admin_password=get("admin", "password", raw_ok=True),
        admin_password_hash=get("admin", "password_hash", "hash", raw_ok=False),
        api_token=get("admin", "api_token", "token", raw_ok=False),
        sol_password=get("sol", "password") if spec.soap.needs_sol_password else None,
        smtp_password=get("smtp", "password") if spec.smtp is not None else None,
        certificate=get("certificate", "pem", "certificate") if spec.certificate else None,
        certificate_password=get("certificate", "password", raw_ok=False)
        if spec.certificate else None,
    )


def render_expected(spec: TenantSpec, reseller: ResellerSpec, catalog: Catalog,
                    renderer: Any, fetched: dict[str, str | None]) -> dict[str, str]:
    """The documents as the stack should have published them; the database host comes from
    the db secret when it says (an RDS endpoint is only known after the stack ran), else the
    platform's shared database."""
    from provisioner.render.context import build_context

    host: str = WILDCARD
    port = 3306
    shared = reseller.platform.shared_database
    if plan_of(spec, catalog).tier is DatabaseTier.POOL and shared is not None:
        host, port = shared.host, shared.port
    data = _json(fetched.get("db"))
    if isinstance(data, dict) and isinstance(data.get("host"), str):
        host = data["host"]
        if str(data.get("port", "")).isdigit():
            port = int(data["port"])
    secrets = known_secret_values(spec, fetched)
    context = build_context(spec, reseller, catalog, secrets, db_host=host, db_port=port)
    return {d: renderer.render(d, context) for d in CONFIG_DOCUMENTS}


def verify_tenant(spec: TenantSpec, reseller: ResellerSpec, catalog: Catalog, renderer: Any, *,
                  route53: Any, secretsmanager: Any, hosted_zone_id: str | None = None,
                  redactor: Redactor | None = None) -> Verification:
    result = Verification(spec.subdomain)
    _check_record(spec, reseller, route53, hosted_zone_id, result)
    fetched: dict[str, str | None] = {}
    for concern in expected_concerns(spec):
        name = naming.secret_name(reseller.database_prefix, spec.subdomain, concern)
        try:
            value = secretsmanager.get_secret_value(SecretId=name)
        except secretsmanager.exceptions.ResourceNotFoundException:
            result.add(f"secret {name}", False, "missing")
            continue
        text = value.get("SecretString")
        fetched[concern] = text
        result.add(f"secret {name}", bool(text), "" if text else "empty")
    if redactor is not None:
        redactor.add(*(s for c, v in fetched.items() if not c.startswith("config/")
                       for s in secret_strings(v)))
    secrets = [v for v in known_secret_values(spec, fetched).values() if v != WILDCARD]
    if redactor is not None:
        redactor.add(*secrets)
    expected = render_expected(spec, reseller, catalog, renderer, fetched)
    for doc in CONFIG_DOCUMENTS:
        got = fetched.get(f"config/{doc}")
        if got is not None:
            compare_document(doc, mask_known(expected[doc], secrets), got, secrets, result)
    if redactor is not None:
        for c in result.checks:
            c.message = redactor.text(c.message)
    return result


def _zone_id(spec: TenantSpec, reseller: ResellerSpec, route53: Any,
             override: str | None) -> str | None:
    if override:
        return override
    if reseller.platform.hosted_zone_id:
        return reseller.platform.hosted_zone_id
    name = reseller.base_domain.rstrip(".") + "."
    for zone in route53.list_hosted_zones_by_name(DNSName=name).get("HostedZones", []):
        if zone["Name"] == name:
            return str(zone["Id"]).rsplit("/", 1)[-1]
    return None


def _check_record(spec: TenantSpec, reseller: ResellerSpec, route53: Any, zone: str | None,
                  result: Verification) -> None:
    fqdn = naming.fqdn(spec.subdomain, reseller.base_domain) + "."
    zone_id = _zone_id(spec, reseller, route53, zone)
    what = f"dns {fqdn}"
    if zone_id is None:
        result.add(what, False, f"no hosted zone for {reseller.base_domain}")
        return
    try:
        sets = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=fqdn,
                                                 StartRecordType="A", MaxItems="2")
    except route53.exceptions.NoSuchHostedZone:
        result.add(what, False, f"hosted zone {zone_id} not found")
        return
    record = next((r for r in sets.get("ResourceRecordSets", [])
                   if r["Name"].lower() == fqdn and r["Type"] == "A"), None)
    if record is None:
        result.add(what, False, "no A record")
        return
    lb = reseller.platform.load_balancer
    if lb is None:
        result.add(what, True, "record exists (no load balancer in reseller.yaml to compare)")
        return
    alias = record.get("AliasTarget") or {}
    target = str(alias.get("DNSName", "")).rstrip(".").lower()
    want = lb.dns_name.rstrip(".").lower()
    if target.removeprefix("dualstack.") != want.removeprefix("dualstack."):
        result.add(what, False, f"alias target is {target or 'absent'!r}, expected {want!r}")
    elif alias.get("HostedZoneId") != lb.zone_id:
        result.add(what, False, f"alias zone is {alias.get('HostedZoneId')!r}, "
                                f"expected {lb.zone_id!r}")
    else:
        result.add(what, True)
