"""The CLI run in the bench's own process, its output captured (the batch benches time whole
commands without a process start)."""

from __future__ import annotations

import contextlib
import io


def run_cli(args: list[str]) -> str:
    """What `provisioner ARGS` prints; a failing command stops the bench."""
    from provisioner.cli import main

    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = main(args)
    if code != 0:
        raise SystemExit(f"provisioner {' '.join(args)} failed with {code}")
    return out.getvalue()
