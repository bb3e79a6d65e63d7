"""Running the app's own commands (migrate, seed, put_certificate) the reseller configures."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence

from provisioner.app.connection import AppError
from provisioner.model.models import template_problem

Runner = Callable[[Sequence[str], bytes | None], None]


def run_command(args: Sequence[str], stdin: bytes | None) -> None:
    """Run one of the app's commands: an argument list, never a shell string."""
    try:
        proc = subprocess.run(list(args), input=stdin, capture_output=True, timeout=3600,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AppError(f"{args[0]}: {getattr(exc, 'strerror', None) or type(exc).__name__}"
                       ) from None
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise AppError(f"{args[0]} exited with {proc.returncode}: {tail[0][:300]}")


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
