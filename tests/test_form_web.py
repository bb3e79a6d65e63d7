"""The form's web server at the HTTP level: loopback by default, the login token, the session
cookie, CSRF on every POST, the Host allow-list, security headers, and the refusals that come
before the server starts."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.form_env import TOKEN, FormServers, Served, git, make_repos


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with FormServers(tmp_path) as servers:
        yield servers.start()


class Client:
    """HTTP/1.1 to the form with the cookies it sets (no redirects followed)."""

    def __init__(self, served: Served) -> None:
        parts = urlsplit(served.url)
        self.host, self.port = parts.hostname or "", parts.port or 80
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        sent = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for key, value in response.getheaders():
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";")[0]
        found = {k.lower(): v for k, v in response.getheaders()}
        found["set-cookie"] = "\n".join(v for k, v in response.getheaders()
                                        if k.lower() == "set-cookie")
        conn.close()
        return response.status, found, text

    def csrf(self) -> str:
        return self.cookies["provisioner_form_csrf"]

    def login(self, token: str) -> int:
        self.request("GET", "/")
        body = f"csrf={self.csrf()}&token={token}".encode()
        status, _, _ = self.request("POST", "/login", body, {
            "Content-Type": "application/x-www-form-urlencoded"})
        return status

    def post_json(self, path: str, payload: object, csrf: str | None = None,
                  headers: dict[str, str] | None = None) -> tuple[int, object]:
        status, _, text = self.request("POST", path, json.dumps(payload).encode(), {
            "Content-Type": "application/json",
            "X-CSRF-Token": self.csrf() if csrf is None else csrf, **(headers or {})})
        return status, json.loads(text) if text.startswith("{") else text


def test_it_listens_on_loopback_and_asks_for_the_token_first(served: Served) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    client = Client(served)
    status, headers, text = client.request("GET", "/")
    assert status == 200 and "Token de acceso" in text and "tenant-form" not in text
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=strict" in headers["set-cookie"]
    assert client.post_json("/api/check", {})[0] == 401  # no session: nothing answered


def test_login_needs_the_token_and_the_pages_csrf_token(served: Served) -> None:
    client = Client(served)
    assert client.login("not-the-token") == 401
    assert "provisioner_form_session" not in client.cookies
    client.request("GET", "/")
    status, _, _ = client.request("POST", "/login", f"token={served.token}".encode(),
                                  {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403  # no CSRF token: refused even with the right login token
    assert client.login(served.token) == 303
    status, _, text = client.request("GET", "/")
    assert status == 200 and 'id="tenant-form"' in text
    assert served.token not in text  # the login token is never echoed


def test_every_post_needs_the_csrf_token_and_this_servers_origin(served: Served) -> None:
    client = Client(served)
    assert client.login(served.token) == 303
    assert client.post_json("/api/check", {}, csrf="forged")[0] == 403
    assert client.post_json("/api/check", {}, csrf="")[0] == 403
    assert client.post_json("/api/save", {}, headers={
        "Origin": "http://evil.example"})[0] == 403
    status, _, _ = client.request("POST", "/api/check", b"ruc=1", {
        "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": client.csrf()})
    assert status == 415  # a plain HTML form cannot post to the JSON endpoints
    status, answer = client.post_json("/api/check", {"ruc": "20131312956"})
    assert status == 200 and isinstance(answer, dict)
    assert "invalid check digit" in answer["fields"]["ruc"][0]["text"]


def test_another_host_name_is_refused_dns_rebinding(served: Served) -> None:
    client = Client(served)
    status, _, _ = client.request("GET", "/", headers={"Host": "attacker.example:80"})
    assert status == 400


def test_the_ruc_lookup_fills_the_company_name_from_the_padron(served: Served) -> None:
    client = Client(served)
    client.login(served.token)
    status, answer = client.post_json("/api/ruc", {"ruc": "20131312955"})
    assert status == 200 and isinstance(answer, dict)
    assert answer["found"] and answer["name"].startswith("SUPERINTENDENCIA NACIONAL")
    _, answer = client.post_json("/api/ruc", {"ruc": "20100070970"})
    assert isinstance(answer, dict) and any("not ACTIVO and HABIDO" in n
                                            for n in answer["notes"])


def test_a_save_with_errors_writes_nothing_and_says_where(served: Served) -> None:
    client = Client(served)
    client.login(served.token)
    status, answer = client.post_json("/api/save", {"ruc": "20600055519", "subdomain": "www"})
    assert status == 200 and isinstance(answer, dict) and answer["ok"] is False
    assert "RUC already used by tenants/hotelsol.yaml" in json.dumps(answer)
    assert answer["fields"]["author_name"] == [{"text": "a value is required",
                                                "severity": "error"}]
    assert served.repos.remote_branches() == ["main"] and served.github.requests == []


def run_form(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "provisioner", *args, "form", "--port", "0"],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_what_it_cannot_work_with_is_refused_before_it_starts(tmp_path: Path) -> None:
    repos = make_repos(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
    done = run_form("--repo", str(repos.work), env=env, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is not a GitHub repository; name the repository" in done.stderr  # a path remote

    git(repos.work, "remote", "set-url", "origin", "git@github.com:reseller/tenants.git")
    done = run_form("--repo", str(repos.work), env=env, cwd=tmp_path)
    assert done.returncode == 2 and re.search(r"GITHUB_TOKEN is not set", done.stderr)

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "reseller.yaml").write_text((repos.work / "reseller.yaml").read_text())
    done = run_form("--repo", str(plain), env=dict(env, GITHUB_TOKEN=TOKEN,
                                                     GIT_CEILING_DIRECTORIES=str(tmp_path)),
                    cwd=tmp_path)
    assert done.returncode == 1 and "is not inside a git work tree" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_reseller_file_broken_while_it_runs_is_said_not_a_crash(served: Served) -> None:
    client = Client(served)
    client.login(served.token)
    (served.repos.work / "reseller.yaml").write_text("base_domain: [\n")
    status, answer = client.post_json("/api/check", {"ruc": "20131312955"})
    assert status == 200 and isinstance(answer, dict) and answer["ok"] is False
    assert "the repository cannot be used now" in answer["general"][0]["text"]
    status, answer = client.post_json("/api/save", {"ruc": "20131312955"})
    assert isinstance(answer, dict) and answer["ok"] is False
    assert "Traceback" not in served.output()
