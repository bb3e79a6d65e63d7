"""Can this CI runner reach the app's databases? Asked once, before the first engine call.

A stack with an `app:` section connects to the app's MySQL servers from the runner (the
onboarding provider, pulumi-mysql). A GitHub-hosted runner is outside the VPC: without a path
there every tenant would wait for its connection timeout, one after the other, half-way through
a run. So in CI (`CI=true` or `GITHUB_ACTIONS=true`, both set by GitHub's runners) `plan`,
`apply`, `drift` and `destroy` of such stacks go ahead only when the way in is named: a SOCKS5
tunnel (`PROVISIONER_DB_PROXY`, provisioner/app/connection.py) or a runner that says it is
inside the VPC (`PROVISIONER_RUNNER=vpc`, set on the self-hosted runner itself, e.g. its `.env`
file, so the claim goes with the machine and not with a workflow that may land elsewhere).
Outside CI nothing is refused: a local run reaches loopback servers. `--local` never is (its
databases are on loopback). docs/ci.md "Runner network"."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from provisioner.app.connection import PROXY_ENV
from provisioner.doc_links import doc_url
from provisioner.errors import UsageError
from provisioner.model.models import ResellerSpec

RUNNER_ENV: Final = "PROVISIONER_RUNNER"
IN_VPC: Final = "vpc"  # the one value: this runner reaches the databases' private endpoints
_TRUE: Final = frozenset({"true", "1", "yes"})


class RunnerCannotReach(UsageError):
    """In CI, an `app:` stack on a runner with no named way to the app's databases."""


def ci_name(env: Mapping[str, str] | None = None) -> str | None:
    """`CI=true` or `GITHUB_ACTIONS=true` when this is a CI runner (GitHub sets both), else
    None."""
    env = os.environ if env is None else env
    for name in ("CI", "GITHUB_ACTIONS"):
        if env.get(name, "").strip().lower() in _TRUE:
            return f"{name}={env[name].strip()}"
    return None


def reach_problem(reseller: ResellerSpec | None,
                  env: Mapping[str, str] | None = None) -> str | None:
    """Why this runner may not reach the app's databases, or None when it may (or the stacks
    reach none, or this is not CI)."""
    env = os.environ if env is None else env
    app = reseller.app if reseller is not None else None
    ci = ci_name(env)
    if app is None or ci is None or env.get(PROXY_ENV):
        return None
    runner = env.get(RUNNER_ENV, "").strip()
    if runner.lower() == IN_VPC:
        return None
    db = app.system_database
    said = (f"{RUNNER_ENV}={runner!r} is not {IN_VPC!r}" if runner
            else f"neither {PROXY_ENV} nor {RUNNER_ENV} is set")
    return (f"in CI ({ci}) the app's databases ({db.host}:{db.port}) may not be reachable from "
            f"this runner: {said}; set {PROXY_ENV}=socks5://HOST:PORT (a tunnel into the "
            f"VPC), or {RUNNER_ENV}={IN_VPC} on a runner inside the VPC "
            f"({doc_url('docs/ci.md', 'Runner network')})")


def require_reachable(reseller: ResellerSpec | None, reseller_path: Path | None,
                      env: Mapping[str, str] | None = None) -> None:
    """Raise RunnerCannotReach, located at reseller.yaml's `app:` key, when `reach_problem`."""
    problem = reach_problem(reseller, env)
    if problem is None:
        return
    from provisioner.errors import Finding
    from provisioner.model.yaml_source import read_source

    source = read_source(reseller_path) if reseller_path is not None else None
    if source is None or isinstance(source, Finding):
        raise RunnerCannotReach(f"reseller.yaml: app: {problem}")
    line, column = source.locate(("app",), key=True)
    raise RunnerCannotReach(f"{source.name}:{line}:{column}: app: {problem}")
