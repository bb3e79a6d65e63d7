"""The logic of `provisioner new`: the admin form's "Nuevo cliente", as a tenant file.

The file is built as YAML text and checked with exactly what `validate` runs (the loader's
`parse_tenant` and the cross-file rules, with the repository's existing tenants) before it is
written, so `new` can never create a file `validate` would reject.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Final

import yaml

from provisioner import naming
from provisioner.errors import Finding, ProvisionerError
from provisioner.model import crossfile
from provisioner.model.layout import TENANTS_DIRNAME
from provisioner.model.models import ResellerSpec, Soap, TenantSpec
from provisioner.model.repository import Repository, parse_tenant_keyed
from provisioner.model.rules import RESERVED_SUBDOMAINS, SUBDOMAIN_PATTERN
from provisioner.model.yaml_source import Source
from provisioner.numbers import is_ascii_digits, parse_port
from provisioner.ruc import Taxpayer

SCHEMA_COMMENT: Final = "# yaml-language-server: $schema=../../schema/tenant.schema.json"

# Which flag sets each field, so a located error also says what to change on the command line.
FLAGS: Final[dict[str, str]] = {
    "ruc": "--ruc", "company_name": "--company-name", "trade_name": "--trade-name",
    "subdomain": "--subdomain", "admin_email": "--email", "user_type": "--user-type",
    "admin_password": "--admin-password", "plan": "--plan",
    "limit_emission": "--limit-emission", "modules.preset": "--preset",
    "modules.include": "--modules", "modules.add": "--add-module",
    "modules.remove": "--remove-module", "soap.send": "--send",
    "soap.environment": "--environment", "soap.sol_user": "--sol-user",
    "soap.ose_url": "--ose-url", "soap.ose_username_format": "--ose-username-format",
    "smtp.host": "--smtp-host", "smtp.port": "--smtp-port", "smtp.username": "--smtp-username",
    "smtp.encryption": "--smtp-encryption", "smtp.from_address": "--smtp-from-address",
    "smtp.from_name": "--smtp-from-name", "certificate": "--certificate",
    "allow_production_switch": "--allow-production-switch",
}

# Legal-form suffixes dropped when a subdomain is suggested from the company name.
_LEGAL_FORMS: Final = frozenset({"sac", "sa", "saa", "srl", "eirl", "scrl", "sc", "sucursal"})


@dataclass
class TenantAnswers:
    """What the operator gave, by flag or prompt; None means "not given, use the default"."""

    ruc: str | None = None
    company_name: str | None = None
    trade_name: str | None = None
    subdomain: str | None = None
    email: str | None = None
    user_type: str | None = None
    admin_password: str | None = None
    plan: str | None = None
    limit_emission: bool | None = None
    preset: str | None = None
    add_modules: list[str] = field(default_factory=list)
    remove_modules: list[str] = field(default_factory=list)
    modules: list[str] | None = None  # an explicit module list (`include`)
    levels: dict[str, list[str]] = field(default_factory=dict)  # chosen levels, per module
    send: str | None = None
    environment: str | None = None
    sol_user: str | None = None
    ose_url: str | None = None
    ose_username_format: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_username: str | None = None
    smtp_encryption: str | None = None
    smtp_from_address: str | None = None
    smtp_from_name: str | None = None
    certificate: bool | None = None
    allow_production_switch: bool | None = None

    REQUIRED: ClassVar[tuple[str, ...]] = ("ruc", "company_name", "subdomain", "email", "plan")

    def missing(self) -> list[str]:
        return [name for name in self.REQUIRED if not getattr(self, name)]

    @property
    def has_smtp(self) -> bool:
        return any(getattr(self, f"smtp_{k}") is not None for k in (
            "host", "port", "username", "encryption", "from_address", "from_name"))


class _FlowList(list[Any]):
    """A list written `[a, b]`, as the example files write module lists."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def tenant_document(a: TenantAnswers) -> dict[str, Any]:
    """The tenant file's fields in the examples' order; defaults left out unless the form
    shows them (limit_emission, soap, allow_production_switch)."""
    doc: dict[str, Any] = {"ruc": a.ruc, "company_name": a.company_name}
    if a.trade_name:
        doc["trade_name"] = a.trade_name
    doc["subdomain"] = a.subdomain.lower() if a.subdomain else a.subdomain
    doc["admin_email"] = a.email
    if a.user_type and a.user_type != "admin":
        doc["user_type"] = a.user_type
    if a.admin_password and a.admin_password != "generate":
        doc["admin_password"] = a.admin_password
    doc["plan"] = a.plan
    doc["limit_emission"] = bool(a.limit_emission)
    if a.modules is not None:
        doc["modules"] = {"include": _FlowList(a.modules)}
    else:
        modules: dict[str, Any] = {"preset": a.preset or "basico"}
        if a.add_modules:
            modules["add"] = _FlowList(a.add_modules)
        if a.remove_modules:
            modules["remove"] = _FlowList(a.remove_modules)
        doc["modules"] = modules
    if a.levels:
        doc["modules"]["levels"] = {m: _FlowList(lv) for m, lv in a.levels.items()}
    soap: dict[str, Any] = {"send": a.send or "sunat", "environment": a.environment or "demo"}
    for key in ("sol_user", "ose_url", "ose_username_format"):
        if getattr(a, key) is not None:
            soap[key] = getattr(a, key)
    doc["soap"] = soap
    if a.has_smtp:
        port = 465 if a.smtp_port is None else a.smtp_port  # 0 is an answer, to be refused
        smtp: dict[str, Any] = {"host": a.smtp_host, "port": port,
                                "username": a.smtp_username,
                                "encryption": a.smtp_encryption or "ssl"}
        if a.smtp_from_address is not None:
            smtp["from_address"] = a.smtp_from_address
        if a.smtp_from_name is not None:
            smtp["from_name"] = a.smtp_from_name
        doc["smtp"] = smtp
    if a.certificate:
        doc["certificate"] = True
    doc["allow_production_switch"] = bool(a.allow_production_switch)  # not asked: the safe no
    return doc


def schema_comment(root: Path) -> str:
    """The editor modeline for tenants/<name>.yaml: the repository's own schema/ when it has one
    (a repository made by `provisioner init`), else this repository's (examples/ is nested)."""
    if (root / "schema" / "tenant.schema.json").is_file():
        return "# yaml-language-server: $schema=../schema/tenant.schema.json"
    return SCHEMA_COMMENT


def render_yaml(doc: dict[str, Any], note: str = "", modeline: str = SCHEMA_COMMENT,
                made_by: str = "provisioner new") -> str:
    """The file's text: the editor schema comment first, like every example."""
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    comment = f"# Created with `{made_by}` on {date.today().isoformat()}.{note}"
    return f"{modeline}\n{comment}\n{body}"


def tenant_path(repo: Repository, subdomain: str) -> Path:
    return repo.root / TENANTS_DIRNAME / f"{subdomain.lower()}.yaml"


def existing_file(repo: Repository, subdomain: str) -> Path | None:
    """The tenant file this subdomain already has, under either YAML suffix."""
    for suffix in (".yaml", ".yml"):
        path = repo.root / TENANTS_DIRNAME / f"{subdomain.lower()}{suffix}"
        if path.exists():
            return path
    return None


def check_new_tenant(repo: Repository, path: Path, text: str, flag_hints: bool = True,
                     always_cross: bool = False) -> tuple[TenantSpec | None, list[Finding]]:
    """The checks `validate` would run on this file once written, with the other tenants;
    with `flag_hints`, each message also names the flag that sets the field. With
    `always_cross`, the rules between accounts also run on a file with other errors (as
    `validate` runs them: its RUC, subdomain and company name are still checked)."""
    source = Source(path, text)
    loaded, member, findings = parse_tenant_keyed(source, repo.reseller, repo.catalog)
    if member is not None and (loaded is not None or always_cross):
        # every tenant file counts against max_accounts, valid or not, as in `validate`
        cross = crossfile.check_repository([*repo.members, member], repo.reseller,
                                           repo.reseller_path,
                                           account_count=repo.tenant_files + 1)
        findings += [f for f in cross if f.file == source.name or f.field == "max_accounts"]
        if any(f.severity == "error" for f in findings):
            loaded = None
    if flag_hints:
        findings = [with_flag_hint(f, source.name) for f in findings]
    return (loaded.spec if loaded else None), sorted(findings)


def with_flag_hint(finding: Finding, filename: str) -> Finding:
    if finding.file != filename:
        return finding
    flag = FLAGS.get(re.sub(r"\[\d+\]$", "", finding.field))
    if not flag:
        return finding
    return Finding(finding.file, finding.line, finding.column, finding.field,
                   f"{finding.message} (set with {flag})", finding.severity)


def write_new_file(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, refusing (even in a race) to replace a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        try:
            os.link(tmp, path)  # fails if `path` exists: no window to overwrite
        except FileExistsError:
            raise already_exists(path) from None
        except OSError:  # a filesystem without hard links
            if path.exists():
                raise already_exists(path) from None
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def already_exists(path: Path) -> ProvisionerError:
    from provisioner.model.display import display_path

    return ProvisionerError(f"{display_path(path)}: already exists; `new` never overwrites a "
                            "tenant (edit the file, or choose another subdomain)")


def suggest_subdomain(name: str, prefix: str) -> str:
    """A subdomain from a company name: no accents or ñ, legal form dropped, within limits."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    words = [re.sub(r"[^a-z0-9]", "", w) for w in plain.lower().replace(".", "").split()]
    kept = [w for w in words if w and w not in _LEGAL_FORMS] or [w for w in words if w]
    return "".join(kept)[: naming.max_subdomain_length(prefix)]


def subdomain_form_problem(value: str) -> str | None:
    """Why `value` is not a subdomain at all (before the repository's own rules)."""
    if not SUBDOMAIN_PATTERN.fullmatch(value):
        return "letters and digits only (no accents, ñ, dots, hyphens or spaces)"
    return None


def subdomain_problem(value: str, repo: Repository) -> str | None:
    """Why the subdomain cannot be used, checked as the operator types it."""
    assert repo.reseller is not None
    if (problem := subdomain_form_problem(value)):
        return problem
    value = value.lower()
    reserved = RESERVED_SUBDOMAINS | {s.lower() for s in repo.reseller.reserved_subdomains}
    if value in reserved:
        return f"{value!r} is reserved"
    limit = naming.max_subdomain_length(repo.reseller.database_prefix)
    if len(value) > limit:
        return f"at most {limit} characters"
    existing = existing_file(repo, value)
    if existing is not None:
        return f"already used by {existing.name}"
    return None


def ruc_used_by(ruc: str, repo: Repository) -> str | None:
    return next((t.source.name for t in repo.tenants if t.spec.ruc == ruc), None)


def split_list(values: Sequence[str] | None) -> list[str]:
    """`--add-module a --add-module b,c` → [a, b, c]."""
    out: list[str] = []
    for value in values or []:
        out += [v.strip() for v in value.split(",") if v.strip()]
    return out


# ---- prompting ----------------------------------------------------------------------------

read_line: Callable[[str], str] = input  # replaced in tests


class Prompter:
    """Plain `input()` prompts: a terminal, or answers piped in one a line (each echoed, and at
    the end of the input the rest take their defaults; a required one without a default
    cancels). Work over a pty in tests too."""

    def __init__(self, out: Callable[[str], None] = print, piped: bool = False) -> None:
        self.out = out
        self.piped = piped

    def _read(self, prompt: str, fallback: str | None = None) -> str:
        try:
            answer = read_line(prompt).strip()
        except EOFError:
            if self.piped and fallback is not None:
                self.out(fallback)
                return fallback
            raise ProvisionerError("cancelled: input ended; no file was written") from None
        if self.piped:
            self.out(answer)
        return answer

    def ask(self, label: str, default: str | None = None, choices: Sequence[str] = (),
            required: bool = True, check: Callable[[str], str | None] | None = None) -> str:
        """An answer; empty takes the default; re-asks until `check` and `choices` pass."""
        hint = f" ({'/'.join(choices)})" if choices and len(choices) <= 6 else ""
        shown = f" [{default}]" if default else ""
        fallback = default if default else ("" if not required else None)
        while True:
            answer = self._read(f"{label}{hint}{shown}: ", fallback) or (default or "")
            if not answer:
                if not required:
                    return ""
                self.out("  a value is required")
                continue
            if choices and answer not in choices:
                self.out(f"  choose one of: {', '.join(choices)}")
                continue
            problem = check(answer) if check else None
            if problem:
                self.out(f"  {problem}")
                if self.piped and fallback is not None and answer == fallback:
                    raise ProvisionerError(f"cancelled: {label}: {problem}")
                continue
            return answer

    def confirm(self, label: str, default: bool) -> bool:
        while True:
            answer = self._read(f"{label} [{'Y/n' if default else 'y/N'}]: ",
                                "y" if default else "n").lower()
            if not answer:
                return default
            if answer in {"y", "yes", "s", "si", "sí"}:
                return True
            if answer in {"n", "no"}:
                return False
            self.out("  answer y or n")

    def ask_list(self, label: str, choices: Sequence[str]) -> list[str]:
        def check(value: str) -> str | None:
            unknown = [v for v in split_list([value]) if v not in choices]
            return f"unknown: {', '.join(unknown)}" if unknown else None

        self.out(f"  {label.lower()} from: {', '.join(choices)}")
        return split_list([self.ask(f"{label} (comma-separated, empty for none)",
                                    required=False, check=check)])


def stdin_is_terminal() -> bool:
    import sys

    return bool(sys.stdin is not None and sys.stdin.isatty())


def stdin_gives_answers() -> bool:
    """Answers come from stdin when it is a terminal, a pipe or a file (`printf ... | provisioner
    init`); not from /dev/null, a closed stdin or a test's captured one (flags only)."""
    import stat
    import sys

    if stdin_is_terminal():
        return True
    if sys.stdin is None:
        return False
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def prompter() -> Prompter:
    """Prompts for this process's stdin: a terminal's, or a pipe's (answers echoed)."""
    return Prompter(piped=not stdin_is_terminal())


def email_problem(value: str) -> str | None:
    from pydantic import EmailStr, TypeAdapter, ValidationError

    try:
        TypeAdapter(EmailStr).validate_python(value)
    except ValidationError as exc:
        return exc.errors()[0]["msg"].removeprefix("value is not a valid email address: ")
    return None


def soap_of(a: TenantAnswers) -> Soap | None:
    """The answers' SOAP choices as the model's `Soap` (unvalidated), to ask its own rules
    (`needs_sol_user`, `needs_sol_password`); None while a choice is not one of its values."""
    from provisioner.model.models import Soap, SoapEnvironment, SoapSend

    try:
        return Soap.model_construct(
            send=SoapSend(a.send or "sunat"),
            environment=SoapEnvironment(a.environment or "demo"),
            ose_username_format=a.ose_username_format or "ruc_user")
    except ValueError:
        return None


def needs_sol_user(a: TenantAnswers) -> bool:
    """The model's own rule (`Soap.needs_sol_user`), for the answers given so far."""
    soap = soap_of(a)
    return soap is not None and soap.needs_sol_user


def next_steps(spec: TenantSpec, reseller: ResellerSpec | None, secrets_provider: str | None,
               git_add: str | None = None) -> list[tuple[str, str]]:
    """What is still to run once the file is in the repository, as (comment, command): the
    stack with the reseller's secrets provider, each stack secret the tenant needs, then the
    stack file to commit (shell-quoted; never a secret's value)."""
    from provisioner.secrets import secrets_to_set, stack_file_note, stack_init_command

    stack = spec.subdomain
    steps = [("", stack_init_command(stack, secrets_provider))]
    steps += [(s.what, s.command(stack)) for s in secrets_to_set(spec, reseller)]
    if git_add is not None:
        steps.append((stack_file_note(stack), git_add))
    return steps


def lookup_company(ruc: str, repo: Repository, index: Path | None,
                   note: Callable[[str], None]) -> Taxpayer | None:
    """The padrón's (or the lookup service's) record for `ruc`, or None, saying why."""
    from provisioner.model.rules import ruc_problem
    from provisioner.ruc.lookup import find_taxpayer

    if ruc_problem(ruc):
        return None  # an invented RUC: nobody has it on file
    url = repo.reseller.ruc_lookup_url if repo.reseller else None
    try:
        found = find_taxpayer(ruc, index, url)
    except ProvisionerError as exc:
        note(f"RUC lookup unavailable: {exc}")
        return None
    if found is None:
        note(f"RUC {ruc} was not found by the RUC lookup")
        return None
    note(f"SUNAT: {found.name} ({found.state or '?'}, {found.condition or '?'})")
    if not found.is_active_and_located:
        note(f"warning: RUC {ruc} is not ACTIVO and HABIDO: SUNAT rejects its invoices")
    return found


def _plan_line(name: str, plan: Any) -> str:
    docs = "unlimited documents" if not plan.limit_documents else (
        f"{plan.limit_documents:,} documents")
    return f"    {name}: {plan.label or name}, {plan.pricing:g}/month, {docs}"


def _port_problem(value: str) -> str | None:
    try:
        parse_port(value)
    except ValueError:
        return "a port number, 1 to 65535, in digits 0-9"
    return None


def ask_missing(a: TenantAnswers, repo: Repository, p: Prompter,
                lookup: Callable[[str], Taxpayer | None]) -> None:
    """Ask, in the form's order, for every value the flags did not give."""
    assert repo.reseller is not None and repo.catalog is not None
    catalog = repo.catalog

    def ruc_check(value: str) -> str | None:
        from provisioner.model.rules import ruc_problem

        if not is_ascii_digits(value, 11):
            return "a RUC has 11 digits (0-9)"
        used = ruc_used_by(value, repo)
        if used:
            return f"RUC already used by {used}"
        problem = ruc_problem(value)
        if problem:
            p.out(f"  note: {problem}: only accepted for a demo or internal tenant")
        return None

    if a.ruc is None:
        a.ruc = p.ask("RUC", check=ruc_check)
    if a.company_name is None:
        found = lookup(a.ruc)
        a.company_name = p.ask("Company name (razón social)",
                               default=found.name if found else None)
    if a.trade_name is None:
        a.trade_name = p.ask("Trade name (nombre comercial; empty: the company name)",
                             required=False) or None
    if a.subdomain is None:
        suggestion = suggest_subdomain(a.trade_name or a.company_name or "",
                                       repo.reseller.database_prefix)
        if not suggestion or subdomain_problem(suggestion, repo):
            suggestion = ""
        a.subdomain = p.ask("Subdomain", default=suggestion or None,
                            check=lambda v: subdomain_problem(v, repo))
    if a.email is None:
        a.email = p.ask("Admin e-mail (the login name; nothing is sent to it)",
                        check=email_problem)
    if a.user_type is None:
        a.user_type = p.ask("User type", "admin", ("admin", "integrator"))
    if a.admin_password is None:
        a.admin_password = p.ask("Admin password", "generate", ("generate", "stack_secret"))
    if a.plan is None:
        p.out("  plans:")
        for name, plan in catalog.plans.items():
            p.out(_plan_line(name, plan))
        a.plan = p.ask("Plan", None, list(catalog.plans))
    if a.limit_emission is None:
        a.limit_emission = p.confirm("Limit emission to the plan's document quota", False)
    if a.modules is None and a.preset is None and not (a.add_modules or a.remove_modules):
        a.preset = p.ask("Modules preset (giro de negocio)", "basico", list(catalog.presets))
        base = catalog.presets[a.preset]
        a.add_modules = p.ask_list("Add modules", [m for m in catalog.modules if m not in base])
        a.remove_modules = p.ask_list("Remove modules", base)
    if a.send is None:
        a.send = p.ask("SOAP send", "sunat", ("sunat", "ose"))
    if a.environment is None:
        a.environment = p.ask("Environment", "demo", ("demo", "production", "internal"))
    if a.send == "ose":
        if a.ose_url is None:
            a.ose_url = p.ask("OSE billService URL", check=lambda v: None if re.fullmatch(
                r"https://[^\s/$.?#]\S*", v) else "an https:// URL")
        if a.ose_username_format is None:
            a.ose_username_format = p.ask("OSE username format", "ruc_user", ("ruc_user", "ruc"))
    if a.sol_user is None and needs_sol_user(a):
        a.sol_user = p.ask("SOL secondary user (without the RUC)", check=lambda v: None if (
            re.fullmatch(r"[A-Za-z0-9]{1,30}", v)) else "letters and digits, at most 30")
    if a.certificate is None and a.environment == "production":
        a.certificate = p.confirm("Signing certificate (PEM, given as a stack secret)", True)
    if not a.has_smtp and p.confirm("Own SMTP server (no: the platform's mailer)", False):
        a.smtp_host = p.ask("SMTP host", "smtp.gmail.com")
        a.smtp_port = parse_port(p.ask("SMTP port", "465", check=_port_problem))
        a.smtp_username = p.ask("SMTP username")
        a.smtp_encryption = p.ask("SMTP encryption", "ssl", ("ssl", "tls", "none"))
        a.smtp_from_address = p.ask("SMTP from address (empty: none)", required=False,
                                    check=email_problem) or None
        a.smtp_from_name = p.ask("SMTP from name (empty: none)", required=False) or None
    if a.allow_production_switch is None:
        a.allow_production_switch = p.confirm(
            "Allow the client to switch itself from demo to production", False)
