"""What the form's tests stand on: a reseller's repository in git with a bare repository on
disk as its remote, and a loopback stand-in of GitHub's pull-request endpoint that checks each
request as GitHub's REST API documents it (docs.github.com/en/rest/pulls/pulls)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GITHUB_REPO = "reseller/tenants"
TOKEN = "ghp_formtesttoken0123456789"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          timeout=60)
    return done.stdout.strip()


@dataclass
class GitRepos:
    work: Path  # the reseller's clone: reseller.yaml, tenants/
    bare: Path  # its remote, "origin"

    def remote_file(self, branch: str, path: str) -> str:
        return git(self.bare, "show", f"refs/heads/{branch}:{path}")

    def remote_branches(self) -> list[str]:
        out = git(self.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads")
        return out.split() if out else []

    def local_branches(self) -> list[str]:
        out = git(self.work, "for-each-ref", "--format=%(refname:short)", "refs/heads")
        return out.split() if out else []

    def state(self) -> tuple[str, str, str, str]:
        """What the user's checkout is: HEAD, current branch, status and index."""
        return (git(self.work, "rev-parse", "HEAD"), git(self.work, "branch", "--show-current"),
                git(self.work, "status", "--porcelain", "--untracked-files=all"),
                git(self.work, "ls-files", "--stage"))


def make_repos(tmp: Path) -> GitRepos:
    tmp.mkdir(parents=True, exist_ok=True)
    bare = tmp / "origin.git"
    work = tmp / "reseller"
    git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    shutil.copytree(EXAMPLES, work)
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "config", "user.name", "Ana Admin")
    git(work, "config", "user.email", "ana@reseller.example.pe")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "tenants")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "--quiet", "-u", "origin", "main")
    return GitRepos(work, bare)


@dataclass
class GitHubStandIn:
    """Answers GET /repos/{repo} and POST /repos/{repo}/pulls like GitHub; records the
    requests and the problems found in them."""

    bare: Path
    token: str = TOKEN
    repo: str = GITHUB_REPO
    pulls_status: int = 201  # another status to make GitHub refuse
    requests: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def pulls(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST"]

    def start(self) -> GitHubStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _check_headers(self) -> None:
                h = self.headers
                if h.get("Accept") != "application/vnd.github+json":
                    stand_in.problems.append(f"Accept: {h.get('Accept')}")
                if h.get("Authorization") != f"Bearer {stand_in.token}":
                    stand_in.problems.append("Authorization is not the Bearer token")
                if h.get("X-GitHub-Api-Version") != "2022-11-28":
                    stand_in.problems.append(f"X-GitHub-Api-Version: "
                                             f"{h.get('X-GitHub-Api-Version')}")

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._check_headers()
                stand_in.requests.append({"method": "GET", "path": self.path})
                if self.headers.get("Authorization") != f"Bearer {stand_in.token}":
                    return self._answer(401, {"message": "Bad credentials"})
                if self.path != f"/repos/{stand_in.repo}":
                    return self._answer(404, {"message": "Not Found"})
                self._answer(200, {"full_name": stand_in.repo})

            def do_POST(self) -> None:
                self._check_headers()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                body = json.loads(raw) if raw else None
                stand_in.requests.append({"method": "POST", "path": self.path, "body": body,
                                          "headers": dict(self.headers)})
                if self.path != f"/repos/{stand_in.repo}/pulls":
                    return self._answer(404, {"message": "Not Found"})
                if self.headers.get("Content-Type") != "application/json":
                    stand_in.problems.append("body is not sent as application/json")
                if not isinstance(body, dict) or not all(
                        isinstance(body.get(k), str) for k in ("title", "head", "base", "body")):
                    stand_in.problems.append(f"body lacks title/head/base/body: {body!r}")
                    return self._answer(422, {"message": "Validation Failed"})
                heads = subprocess.run(["git", "show-ref", "--verify", "--quiet",
                                        f"refs/heads/{body['head']}"], cwd=stand_in.bare,
                                       check=False).returncode
                if heads != 0:  # GitHub: 422 when head is not a branch of the repository
                    return self._answer(422, {"message": "Validation Failed", "errors": [
                        {"resource": "PullRequest", "field": "head", "code": "invalid"}]})
                if stand_in.pulls_status != 201:
                    return self._answer(stand_in.pulls_status, {
                        "message": "Validation Failed",
                        "errors": [{"message": "A pull request already exists"}]})
                number = len(stand_in.pulls)
                self._answer(201, {"number": number, "html_url":
                                   f"https://github.com/{stand_in.repo}/pull/{number}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Served:
    """A running `provisioner form` and what it works on."""

    url: str
    token: str
    process: subprocess.Popen[str]
    repos: GitRepos
    github: GitHubStandIn

    def output(self) -> str:
        """Everything the server printed (it is stopped first)."""
        if self.process.poll() is None:
            self.process.terminate()
        out, err = self.process.communicate(timeout=30)
        return out + err


class FormServers:
    """Starts `provisioner form` servers on fresh repositories; stops them all on exit."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: list[Served] = []

    def __enter__(self) -> FormServers:
        return self

    def __exit__(self, *exc: object) -> None:
        for served in self.started:
            if served.process.poll() is None:
                served.process.terminate()
                served.process.wait(timeout=30)
            served.github.stop()

    def index(self) -> Path:
        from tests.padron_sample import STRUCK_OFF, padron_index

        index = self.tmp / "padron.sqlite3"
        return index if index.exists() else padron_index(self.tmp, STRUCK_OFF)

    def start(self, edit: Callable[[Path], None] | None = None) -> Served:
        repos = make_repos(self.tmp / f"r{len(self.started)}")
        if edit is not None:
            edit(repos.work)
            git(repos.work, "commit", "--quiet", "-am", "edit")
            git(repos.work, "push", "--quiet", "origin", "main")
        github = GitHubStandIn(repos.bare).start()
        env = dict(os.environ, GITHUB_TOKEN=TOKEN, PROVISIONER_GITHUB_API=github.url,
                   PROVISIONER_PADRON_INDEX=str(self.index()))
        process = subprocess.Popen(
            [sys.executable, "-m", "provisioner", "--repo", str(repos.work), "form",
             "--port", "0", "--github-repo", GITHUB_REPO],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert process.stdout is not None
        first, second = process.stdout.readline(), process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", first)
        if not (match and second.startswith("login token: ")):
            process.kill()
            raise AssertionError(first + second + process.communicate()[1])
        served = Served(match[1], second.split()[-1], process, repos, github)
        self.started.append(served)
        return served
