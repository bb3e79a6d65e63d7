"""Reports of a run: the summary table, JSON, and the Markdown PR comment (size-capped,
redacted, replacements and deletes of data and secrets in bold)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

from provisioner.doc_links import doc_url
from provisioner.orchestrate.changes import ChangeSet, StackChange
from provisioner.orchestrate.results import CHANGE_OPS, StackResult
from provisioner.redaction import Redactor

MARKER: Final = "<!-- provisioner-plan -->"
COMMENT_LIMIT: Final = 64_000
CUT_NOTE: Final = ("_Details cut to keep this comment under {limit:,} characters; run "
                   "`provisioner plan` for the full preview._")
_OP_WORD = {"create": "create", "update": "update", "replace": "replace", "delete": "delete"}


@dataclass
class RunReport:
    """Everything a command reports: results in order, planned destroys, warnings."""

    command: str
    results: list[StackResult] = field(default_factory=list)
    changeset: ChangeSet | None = None
    warnings: dict[str, list[str]] = field(default_factory=dict)
    adopted: dict[str, list[str]] = field(default_factory=dict)  # stack -> what it imports

    @property
    def failed(self) -> list[StackResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        totals = dict.fromkeys(CHANGE_OPS, 0)
        for r in self.results:
            for op in CHANGE_OPS:
                totals[op] += r.changes.get(op, 0)
        out: dict[str, Any] = {
            "command": self.command,
            "ok": self.ok,
            "stacks": len(self.results),
            "failed": [r.stack for r in self.failed],
            "totals": totals,
            "results": [r.as_dict() for r in self.results],
            "warnings": [w for ws in self.warnings.values() for w in ws],
            "adopted": self.adopted,
        }
        if self.changeset is not None:
            out["base"] = self.changeset.base
            out["head"] = self.changeset.head
            out["everything"] = self.changeset.everything
        return out


def _counts(r: StackResult) -> list[str]:
    return [str(r.changes.get(op, 0)) for op in CHANGE_OPS]


def print_summary(report: RunReport, stream: TextIO | None = None) -> None:
    """A table on a terminal (rich), aligned plain text otherwise."""
    stream = stream or sys.stdout
    headers = ["tenant", "operation", "status", "create", "update", "replace", "delete", "time"]
    rows = [[r.stack, r.operation, r.status, *_counts(r), f"{r.seconds:.1f}s"]
            for r in report.results]
    if getattr(stream, "isatty", lambda: False)():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"provisioner {report.command}")
        for h in headers:
            table.add_column(h, justify="right" if h in CHANGE_OPS or h == "time" else "left")
        for row, r in zip(rows, report.results, strict=True):
            style = "red" if not r.ok else ("yellow" if r.skipped else None)
            table.add_row(*row, style=style)
        Console(file=stream).print(table)
    else:
        widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
                  for i, h in enumerate(headers)]
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), file=stream)
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)), file=stream)
    for r in report.results:
        if r.error and not r.ok:
            print(f"{r.stack}: {r.error}", file=stream)
    for ws in report.warnings.values():
        for w in ws:
            print(f"warning: {w}", file=stream)
    failed = len(report.failed)
    print(f"{len(report.results)} stack(s), {failed} failed" if failed else
          f"{len(report.results)} stack(s), all succeeded", file=stream)


# -- Markdown -------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Neutralise Markdown table/HTML control characters in a cell."""
    return (text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", " "))


def _verdict(report: RunReport, destroys: Sequence[StackChange]) -> str:
    n = len(report.results)
    warned = sum(len(w) for w in report.warnings.values())
    if not n:
        return "✅ **No tenant stack is affected by this change.**"
    failed = len(report.failed)
    changed = sum(1 for r in report.results if r.total_changes and r.ok)
    tail = f"; ⚠️ {warned} warning(s)" if warned else ""
    if failed:
        return f"❌ **Plan failed for {failed} of {n} tenant stack(s)**{tail}."
    return (f"✅ **{n} tenant stack(s) planned: {changed} with changes, "
            f"{len(destroys)} to destroy**{tail}.")


def _step_line(step: Any) -> str:
    text = f"{_OP_WORD.get(step.op, step.op)} `{step.type}` `{step.name}`"
    if step.detail:
        text += f" — {_md(step.detail)}"
    return f"- **{text}**" if step.destructive else f"- {text}"


def adopted_imports(repo: Any, stacks: Sequence[str]) -> dict[str, list[str]]:
    """Stack -> what its first apply imports, for the adopted tenants among `stacks`."""
    from provisioner import naming
    from provisioner.app.adopt_first_apply import first_apply_imports

    wanted = set(stacks)
    return {naming.stack_name(t.spec.subdomain): first_apply_imports(
                t.spec, repo.catalog, repo.reseller.platform.ipv6)
            for t in repo.tenants if t.spec.adopted is not None
            and naming.stack_name(t.spec.subdomain) in wanted}


def _adopted_line(r: StackResult, imports: list[str]) -> str:
    if r.new_stack:
        return (f"- adopted — first apply imports {', '.join(imports)}; the app's user, grant "
                f"and rows are kept, not recreated ({doc_url('docs/adopt.md')})")
    return (f"- adopted — {', '.join(imports)} imported at this stack's first apply; "
            "the app's user, grant and rows are kept, not recreated")


def _details(r: StackResult, destroy: StackChange | None,
             imports: list[str] | None = None) -> str:
    lines: list[str] = []
    if imports is not None:
        lines.append(_adopted_line(r, imports))
    if destroy is not None:
        lines.append(f"- **destroy stack `{r.stack}`: DNS record last; the database is kept "
                     "(retain_on_delete), in production its secrets and generated values "
                     f"too** — {_md(destroy.reason)}")
    if r.error:
        lines.append(f"- error: {_md(r.error)}")
    if r.new_stack:
        lines.append(f"- new stack: not created yet; `apply` creates it with everything it "
                     f"declares (`provisioner explain {_md(r.stack)}` lists it)")
    lines += [_step_line(s) for s in r.steps]
    if not lines:
        lines.append("- no changes")
    c = r.changes
    summary = (f"{r.stack} — {r.status}: +{c['create']} ~{c['update']} ±{c['replace']} "
               f"-{c['delete']}")
    return f"<details><summary>{_md(summary)}</summary>\n\n" + "\n".join(lines) + \
        "\n\n</details>"


def markdown_comment(report: RunReport, redactor: Redactor,
                     limit: int = COMMENT_LIMIT) -> str:
    """The PR comment. Longest details are cut first until the whole fits in `limit`."""
    destroys = report.changeset.by_action("destroy") if report.changeset else []
    destroy_of = {d.stack: d for d in destroys}
    head = [MARKER, _verdict(report, destroys), ""]
    if report.changeset is not None:
        head.append(f"Compared `{_md(report.changeset.base)}...{_md(report.changeset.head)}`"
                    + (f" — every tenant: {_md(report.changeset.everything)}"
                       if report.changeset.everything else "") + ".")
        head.append("")
    warnings = [w for ws in report.warnings.values() for w in ws]
    if warnings:
        head += ["**Warnings**", "", *[f"- ⚠️ {_md(w)}" for w in warnings], ""]
    table = ["| Tenant | Action | Status | Creates | Updates | Replaces | Deletes |",
             "|---|---|---|--:|--:|--:|--:|"]
    for r in report.results:
        action = "destroy" if r.stack in destroy_of else r.operation
        counts = ["—", "—", "—", "all"] if r.stack in destroy_of and r.ok else [
            str(r.changes[op]) for op in CHANGE_OPS]
        danger = any(s.destructive for s in r.steps) or r.stack in destroy_of
        name = f"**{_md(r.stack)}**" if danger else _md(r.stack)
        if r.stack in report.adopted:
            action += " (adopted)"
        table.append(f"| {name} | {action} | {r.status} | " + " | ".join(counts) + " |")
    details = [redactor.text(_details(r, destroy_of.get(r.stack), report.adopted.get(r.stack)))
               for r in report.results]
    head = [redactor.text(x) for x in head]
    table = [redactor.text(x) for x in table]
    return _fit(head, table, details, limit)


def _fit(head: list[str], table: list[str], details: list[str], limit: int) -> str:
    def render(tbl: list[str], dts: list[str], note: bool) -> str:
        parts = ["\n".join(head), "\n".join(tbl), "", "\n\n".join(d for d in dts if d)]
        if note:
            parts += ["", CUT_NOTE.format(limit=limit)]
        return "\n".join(parts).rstrip() + "\n"

    text = render(table, details, False)
    if len(text) <= limit:
        return text
    details = list(details)
    stub = "<details><summary>{}</summary>\n\n- details cut (comment size limit)\n\n</details>"
    for i in sorted(range(len(details)), key=lambda i: len(details[i]), reverse=True):
        summary = details[i].split("</summary>", 1)[0].removeprefix("<details><summary>")
        details[i] = stub.format(summary) if details[i] else ""
        text = render(table, details, True)
        if len(text) <= limit:
            return text
    details = []
    text = render(table, details, True)
    rows = list(table)
    while len(text) > limit and len(rows) > 2:
        rows.pop()
        text = render([*rows, f"| … {len(table) - len(rows)} more rows cut | | | | | | |"], [],
                      True)
    return text[:limit]
