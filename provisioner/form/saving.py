""""Guardar": the checked tenant file on a new branch, pushed, and a pull request opened; or
one clear refusal, with nothing left half-done."""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.form.checks import Evaluation, pending_secrets
from provisioner.form.github import GitHub, GitHubError, PullRequest
from provisioner.form.gitwrite import GitError, Proposal, Published, Target, branch_name
from provisioner.form.gitwrite import publish as publish_branch
from provisioner.form.gitwrite import withdraw as withdraw_branch


@dataclass(frozen=True)
class Saved:
    """What the result page shows: never a secret's value."""

    title: str
    path: str  # inside the git repository
    branch: str
    base: str
    pull_request: PullRequest
    text: str  # the file as committed
    steps: list[tuple[str, str, bool]]  # (what, command, typed in the form)


def title_of(ev: Evaluation) -> str:
    assert ev.spec is not None
    return f"Nuevo cliente: {ev.spec.company_name} ({ev.spec.subdomain})"


def body_of(ev: Evaluation, path: str) -> str:
    """The pull request's description: what the account is and what is still to run."""
    assert ev.spec is not None
    spec = ev.spec
    lines = [f"Adds `{path}`, written with `provisioner form` (the \"Nuevo cliente\" form) "
             "and checked with `provisioner validate`'s rules.", "",
             f"- RUC: {spec.ruc}", f"- Empresa: {spec.company_name}",
             f"- Subdominio: {spec.subdomain}", f"- Plan: {spec.plan}",
             f"- SOAP: {spec.soap.send.value} {spec.soap.environment.value}", "",
             "After the merge, the stack and its secrets (values never in git):", "", "```sh"]
    lines += [f"# {what}\n{command}" if what else command
              for what, command, _ in pending_secrets(ev)]
    lines.append("```")
    return "\n".join(lines) + "\n"


def save(ev: Evaluation, target: Target, github: GitHub) -> Saved:
    """Push the evaluated file and open its pull request. GitError / GitHubError say why not;
    a pull request GitHub refuses takes its pushed branch back."""
    assert ev.ok and ev.spec is not None
    github.check_access()  # a refused token stops here, before anything is pushed
    title = title_of(ev)
    path = f"{target.prefix}{ev.path}"
    body = body_of(ev, path)
    proposal = Proposal(ev.path, ev.text, branch_name(ev.spec.subdomain),
                        f"{title}\n\n{body}", ev.form.author_name, ev.form.author_email)
    published: Published = publish_branch(target, proposal)
    try:
        pr = github.open_pull_request(title, published.branch, target.base, body)
    except GitHubError as exc:
        left = withdraw_branch(target, published)
        undone = ("; could not remove " + ", ".join(left)) if left else (
            f"; the branch {published.branch} was removed again")
        raise GitHubError(f"{exc}{undone}") from None
    return Saved(title, published.path, published.branch, target.base, pr, ev.text,
                 pending_secrets(ev))


__all__ = ["GitError", "GitHubError", "Saved", "save"]
