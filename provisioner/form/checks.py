"""The form's live checks: the file `new` would write from the answers, judged by exactly what
`validate` runs (the models, the catalog rules, the rules between accounts), each message
placed next to the field it is about. No rule is written here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from provisioner import newtenant as nt
from provisioner.errors import Finding
from provisioner.form.fields import (
    SECRET_FIELDS,
    FormAnswers,
    answers_from,
    form_field_of,
    visible_fields,
)
from provisioner.model.display import display_path
from provisioner.model.layout import TENANTS_DIRNAME
from provisioner.model.models import TenantSpec
from provisioner.model.repository import Repository
from provisioner.newtenant import TenantAnswers

MADE_BY = "provisioner form"
# the prompts' own words for a missing value (newtenant.Prompter.ask)
REQUIRED = "a value is required"


@dataclass(frozen=True)
class Message:
    text: str
    severity: str = "error"  # "error" | "warning"

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "severity": self.severity}


@dataclass
class Evaluation:
    """What the form shows for one state of its fields."""

    form: FormAnswers
    path: str  # tenants/<subdomain>.yaml, relative to the repository
    text: str  # the file as it would be written
    spec: TenantSpec | None  # None while anything is wrong
    fields: dict[str, list[Message]] = field(default_factory=dict)
    general: list[Message] = field(default_factory=list)
    visible: dict[str, bool] = field(default_factory=dict)
    root_prefix: str = ""  # the repository's directory as findings name it, with "/"

    @property
    def ok(self) -> bool:
        return self.spec is not None and not any(
            m.severity == "error" for ms in self.fields.values() for m in ms)

    def add(self, name: str | None, message: Message) -> None:
        if self.root_prefix:  # other files named from the repository's top, not the cwd's
            message = Message(message.text.replace(self.root_prefix, ""), message.severity)
        if name is None:
            self.general.append(message)
        elif message not in self.fields.setdefault(name, []):
            self.fields[name].append(message)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "path": self.path, "yaml": self.text,
                "visible": self.visible,
                "fields": {k: [m.as_dict() for m in v] for k, v in self.fields.items()},
                "general": [m.as_dict() for m in self.general]}


def evaluate(payload: Mapping[str, Any], repo: Repository, *, for_save: bool = False
             ) -> Evaluation:
    """Check the form's state; `for_save` also requires the commit's author."""
    assert repo.reseller is not None and repo.catalog is not None
    form = answers_from(payload, repo.catalog)
    a = form.answers
    name = (a.subdomain or "").lower()
    path = nt.tenant_path(repo, name or "_")
    text = _text(repo, a)
    relative = path.relative_to(repo.root).as_posix() if name else (
        f"{TENANTS_DIRNAME}/<subdominio>.yaml")
    missing = set(a.missing())  # TenantAnswers' names are the form's
    # a subdomain whose file exists: said by `new`'s own check, and held (below), since the
    # file checked must not be the existing one
    taken = {"subdomain"} if name and nt.existing_file(repo, name) else set()
    spec: TenantSpec | None = None
    findings: list[Finding] = []
    if not missing and not taken:
        spec, found = nt.check_new_tenant(repo, path, text, flag_hints=False,
                                          always_cross=True)
        findings = _own(found, path)
    ev = Evaluation(form, relative, text, spec, visible=visible_fields(form),
                    root_prefix=_root_prefix(repo))
    for m in sorted(missing):
        ev.add(m, Message(REQUIRED))
    for f in findings:
        ev.add(form_field_of(f.field), Message(f.message, f.severity))
    # The models judge a whole file: a field left empty, or refused by the model, keeps the
    # catalog rules and the rules between accounts from running on the others. Such fields
    # are held at a stand-in value the model takes, and their own findings dropped, so each
    # field typed so far is judged as soon as it is typed (at most two more runs).
    held: set[str] = set()
    for _ in range(2):
        if spec is not None:
            break
        errors = {form_field_of(f.field) for f in findings if f.severity == "error"}
        grown = (missing | taken | (errors & _HOLDABLE)) - held
        if not grown:
            break
        held |= grown
        probe = _held(a, held, repo)
        probe_path = nt.tenant_path(repo, probe.subdomain or "_")
        findings = _own(nt.check_new_tenant(repo, probe_path, _text(repo, probe),
                                            flag_hints=False, always_cross=True)[1],
                        probe_path)
        for f in findings:
            target = form_field_of(f.field)
            if target not in held:
                ev.add(target, Message(f.message, f.severity))
    if name and "subdomain" not in ev.fields and (problem := nt.subdomain_problem(name, repo)):
        ev.add("subdomain", Message(problem))  # also another suffix's file (.yml)
    if for_save or form.author_name or form.author_email:
        _check_author(ev, form)
    return ev


# Values the model takes for a field held back (see `evaluate`); never written anywhere.
_STAND_INS: dict[str, str] = {
    "ruc": "20000000002", "company_name": "Nuevo cliente del formulario",
    "subdomain": "nuevoclienteformulario", "email": "nuevo@formulario.example.pe",
}


_HOLDABLE = frozenset({*_STAND_INS, "plan"})


def _held(a: TenantAnswers, held: set[str], repo: Repository) -> TenantAnswers:
    assert repo.catalog is not None
    values: dict[str, Any] = {k: v for k, v in _STAND_INS.items() if k in held}
    if "plan" in held:
        values["plan"] = next(iter(repo.catalog.plans))
    return replace(a, **values)


def _text(repo: Repository, a: TenantAnswers) -> str:
    return nt.render_yaml(nt.tenant_document(a), modeline=nt.schema_comment(repo.root),
                          made_by=MADE_BY)


def _root_prefix(repo: Repository) -> str:
    shown = display_path(repo.root)
    return "" if shown in ("", ".") else shown.rstrip("/") + "/"


def _own(findings: list[Finding], path: Path) -> list[Finding]:
    """The findings about this file, and those about the whole repository (max_accounts) as
    the form's general messages (their field maps to no form field)."""
    shown = display_path(path)
    return [f for f in findings if f.file == shown or f.field == "max_accounts"]


def _check_author(ev: Evaluation, form: FormAnswers) -> None:
    if not form.author_name:
        ev.add("author_name", Message(REQUIRED))
    if not form.author_email:
        ev.add("author_email", Message(REQUIRED))
    elif problem := nt.email_problem(form.author_email):
        ev.add("author_email", Message(problem))


def pending_secrets(ev: Evaluation) -> list[tuple[str, str, bool]]:
    """(what, command, typed in the form) for each step still to run after the merge."""
    assert ev.spec is not None
    import os

    from provisioner.secrets import SECRETS_PROVIDER_ENV

    typed = {SECRET_FIELDS[k].what for k in ev.form.secrets_given}
    steps = nt.next_steps(ev.spec, None, os.environ.get(SECRETS_PROVIDER_ENV))
    return [(what, command, what in typed) for what, command in steps]
