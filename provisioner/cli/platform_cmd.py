"""`provisioner platform explain|preview|up ENV`: the reseller's platform stack (hosted zone,
keys, state bucket, shared MySQL, CI roles) of one environment. `explain` is a mock run (no
cloud); `preview` and `up` drive the engine and refuse to replace what tenants depend on."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

ACTIONS = ("explain", "preview", "up")
# what `explain` shows for a required setting the stack file does not have yet
EXPLAIN_PLACEHOLDERS = {
    "githubRepository": "OWNER/REPO",
    "vpcId": "vpc-00000000000000000",
    "subnetIds": '["subnet-00000000000000001", "subnet-00000000000000002"]',
    "loadBalancerDnsName": "LOAD-BALANCER.elb.amazonaws.com",
    "loadBalancerZoneId": "ZLOADBALANCERZONE",
}


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_format
    from provisioner.cli.stacks_common import add_local

    parser.add_argument("action", choices=ACTIONS,
                        help="explain: what the stack declares (mock run, no cloud); preview: "
                             "the engine's plan; up: preview, then apply")
    parser.add_argument("stack", metavar="ENV", nargs="?", default="production",
                        help="the environment, i.e. the platform stack (default: production)")
    parser.add_argument("--github-repository", metavar="OWNER/REPO", default=None,
                        help="with --local: the repository the CI roles trust (default: "
                             "local/tenants)")
    add_format(parser, "markdown")
    add_local(parser)
    from provisioner.cli import exit_codes

    parser.epilog = exit_codes.epilog("platform")


def run(args: argparse.Namespace) -> int:
    from provisioner.cli.stacks_common import spec_root

    root = spec_root(args)
    if args.action == "explain":
        return explain(args, root)
    return engine_run(args, root)


# ---- explain --------------------------------------------------------------------------------

def stack_file_config(project: Path, stack: str) -> dict[str, str]:
    """The plain `platform:` settings of platform/Pulumi.<stack>.yaml, without the namespace
    (secure values are never read)."""
    import json

    import yaml

    path = project / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config = data.get("config") if isinstance(data, dict) else None
    out: dict[str, str] = {}
    for key, value in (config or {}).items():
        if not str(key).startswith("platform:") or isinstance(value, dict):
            continue
        out[str(key).split(":", 1)[1]] = (json.dumps(value) if isinstance(value, list)
                                          else str(value).lower() if isinstance(value, bool)
                                          else str(value))
    return out


def explain(args: argparse.Namespace, root: Path) -> int:
    from provisioner.cli.explain import print_declared
    from provisioner.errors import ProvisionerError
    from provisioner.explain.declared import as_data
    from provisioner.explain.mock_runtime import run_stack
    from provisioner.model.layout import spec_dir_in, spec_dir_of
    from provisioner.orchestrate.platform_run import PLATFORM_DIRNAME
    from provisioner.platform_stack.program import main
    from provisioner.platform_stack.settings import PROJECT

    project = root / PLATFORM_DIRNAME
    config = stack_file_config(project, args.stack)
    placeholders = sorted(k for k in EXPLAIN_PLACEHOLDERS if k not in config)
    config = {**{k: EXPLAIN_PLACEHOLDERS[k] for k in placeholders}, **config}
    # the tenant repository the program reads, as the orchestrator names it to the engine
    config["specDir"] = str(spec_dir_of(project, config.get("specDir")) if "specDir" in config
                            else spec_dir_in(root))
    import atexit

    from provisioner.cli.explain import _close_event_loop

    # once every mock run of this process is over (registered once), as `explain` does
    atexit.unregister(_close_event_loop)
    atexit.register(_close_event_loop)
    result = run_stack(args.stack, main, config=config, project=PROJECT)
    if result.error is not None:
        if isinstance(result.error, ProvisionerError):
            raise result.error
        raise ProvisionerError(f"the platform program failed: {type(result.error).__name__}: "
                               f"{result.error}")
    data: dict[str, Any] = as_data(result)
    data["note"] = ("Declared state from a mock run of platform/ (no cloud, no Pulumi CLI; "
                    "ids and ARNs are made up). Not a diff against the cloud: run "
                    f"`provisioner platform preview {args.stack}` for that."
                    + (f" Placeholders for settings not in platform/Pulumi.{args.stack}.yaml: "
                       f"{', '.join(placeholders)}." if placeholders else ""))
    data["placeholders"] = placeholders
    print_declared(data, args.format)
    return 0


# ---- preview and up -------------------------------------------------------------------------

def engine_run(args: argparse.Namespace, root: Path) -> int:
    import sys

    from provisioner.cli.output import print_json
    from provisioner.cli.stacks_common import redactor_for, reporter
    from provisioner.orchestrate.platform_run import platform_project, run_platform

    project = platform_project(root)
    redactor = redactor_for()
    progress = reporter(args)
    progress.start(f"platform {args.action}", 1)
    try:
        with platform_runner(args, root, project, redactor) as runner:
            outcome = run_platform(runner, args.stack, progress.step,
                                   preview_only=args.action == "preview")
    finally:
        progress.stop()
    results = [r for r in (outcome.preview, outcome.up) if r is not None]
    failed = [r for r in results if not r.ok]
    if args.format == "json":
        print_json({"stack": args.stack, "ok": not failed,
                    "results": [{"operation": r.operation, "ok": r.ok, "changes": r.changes,
                                 "steps": [s.as_dict() for s in r.steps], "error": r.error}
                                for r in results],
                    "outputs": outcome.outputs})
    else:
        for r in results:
            counts = ", ".join(f"{n} {op}" for op, n in r.changes.items() if n) or "no changes"
            state = "ok" if r.ok else f"failed: {r.error}"
            print(f"platform {args.stack} {r.operation}: {counts} ({state})")
        for key, value in outcome.outputs.items():
            print(f"  {key}: {value}")
    if failed:
        print(f"platform {args.stack}: {failed[0].operation} failed", file=sys.stderr)
    return 1 if failed else 0


def platform_runner(args: argparse.Namespace, root: Path, project: Path, redactor: Any) -> Any:
    """The Automation API runner for platform/, creating the stack on `up`; in local mode the
    state is the tenants' local state (.pulumi-local/ of the repository) so that tenant stacks
    can reference it, and AWS is moto."""
    from contextlib import contextmanager

    from provisioner.model.layout import SPEC_ROOT_ENV
    from provisioner.orchestrate.automation import AutomationRunner, require_pulumi_cli

    @contextmanager
    def runner() -> Any:
        require_pulumi_cli()
        env = {SPEC_ROOT_ENV: str(root)}
        create = args.action == "up"
        if not args.local:
            yield AutomationRunner(project, env=env, redactor=redactor, create_stacks=create)
            return
        from provisioner.orchestrate.local import (
            local_env,
            local_platform_config,
            local_project,
            moto_server,
        )

        def make(endpoint: str) -> AutomationRunner:
            config, paths = local_platform_config(endpoint, args.github_repository)
            local = local_env(root)
            redactor.add(local["PULUMI_CONFIG_PASSPHRASE"])
            return AutomationRunner(
                local_project(project), env={**env, **local}, secrets_provider="passphrase",
                redactor=redactor, stack_config=lambda _s: config,
                path_config=lambda _s: paths, create_stacks=create)

        if args.local_endpoint:
            yield make(args.local_endpoint)
            return
        with moto_server() as url:
            yield make(url)

    return runner()
