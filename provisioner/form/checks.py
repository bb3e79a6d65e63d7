"""The form's live checks: the file `new` would write from the answers, judged by exactly what
`validate` runs (the models, the catalog rules, the rules between accounts), each message
placed next to the field it is about. No rule is written here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner import newtenant as nt
from provisioner.form.fields import (
    SECRET_FIELDS,
    FormAnswers,
    answers_from,
    form_field_of,
    visible_fields,
)
from provisioner.model.loader import Repository
from provisioner.model.models import TenantSpec

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

    @property
    def ok(self) -> bool:
        return self.spec is not None and not any(
            m.severity == "error" for ms in self.fields.values() for m in ms)

    def add(self, name: str | None, message: Message) -> None:
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
    text = nt.render_yaml(nt.tenant_document(a), modeline=nt.schema_comment(repo.root),
                          made_by=MADE_BY)
    spec, findings = nt.check_new_tenant(repo, path, text, flag_hints=False,
                                         always_cross=True)
    relative = path.relative_to(repo.root).as_posix()
    ev = Evaluation(form, relative, text, spec, visible=visible_fields(form))
    missing = set(a.missing())  # TenantAnswers' names are the form's
    for m in sorted(missing):
        ev.add(m, Message(REQUIRED))
    for f in findings:
        target = form_field_of(f.field) if f.file == path.name or f.file.endswith(
            relative) else None
        if target in missing:
            continue  # "required" says it; the model's "should be a string" would not help
        if f.field == "subdomain" and not name:
            continue
        ev.add(target, Message(f.message, f.severity))
    if name and "subdomain" not in ev.fields and (problem := nt.subdomain_problem(name, repo)):
        ev.add("subdomain", Message(problem))  # also another suffix's file (.yml)
    if a.smtp_from_address and (problem := nt.email_problem(a.smtp_from_address)):
        ev.add("smtp_from_address", Message(problem))
    if for_save or form.author_name or form.author_email:
        _check_author(ev, form)
    return ev


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
    typed = {SECRET_FIELDS[k].what for k in ev.form.secrets_given}
    return [(what, command, what in typed) for what, command in nt.next_steps(ev.spec)]
