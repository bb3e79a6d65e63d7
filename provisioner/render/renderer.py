"""A Jinja environment compiled once, reading `tenant_templates/` with per-file overrides."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import jinja2

from provisioner.errors import TemplateError
from provisioner.model.models import ResellerSpec
from provisioner.package_data import templates_dir
from provisioner.render.quoting import ENV_PRELUDE, env_quote

DEFAULT_TEMPLATES_DIR: Final = templates_dir()  # shipped as package data
DOCUMENTS: Final = ("tenant.env", "bootstrap.json")


def _tojson(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class Renderer:
    """Renders the tenant documents; templates are parsed once and reused for every tenant."""

    def __init__(self, override_dir: Path | None = None,
                 default_dir: Path = DEFAULT_TEMPLATES_DIR) -> None:
        if not default_dir.is_dir():
            raise TemplateError(f"templates directory not found: {default_dir}")
        if override_dir is not None and not override_dir.is_dir():
            raise TemplateError(f"templates_dir {override_dir} is not a directory")
        search = [str(override_dir)] if override_dir else []
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*search, str(default_dir)]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.env.filters["env"] = env_quote
        self.env.filters["tojson"] = _tojson
        self.env.globals["env_prelude"] = ENV_PRELUDE
        self._templates: dict[str, jinja2.Template] = {}

    def template(self, document: str) -> jinja2.Template:
        name = f"{document}.j2"
        if name not in self._templates:
            try:
                self._templates[name] = self.env.get_template(name)
            except jinja2.TemplateNotFound as exc:
                raise TemplateError(f"template {exc.name} not found") from None
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(
                    f"{exc.filename or exc.name}:{exc.lineno}: syntax error: {exc.message}"
                ) from None
        return self._templates[name]

    def render(self, document: str, context: dict[str, Any]) -> str:
        template = self.template(document)
        try:
            return template.render(context)
        except Exception as exc:  # undefined variables and failing filters alike
            line = _template_line(exc.__traceback__, template.filename or "")
            if isinstance(exc, jinja2.UndefinedError):
                raise TemplateError(
                    f"{template.filename}:{line}: undefined variable: {exc}") from None
            # other exceptions' text may quote the value being handled, a secret included
            raise TemplateError(f"{template.filename}:{line}: {type(exc).__name__} (its message "
                                "is not shown: it could quote a secret value)") from None

    def render_all(self, context: dict[str, Any]) -> dict[str, str]:
        return {doc: self.render(doc, context) for doc in DOCUMENTS}


def _template_line(tb: TracebackType | None, filename: str) -> int | str:
    """Jinja rewrites tracebacks so template frames carry the template's own line numbers."""
    line: int | str = "?"
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def renderer_for(reseller: ResellerSpec, root: Path) -> Renderer:
    """The renderer for a repository, honouring the reseller file's `templates_dir`, which
    must be a directory inside the repository (validation says so too; this is the guard for
    callers that did not validate)."""
    if not reseller.templates_dir:
        return Renderer(None)
    base = root.resolve()
    override = (base / reseller.templates_dir).resolve()
    if not override.is_relative_to(base):
        raise TemplateError("templates_dir must be a directory inside the spec repository")
    return Renderer(override)
