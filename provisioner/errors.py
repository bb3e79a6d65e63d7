"""Exception types of our own; the CLI edge turns them into messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field

from provisioner.safe_text import escape_controls, safe_line


@dataclass(frozen=True, order=True)
class Finding:
    """A problem in an input file, located for editors: `file:line:column: field: message`."""

    file: str
    line: int
    column: int
    field: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __post_init__(self) -> None:
        # file names, keys and messages may quote a hostile spec: never a raw control character
        # (a newline would let a pull request write `::error ...` workflow commands in CI logs)
        for name in ("file", "field", "message"):
            value = getattr(self, name)
            if not value.isprintable():
                object.__setattr__(self, name, escape_controls(value))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        label = "warning: " if self.severity == "warning" else ""
        return safe_line(f"{where}: {label}{self.field}: {self.message}" if self.field else (
            f"{where}: {label}{self.message}"
        ))

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


class ProvisionerError(Exception):
    """Base of every error the CLI reports as a message instead of a traceback."""

    exit_code = 1


class UsageError(ProvisionerError):
    exit_code = 2


@dataclass
class SpecErrors(ProvisionerError):
    """Validation failed; carries every finding, not only the first."""

    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self.findings)


class TemplateError(ProvisionerError):
    """A Jinja template failed; the message names the template and line."""


class MissingSecretError(ProvisionerError):
    """A secret the tenant needs was not provided; the message says how to provide it."""
