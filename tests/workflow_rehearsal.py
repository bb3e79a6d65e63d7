"""A small, strict GitHub Actions runner for rehearsing .github/workflows/*.yml on this machine.

It runs each job's steps in order, in a fresh clone of a local "origin" repository, with:
- the `run:` steps executed by `bash -e` as GitHub does, with GITHUB_OUTPUT, GITHUB_ENV,
  GITHUB_PATH, GITHUB_STEP_SUMMARY and RUNNER_TEMP, and `${{ }}` expressions evaluated over the
  github, vars, secrets, needs, matrix, steps and env contexts (a missing secret is "", as on
  GitHub);
- the actions replaced by what they do to the runner: checkout (a clone at the requested ref,
  full history and tags with fetch-depth 0, one commit otherwise), setup-python (nothing: the
  `python` on PATH is this machine's), pulumi/actions (puts the recording `pulumi` stand-in on
  PATH), configure-aws-credentials (records the role), upload/download-artifact (a directory);
- recording stand-ins for `pulumi` and `gh` (tests/standins/), and a `python` whose `-m venv`
  makes a real venv that sees this project's already-installed third-party packages (pip
  included) through a .pth file, so `pip install -r requirements.txt` works offline and fast.
  The checkout's own package is NOT visible unless the workflow installs it.

Jobs run in `needs` order; a matrix runs each entry as its own job; `if:` is evaluated with
success()/always(); jobs named in `cancel_after` end the run there, the rest are "cancelled".
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
STANDINS = Path(__file__).resolve().parent / "standins"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
SITE_PACKAGES = Path(sys.prefix) / "lib" / PY / "site-packages"
_OWN = ("__editable__", "tenant_provisioner", "distutils-precedence.pth")


# -- expressions ----------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>&&|\|\||==|!=|"
                    r"<=|>=|[!<>(),\[\]])|(?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.(?:\*|[A-Za-z_]"
                    r"[A-Za-z0-9_\-]*))*))")


class Expr:
    """GitHub's expression language, as far as the workflows use it (translated to Python)."""

    def __init__(self, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> None:
        self.contexts = contexts
        self.status = status

    def _get(self, path: str) -> Any:
        parts = path.split(".")
        value: Any = self.contexts.get(parts[0])
        for i, part in enumerate(parts[1:], 1):
            if part == "*":
                rest = ".".join(parts[i + 1:])
                items = value.values() if isinstance(value, dict) else []
                return [self._walk(v, rest) for v in items]
            value = value.get(part) if isinstance(value, dict) else None
        return value

    @staticmethod
    def _walk(value: Any, path: str) -> Any:
        for part in path.split(".") if path else []:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def evaluate(self, text: str) -> Any:
        out, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError(f"cannot parse expression {text!r} at {pos}")
            pos = m.end()
            if m.group("str"):
                out.append(repr(m.group("str")[1:-1].replace("''", "'")))
            elif m.group("num"):
                out.append(m.group("num"))
            elif m.group("op"):
                out.append({"&&": " and ", "||": " or ", "!": " not "}.get(m.group("op"),
                                                                         m.group("op")))
            else:
                name = m.group("name")
                nxt = text[pos:].lstrip()
                if nxt.startswith("("):
                    out.append(f"_fn_{name.lower()}")
                elif name in ("true", "false", "null"):
                    out.append({"true": "True", "false": "False", "null": "None"}[name])
                else:
                    out.append(f"_get({name!r})")
        funcs = {
            "_get": self._get,
            "_fn_fromjson": json.loads,
            "_fn_tojson": json.dumps,
            "_fn_always": lambda: True,
            "_fn_success": lambda: self.status.get("success", True),
            "_fn_failure": lambda: not self.status.get("success", True),
            "_fn_cancelled": lambda: False,
            "_fn_contains": lambda hay, needle: needle in (hay or ""),
            "_fn_startswith": lambda a, b: str(a or "").startswith(str(b)),
        }
        return eval("".join(out), {"__builtins__": {}}, funcs)

    def render(self, value: Any) -> Any:
        """`${{ }}` in a string; a string that is one expression keeps its value's type."""
        if isinstance(value, dict):
            return {k: self.render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v) for v in value]
        if not isinstance(value, str):
            return value
        whole = re.fullmatch(r"\s*\$\{\{(.*?)\}\}\s*", value, re.S)
        if whole:
            return self.evaluate(whole.group(1))
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _text(self.evaluate(m.group(1))), value,
                      flags=re.S)

    def condition(self, text: Any) -> bool:
        if text is None:
            return bool(self.status.get("success", True))
        if isinstance(text, bool):
            return text
        text = str(text).strip()
        inner = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
        expr = inner.group(1) if inner else text
        uses_status = re.search(r"\b(always|success|failure|cancelled)\(", expr)
        if not uses_status:
            expr = f"success() && ({expr})"
        return bool(self.evaluate(expr))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


# -- runs -----------------------------------------------------------------------------------


@dataclass
class JobRun:
    job: str
    matrix: dict[str, Any]
    result: str = "skipped"
    outputs: dict[str, str] = field(default_factory=dict)
    environment: str | None = None
    log: list[str] = field(default_factory=list)
    workdir: Path | None = None
    summary: str = ""


@dataclass
class WorkflowRun:
    workflow: str
    jobs: dict[str, list[JobRun]] = field(default_factory=dict)

    def result(self, job: str) -> str:
        runs = self.jobs.get(job, [])
        results = {r.result for r in runs}
        if not runs or results == {"skipped"}:
            return "skipped"
        for r in ("failure", "cancelled"):
            if r in results:
                return r
        return "success"

    def log(self) -> str:
        return "\n".join(f"[{name} {r.matrix.get('name', '')}] {line}"
                         for name, runs in self.jobs.items() for r in runs for line in r.log)


class Rehearsal:
    """One origin repository, one fake Pulumi backend and GitHub API, many workflow runs."""

    def __init__(self, tmp: Path, *, vars: Mapping[str, str],
                 secrets: Mapping[str, str] | None = None, repository: str = "acme/tenants",
                 runner_env: Mapping[str, str] | None = None):
        self.tmp = tmp
        self.vars = dict(vars)
        # what the runner machine itself sets for every job (a self-hosted runner's .env file)
        self.runner_env = dict(runner_env or {})
        self.secrets = dict(secrets or {})
        self.repository = repository
        self.origin = tmp / "origin.git"
        self.state = tmp / "fake-cloud"
        self.state.mkdir(parents=True, exist_ok=True)
        self.artifacts_root = tmp / "artifacts"
        self.bin = tmp / "bin"
        self.counter = 0
        self._make_tools()

    # tools on PATH
    def _make_tools(self) -> None:
        deps = self.tmp / "site-deps"
        deps.mkdir(exist_ok=True)
        for entry in SITE_PACKAGES.iterdir():
            if entry.name.startswith(_OWN) or entry.suffix == ".pth":
                continue
            target = deps / entry.name
            if not target.exists():
                target.symlink_to(entry)
        base_python = Path(sys.base_prefix) / "bin" / PY
        (self.bin / "runner").mkdir(parents=True, exist_ok=True)
        (self.bin / "pulumi").mkdir(parents=True, exist_ok=True)
        (self.bin / "gh").mkdir(parents=True, exist_ok=True)
        site = f"lib/{PY}/site-packages"
        python = f"""#!/bin/sh
# rehearsal python: `-m venv DIR` makes a real venv seeing the pre-installed third-party packages
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  shift 2
  "{base_python}" -m venv --without-pip "$@" || exit $?
  for d in "$@"; do
    case "$d" in -*) ;; *) echo "{deps}" > "$d/{site}/_rehearsal_deps.pth";; esac
  done
  exit 0
fi
exec "{base_python}" "$@"
"""
        for name in ("python", "python3"):
            path = self.bin / "runner" / name
            path.write_text(python)
            path.chmod(0o755)
        for tool, dest in (("pulumi", self.bin / "pulumi"), ("gh", self.bin / "gh")):
            script = dest / tool
            script.write_text(f"#!{sys.executable}\n" + (STANDINS / f"{tool}.py").read_text())
            script.chmod(0o755)

    # origin repository
    def init_origin(self, files: Mapping[str, str | bytes] | Path) -> str:
        work = self.tmp / "author"
        if isinstance(files, Path):
            shutil.copytree(files, work)
        else:
            work.mkdir()
            self._write(work, files)
        self.git(work, "init", "-q", "-b", "main")
        self.git(work, "config", "user.email", "dev@acme.pe")
        self.git(work, "config", "user.name", "dev")
        self.git(work, "add", "-A")
        self.git(work, "commit", "-q", "-m", "initial")
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(self.origin)], check=True)
        self.git(self.origin, "config", "uploadpack.allowAnySHA1InWant", "true")
        self.git(work, "remote", "add", "origin", str(self.origin))
        self.git(work, "fetch", "-q", "origin")
        return self.head()

    @staticmethod
    def _write(work: Path, files: Mapping[str, str | bytes | None]) -> None:
        for rel, content in files.items():
            path = work / rel
            if content is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)

    @staticmethod
    def git(cwd: Path, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                              text=True).stdout.strip()

    @property
    def author(self) -> Path:
        return self.tmp / "author"

    def head(self) -> str:
        return self.git(self.author, "rev-parse", "HEAD")

    def commit(self, files: Mapping[str, str | bytes | None], message: str) -> str:
        self._write(self.author, files)
        self.git(self.author, "add", "-A")
        self.git(self.author, "commit", "-q", "-m", message)
        return self.head()

    def push(self, ref: str = "main", *, force: bool = False) -> str:
        args = ["push", "-q", *(["--force"] if force else []), "origin", f"HEAD:{ref}"]
        self.git(self.author, *args)
        return self.head()

    def tag_in_origin(self, tag: str) -> str | None:
        out = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"],
                             cwd=self.origin, capture_output=True, text=True)
        return out.stdout.strip() or None

    # the fake cloud's records
    def pulumi_calls(self) -> list[dict[str, Any]]:
        log = self.state / "pulumi.log"
        return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []

    def stacks(self) -> dict[str, Any]:
        path = self.state / "stacks.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def comments(self) -> list[dict[str, Any]]:
        path = self.state / "comments.json"
        return json.loads(path.read_text()) if path.exists() else []

    def gh_calls(self) -> list[list[str]]:
        log = self.state / "gh.log"
        return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []

    # running a workflow
    def run(self, workflow: str, github: Mapping[str, Any], *,
            cancel_after: Iterable[str] = (),
            rerun_failed_of: WorkflowRun | None = None) -> WorkflowRun:
        """One run. `rerun_failed_of`: GitHub's "Re-run failed jobs" of that earlier run: the
        jobs that succeeded keep their result and outputs (they are not run again), the failed,
        cancelled and skipped ones run again with them, on the same event (same `github`)."""
        data = yaml.safe_load((self.author / ".github" / "workflows" / workflow).read_text())
        self.counter += 1
        run = WorkflowRun(workflow)
        artifacts = self.artifacts_root / str(self.counter)
        artifacts.mkdir(parents=True)
        jobs: dict[str, Any] = data["jobs"]
        done: dict[str, dict[str, Any]] = {}
        cancelled = False
        pending = list(jobs)
        while pending:
            for name in pending:
                needs = jobs[name].get("needs", [])
                needs = [needs] if isinstance(needs, str) else needs
                if all(n in done for n in needs):
                    break
            else:
                raise AssertionError(f"{workflow}: circular needs in {pending}")
            pending.remove(name)
            job = jobs[name]
            needs_ctx = {n: done[n] for n in needs}
            kept = rerun_failed_of.jobs.get(name) if rerun_failed_of else None
            if kept and rerun_failed_of and rerun_failed_of.result(name) == "success":
                run.jobs[name] = kept
            elif cancelled:
                run.jobs[name] = [JobRun(name, {}, "cancelled")]
            else:
                run.jobs[name] = self._job(name, job, data, github, needs_ctx, artifacts)
            done[name] = {"result": run.result(name),
                          "outputs": {k: v for r in run.jobs[name] for k, v in r.outputs.items()}}
            if name in cancel_after:
                cancelled = True
        return run

    def _contexts(self, data: Mapping[str, Any], github: Mapping[str, Any],
                  needs: Mapping[str, Any], matrix: Mapping[str, Any]) -> dict[str, Any]:
        return {"github": {"repository": self.repository, "token": "ghs_rehearsal", **github},
                "vars": self.vars, "secrets": self.secrets, "needs": dict(needs),
                "matrix": dict(matrix), "steps": {}, "env": {}, "inputs": {}}

    def _job(self, name: str, job: Mapping[str, Any], data: Mapping[str, Any],
             github: Mapping[str, Any], needs: Mapping[str, Any],
             artifacts: Path) -> list[JobRun]:
        ctx = self._contexts(data, github, needs, {})
        all_ok = all(n["result"] == "success" for n in needs.values())
        expr = Expr(ctx, {"success": all_ok})
        if not expr.condition(job.get("if")):
            return [JobRun(name, {}, "skipped")]
        strategy = job.get("strategy") or {}
        matrix = expr.render(strategy.get("matrix")) if strategy.get("matrix") else None
        if strategy:
            max_parallel = expr.render(strategy.get("max-parallel", 1))
            assert isinstance(max_parallel, int) and max_parallel >= 1, max_parallel
        entries = [{}] if matrix is None else _expand(matrix)
        return [self._run_job(name, job, data, github, needs, entry, artifacts)
                for entry in entries]

    def _run_job(self, name: str, job: Mapping[str, Any], data: Mapping[str, Any],
                 github: Mapping[str, Any], needs: Mapping[str, Any], entry: Mapping[str, Any],
                 artifacts: Path) -> JobRun:
        ctx = self._contexts(data, github, needs, entry)
        expr = Expr(ctx, {"success": True})
        run = JobRun(name, dict(entry))
        run.environment = expr.render(job.get("environment")) or None
        runners = self.tmp / "runners"
        runners.mkdir(exist_ok=True)
        work = runners / f"{self.counter}-{name}-{sum(1 for _ in runners.iterdir())}"
        work.mkdir()
        run.workdir = work
        temp = work.parent / f"{work.name}.tmp"
        temp.mkdir()
        files = {k: temp / k for k in ("output", "env", "path", "summary")}
        for f in files.values():
            f.touch()
        env: dict[str, str] = {
            # gh is preinstalled on GitHub's runners; pulumi comes with pulumi/actions
            "PATH": f"{self.bin / 'runner'}:{self.bin / 'gh'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(temp), "RUNNER_TEMP": str(temp), "GITHUB_WORKSPACE": str(work),
            "GITHUB_REPOSITORY": self.repository, "CI": "true", "GITHUB_ACTIONS": "true",
            "REHEARSAL_DIR": str(self.state),
            "REHEARSAL_JOB": f"{name} {entry.get('name', '')}".strip(),
            "REHEARSAL_ENVIRONMENT": run.environment or "",
            # offline: pip finds everything in the pre-installed site directory; "0" is how
            # pip's environment spells --no-build-isolation
            "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true", "GIT_TERMINAL_PROMPT": "0",
            **self.runner_env,
        }
        for scope in (data.get("env") or {}, job.get("env") or {}):
            for k, v in scope.items():
                env[k] = _text(expr.render(v))
        ctx["env"] = env
        extra_path: list[str] = []
        job_ok = True
        for i, step in enumerate(job["steps"]):
            ctx["env"] = env
            step_expr = Expr(ctx, {"success": job_ok})
            if not step_expr.condition(step.get("if")):
                continue
            step_env = dict(env)
            for k, v in (step.get("env") or {}).items():
                step_env[k] = _text(step_expr.render(v))
            step_env["PATH"] = ":".join([*reversed(extra_path), env["PATH"]])
            for k, f in files.items():
                f.write_text("")
                step_env[{"output": "GITHUB_OUTPUT", "env": "GITHUB_ENV", "path": "GITHUB_PATH",
                          "summary": "GITHUB_STEP_SUMMARY"}[k]] = str(f)
            with_ = step_expr.render(step.get("with") or {})
            label = step.get("name") or step.get("uses") or f"step {i}"
            try:
                if "uses" in step:
                    ok = self._action(step["uses"], with_, work, github, step_env, extra_path,
                                      artifacts, run, env)
                else:
                    ok = self._shell(step_expr.render(step["run"]), work, step_env, run, label)
            except subprocess.CalledProcessError as exc:
                run.log.append(f"{label}: {exc.stderr or exc}")
                ok = False
            outputs = _parse_kv(files["output"].read_text())
            if step.get("id"):
                ctx["steps"][step["id"]] = {"outputs": outputs,
                                            "outcome": "success" if ok else "failure"}
            env.update(_parse_kv(files["env"].read_text()))
            extra_path += [p for p in files["path"].read_text().splitlines() if p]
            run.summary += files["summary"].read_text()
            if not ok:
                job_ok = False
                run.log.append(f"step failed: {label}")
        run.outputs = {k: _text(Expr(ctx, {"success": job_ok}).render(v))
                       for k, v in (job.get("outputs") or {}).items()}
        run.result = "success" if job_ok else "failure"
        return run

    def _shell(self, script: str, work: Path, env: Mapping[str, str], run: JobRun,
               label: str) -> bool:
        path = Path(env["RUNNER_TEMP"]) / "step.sh"
        path.write_text(script)
        started = time.monotonic()
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-e", str(path)], cwd=work,
                              env=dict(env), capture_output=True, text=True, timeout=600)
        run.log.append(f"$ {label} ({time.monotonic() - started:.1f}s)\n"
                       f"{proc.stdout}{proc.stderr}".rstrip())
        return proc.returncode == 0

    def _action(self, uses: str, with_: Mapping[str, Any], work: Path,
                github: Mapping[str, Any], env: dict[str, str], extra_path: list[str],
                artifacts: Path, run: JobRun, job_env: dict[str, str]) -> bool:
        action = uses.split("@")[0]
        if action == "actions/checkout":
            self._checkout(work, with_, github)
        elif action == "actions/setup-python":
            pass  # the runner's python is ours (see the module docstring)
        elif action == "pulumi/actions":
            extra_path.append(str(self.bin / "pulumi"))
        elif action == "aws-actions/configure-aws-credentials":
            role = with_.get("role-to-assume")
            assert role, "configure-aws-credentials without a role"
            job_env.update({"REHEARSAL_ROLE": str(role), "AWS_REGION": str(with_["aws-region"]),
                            "AWS_ACCESS_KEY_ID": "ASIAREHEARSAL", "AWS_SECRET_ACCESS_KEY": "x",
                            "AWS_SESSION_TOKEN": "x",
                            "REHEARSAL_ROLE_SECONDS": str(with_.get("role-duration-seconds",
                                                                    3600))})
        elif action == "actions/upload-artifact":
            dest = artifacts / str(with_["name"])
            dest.mkdir(parents=True, exist_ok=True)
            for rel in str(with_["path"]).split():
                if (work / rel).is_file():
                    shutil.copy(work / rel, dest / Path(rel).name)
        elif action == "actions/download-artifact":
            target = work / str(with_.get("path", "."))
            target.mkdir(parents=True, exist_ok=True)
            for src in sorted(artifacts.iterdir()):
                if fnmatch(src.name, str(with_.get("pattern", "*"))):
                    shutil.copytree(src, target / src.name)
        else:
            raise AssertionError(f"the rehearsal does not know the action {uses}")
        return True

    def _checkout(self, work: Path, with_: Mapping[str, Any], github: Mapping[str, Any]) -> None:
        ref = with_.get("ref") or github.get("checkout_default") or github["sha"]
        full = str(with_.get("fetch-depth", 1)) == "0"
        self.git(work, "init", "-q")
        self.git(work, "remote", "add", "origin", str(self.origin))
        depth = [] if full else ["--depth", "1"]
        if full:
            self.git(work, "fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*")
        self.git(work, "fetch", "-q", *depth, "origin", str(ref))
        self.git(work, "checkout", "-q", "--detach", "FETCH_HEAD")


def _expand(matrix: Any) -> list[dict[str, Any]]:
    assert isinstance(matrix, dict), matrix
    include = matrix.get("include", [])
    keys = [k for k in matrix if k not in ("include", "exclude")]
    assert not keys, "the rehearsal expands include-only matrices"
    return [dict(e) for e in include]


def _parse_kv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        heredoc = re.fullmatch(r"([^=<]+)<<(.+)", line)
        if heredoc:
            name, delim = heredoc.groups()
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
            continue
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
        i += 1
    return out

