"""Running the app's own commands (migrate, seed, put_certificate) the reseller configures."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from provisioner.app.connection import AppError
from provisioner.model.models import AppCommands, template_problem

Runner = Callable[[Sequence[str], bytes | None], None]

# The apply jobs write the app's deploy key and its pinned host keys (secrets APP_SSH_KEY,
# APP_SSH_KNOWN_HOSTS) to 0600 files under RUNNER_TEMP and name them here; an `ssh` command of
# app.commands then runs with that key and those host keys only (a runner has neither in ~/.ssh:
# "Host key verification failed" otherwise). docs/ci.md "The app's commands from CI".
SSH_KEY_ENV: Final = "PROVISIONER_SSH_KEY_FILE"
SSH_KNOWN_HOSTS_ENV: Final = "PROVISIONER_SSH_KNOWN_HOSTS"


def is_ssh(args: Sequence[str]) -> bool:
    """An app command that runs over ssh: its program is `ssh` (a path to it too)."""
    return bool(args) and os.path.basename(args[0]) == "ssh"


def ssh_commands(commands: AppCommands) -> dict[str, list[str]]:
    """app.commands' ssh commands, by name (migrate, seed, put_certificate)."""
    found = {name: getattr(commands, name) for name in type(commands).model_fields}
    return {name: list(argv) for name, argv in found.items() if argv and is_ssh(argv)}


def with_ssh_identity(args: Sequence[str], env: Mapping[str, str] | None = None) -> list[str]:
    """`ssh ...` with the configured key and known_hosts: BatchMode (never a prompt),
    StrictHostKeyChecking=yes against that file only, that key only (ssh_config(5))."""
    env = os.environ if env is None else env
    argv = list(args)
    key, known = env.get(SSH_KEY_ENV), env.get(SSH_KNOWN_HOSTS_ENV)
    if not is_ssh(argv) or not (key or known):
        return argv
    if not (key and known):
        raise AppError(f"{SSH_KEY_ENV} and {SSH_KNOWN_HOSTS_ENV} go together: a deploy key "
                       "without pinned host keys (or the reverse) is refused")
    for path in (key, known):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            raise AppError(f"{path}: no such file (set by the apply job)") from None
        if path == key and stat.S_IMODE(mode) & 0o077:
            raise AppError(f"{path}: the deploy key must be readable by its owner only (0600)")
    return [argv[0], "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={known}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes", "-i", key, *argv[1:]]


def run_command(args: Sequence[str], stdin: bytes | None) -> None:
    """Run one of the app's commands: an argument list, never a shell string."""
    try:
        proc = subprocess.run(with_ssh_identity(args), input=stdin, capture_output=True,
                              timeout=3600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AppError(f"{args[0]}: {getattr(exc, 'strerror', None) or type(exc).__name__}"
                       ) from None
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        hint = ""
        if is_ssh(args) and tail[0].startswith("Host key verification failed"):
            # ssh(1) with StrictHostKeyChecking=yes and BatchMode: an unknown or changed host
            # key ends the connection with this line, never a prompt
            pinned = os.environ.get(SSH_KNOWN_HOSTS_ENV) or "~/.ssh/known_hosts"
            hint = (f" (the app host's key is not the one pinned in {pinned}: compare its "
                    "fingerprint, then update the APP_SSH_KNOWN_HOSTS secret)")
        raise AppError(f"{args[0]} exited with {proc.returncode}: {tail[0][:300]}{hint}")


def expand(template: Sequence[str], values: dict[str, str]) -> list[str]:
    """Fill `{website_id}`-style placeholders argument by argument (no shell, no splitting).

    Only bare names are substituted (the model refuses anything else,
    `provisioner.model.models.template_problem`); a template that reached here unchecked is
    refused rather than handed to `str.format` (a format spec can exhaust memory)."""
    import string

    out = []
    for arg in template:
        problem = template_problem(arg)
        if problem:
            raise AppError(f"app command argument {arg[:80]!r}: {problem}")
        out.append("".join(literal + (values[name] if name is not None else "")
                           for literal, name, _spec, _conv in string.Formatter().parse(arg)))
    return out
