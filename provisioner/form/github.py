"""Open a pull request through GitHub's REST API (stdlib HTTP; the token from GITHUB_TOKEN).

As GitHub documents it (docs.github.com/en/rest/pulls/pulls#create-a-pull-request):
`POST /repos/{owner}/{repo}/pulls` with a JSON body `title`, `head`, `base`, `body`, headers
`Accept: application/vnd.github+json`, `Authorization: Bearer <token>` and
`X-GitHub-Api-Version`; 201 Created answers the pull request (`number`, `html_url`), 422 a
validation failure (`message`, `errors`). `GET /repos/{owner}/{repo}` checks the token first.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from provisioner.errors import ProvisionerError, UsageError
from provisioner.safe_text import shorten

TOKEN_ENV: Final = "GITHUB_TOKEN"
API_ENV: Final = "PROVISIONER_GITHUB_API"  # another base URL: GitHub Enterprise, tests
DEFAULT_API: Final = "https://api.github.com"
API_VERSION: Final = "2022-11-28"
TIMEOUT: Final = 30.0

# git@github.com:owner/repo.git, ssh://git@github.com/owner/repo, https://github.com/owner/repo
_REMOTE = re.compile(r"(?:[:/])([A-Za-z0-9_.\-]+)/([A-Za-z0-9_.\-]+?)(?:\.git)?/?$")
_REPO = re.compile(r"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+$")


class GitHubError(ProvisionerError):
    """GitHub refused or could not be reached; the message says what it answered."""


def repository_of(remote_url: str) -> str | None:
    """owner/name from a GitHub remote URL, or None when it does not name one."""
    if "github" not in remote_url:
        return None
    match = _REMOTE.search(remote_url)
    return f"{match[1]}/{match[2]}" if match else None


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str


class GitHub:
    """One repository's pull requests."""

    def __init__(self, repository: str, token: str, api: str = DEFAULT_API) -> None:
        if not _REPO.fullmatch(repository):
            raise UsageError(f"{repository!r} is not a GitHub repository (owner/name)")
        if not token:
            raise UsageError(f"{TOKEN_ENV} is not set: the form opens pull requests with it "
                             "(a token that may push and open pull requests on "
                             f"{repository})")
        self.repository = repository
        self._token = token
        self.api = api.rstrip("/")

    @classmethod
    def from_environment(cls, repository: str) -> GitHub:
        return cls(repository, os.environ.get(TOKEN_ENV, ""),
                   os.environ.get(API_ENV) or DEFAULT_API)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None
                 ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(f"{self.api}{path}", data=data, method=method)
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("X-GitHub-Api-Version", API_VERSION)
        request.add_header("User-Agent", "tenant-provisioner-form")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _json(exc.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GitHubError(f"cannot reach {self.api}: {shorten(str(reason))}") from None

    def _path(self) -> str:
        owner, name = self.repository.split("/")
        return f"/repos/{quote(owner)}/{quote(name)}"

    def check_access(self) -> None:
        """The token works and sees the repository; before anything is pushed."""
        status, answer = self._request("GET", self._path())
        if status == 200:
            return
        raise GitHubError(_refusal(status, answer, f"reading {self.repository}"))

    def open_pull_request(self, title: str, head: str, base: str, body: str) -> PullRequest:
        status, answer = self._request("POST", f"{self._path()}/pulls", {
            "title": title, "head": head, "base": base, "body": body})
        if status == 201 and isinstance(answer, dict) and isinstance(answer.get("html_url"), str):
            return PullRequest(int(answer.get("number") or 0), answer["html_url"])
        raise GitHubError(_refusal(status, answer, "opening the pull request"))


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _refusal(status: int, answer: Any, doing: str) -> str:
    message = answer.get("message") if isinstance(answer, dict) else None
    details = []
    if isinstance(answer, dict) and isinstance(answer.get("errors"), list):
        details = [str(e.get("message") or e.get("code") or e) if isinstance(e, dict) else str(e)
                   for e in answer["errors"]]
    hint = {401: " (the token in GITHUB_TOKEN was refused)",
            403: " (the token may not do this)",
            404: " (no such repository, or the token cannot see it)"}.get(status, "")
    said = "; ".join([str(message or "no message"), *details])
    return f"GitHub answered {status} {doing}: {shorten(said, 300)}{hint}"
