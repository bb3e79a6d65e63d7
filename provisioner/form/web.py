"""The form's web app (Starlette): pages, the JSON endpoints the page calls as the admin types,
and what keeps a local web page safe: a login token, an HttpOnly session cookie, a CSRF token
on every POST, a Host allow-list (DNS rebinding), a strict Content-Security-Policy."""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provisioner import naming
from provisioner.errors import ProvisionerError
from provisioner.form import fields as F
from provisioner.form.checks import Evaluation, evaluate
from provisioner.form.github import GitHub
from provisioner.form.gitwrite import Target
from provisioner.form.saving import Saved, save
from provisioner.model.repository import Repository, load_repository

SESSION_COOKIE: Final = "provisioner_form_session"
CSRF_COOKIE: Final = "provisioner_form_csrf"
CSRF_HEADER: Final = "x-csrf-token"
MAX_BODY: Final = 256 * 1024  # a form's JSON is a few kB
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self'; connect-src 'self'; form-action 'self'; "
                                "base-uri 'none'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on a
    # same-origin form POST, which the CSRF check would refuse
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class FormState:
    """One running form: where it reads and writes, and who is logged in."""

    spec_root: Path
    target: Target
    github: GitHub
    login_token: str
    index: Path | None = None
    author: tuple[str, str] = ("", "")
    log: Callable[[str], None] = print
    allowed_hosts: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost"])
    sessions: set[str] = field(default_factory=set)
    saved: dict[str, Saved] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _repo: tuple[tuple[int, ...], Repository] | None = None

    def repository(self) -> Repository:
        """The repository as on disk now (re-read when tenants/ or reseller.yaml changed)."""
        stamp = tuple(_mtime(self.spec_root / name) for name in
                      ("reseller.yaml", "reseller.yml", "tenants"))
        if self._repo is None or self._repo[0] != stamp:
            repo = load_repository(self.spec_root)
            if repo.reseller is None or repo.catalog is None:
                from provisioner.errors import SpecErrors

                raise SpecErrors(sorted(repo.errors))
            self._repo = (stamp, repo)
        return self._repo[1]


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("provisioner.form", "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    html = _templates.get_template(name).render(csrf=csrf, **context)
    response = HTMLResponse(html, status_code=status)
    if request.cookies.get(CSRF_COOKIE) != csrf:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
    return response


def _logged_in(state: FormState, request: Request) -> bool:
    session = request.cookies.get(SESSION_COOKIE, "")
    return any(hmac.compare_digest(session, s) for s in state.sessions)


def _csrf_ok(request: Request, submitted: str | None) -> bool:
    """The token the page carries equals its cookie (a cross-site page can read neither), and
    a browser's Origin, when sent, is this server's own."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
        return False
    return bool(cookie and submitted) and hmac.compare_digest(cookie, submitted or "")


def build_app(state: FormState) -> Starlette:
    async def index(request: Request) -> Response:
        if not _logged_in(state, request):
            return _page(request, "login.html", error="")
        try:
            repo = await run_in_threadpool(state.repository)
        except ProvisionerError as exc:
            return _page(request, "login.html", 503, error=_unusable(exc)["general"][0]["text"])
        ev = await run_in_threadpool(evaluate, _initial_payload(repo, state), repo)
        return _page(request, "form.html", **_form_context(repo, ev, state))

    async def login(request: Request) -> Response:
        body = (await request.body())[:4096].decode("utf-8", "replace")
        data = {k: v[0] for k, v in parse_qs(body).items()}
        if not _csrf_ok(request, data.get("csrf")):
            return _page(request, "login.html", 403, error="La página caducó: vuelva a "
                                                             "cargarla e intente otra vez.")
        if not hmac.compare_digest(data.get("token", "").strip(), state.login_token):
            return _page(request, "login.html", 401, error="Token incorrecto.")
        session = secrets.token_urlsafe(32)
        state.sessions.add(session)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")
        return response

    async def _json_post(request: Request) -> dict[str, Any] | Response:
        if not _logged_in(state, request):
            return JSONResponse({"error": "no ha iniciado sesión"}, status_code=401)
        if not _csrf_ok(request, request.headers.get(CSRF_HEADER)):
            return JSONResponse({"error": "CSRF token missing or wrong"}, status_code=403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "expected application/json"}, status_code=415)
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            return JSONResponse({"error": "request too large"}, status_code=413)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return JSONResponse({"error": "request too large"}, status_code=413)
        try:
            payload = json.loads(raw)
        except ValueError:
            return JSONResponse({"error": "not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "expected a JSON object"}, status_code=400)
        return payload

    async def check(request: Request) -> Response:
        payload = await _json_post(request)
        if isinstance(payload, Response):
            return payload
        try:
            repo = await run_in_threadpool(state.repository)
        except ProvisionerError as exc:  # reseller.yaml broken while the form runs
            return JSONResponse(_unusable(exc))
        ev = await run_in_threadpool(evaluate, payload, repo)
        return JSONResponse(ev.as_dict())

    async def ruc(request: Request) -> Response:
        payload = await _json_post(request)
        if isinstance(payload, Response):
            return payload
        value = str(payload.get("ruc") or "").strip()
        repo = await run_in_threadpool(state.repository)
        notes: list[str] = []

        def lookup() -> Any:
            from provisioner.newtenant import lookup_company

            return lookup_company(value, repo, state.index, notes.append)

        found = await run_in_threadpool(lookup)
        return JSONResponse({"found": found is not None,
                             "name": found.name if found else "", "notes": notes})

    async def save_endpoint(request: Request) -> Response:
        payload = await _json_post(request)
        if isinstance(payload, Response):
            return payload
        return JSONResponse(await run_in_threadpool(_save, state, payload))

    async def saved(request: Request) -> Response:
        if not _logged_in(state, request):
            return _page(request, "login.html", error="")
        result = state.saved.get(request.path_params["key"])
        if result is None:
            return _page(request, "login.html", 404, error="No hay tal resultado.")
        return _page(request, "saved.html", saved=result)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/api/check", check, methods=["POST"]),
        Route("/api/ruc", ruc, methods=["POST"]),
        Route("/api/save", save_endpoint, methods=["POST"]),
        Route("/saved/{key}", saved, methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("provisioner.form", "static")]), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[
        Middleware(_SecurityHeaders),
        Middleware(TrustedHostMiddleware, allowed_hosts=state.allowed_hosts)])
    app.state.form = state
    return app


class _SecurityHeaders:
    """Every response, errors included, carries SECURITY_HEADERS (a plain ASGI middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _unusable(exc: ProvisionerError) -> dict[str, Any]:
    """The answer while the repository cannot be read (its reseller file broken meanwhile)."""
    return {"ok": False, "fields": {}, "visible": {}, "yaml": "", "path": "",
            "general": [{"text": f"the repository cannot be used now: {exc}",
                         "severity": "error"}]}


def _save(state: FormState, payload: dict[str, Any]) -> dict[str, Any]:
    with state._lock:  # one save at a time: two tabs cannot race for one subdomain
        try:
            repo = state.repository()
        except ProvisionerError as exc:
            return _unusable(exc)
        ev = evaluate(payload, repo, for_save=True)
        if not ev.ok:
            return ev.as_dict()
        try:
            result = save(ev, state.target, state.github)
        except ProvisionerError as exc:
            data = ev.as_dict()
            data["ok"] = False
            data["general"].append({"text": str(exc), "severity": "error"})
            return data
        key = secrets.token_urlsafe(16)
        state.saved[key] = result
        state.log(f"opened {result.pull_request.url} for {result.path} "
                  f"(branch {result.branch})")
        return {"ok": True, "result_url": f"/saved/{key}"}


def _initial_payload(repo: Repository, state: FormState) -> dict[str, Any]:
    """The dialog's initial state: its defaults, every module and level ticked (create())."""
    assert repo.catalog is not None
    payload: dict[str, Any] = dict(F.DEFAULTS)
    payload["modules"] = list(repo.catalog.modules)
    payload["levels"] = [f"{m.value}:{lv}" for m in repo.catalog.modules.values()
                         for lv in m.levels]
    payload["author_name"], payload["author_email"] = state.author
    return payload


def _form_context(repo: Repository, ev: Evaluation, state: FormState) -> dict[str, Any]:
    assert repo.reseller is not None and repo.catalog is not None
    catalog = repo.catalog
    initial = _initial_payload(repo, state)
    return {
        "labels": F.LABELS, "value_labels": F.VALUE_LABELS, "initial": initial,
        "visible": ev.visible, "yaml": ev.text, "path": ev.path,
        "base_domain": "." + repo.reseller.base_domain,
        "subdomain_max": naming.max_subdomain_length(repo.reseller.database_prefix),
        "plans": [(name, plan.label or name, F.plan_summary(plan))
                  for name, plan in catalog.plans.items()],
        "presets": [(name, F.PRESET_LABELS.get(name, name), " ".join(mods))
                    for name, mods in catalog.presets.items()],
        "tree": F.module_tree(catalog),
        "target": state.target, "github_repository": state.github.repository,
        "account_count": repo.tenant_files, "max_accounts": repo.reseller.max_accounts,
    }
