"""Keep secret values out of progress lines, logs and PR comments.

Two nets: every string known to be secret (stack secrets from the environment, the local
passphrase, ...) is replaced by MASK wherever it appears, and any value Pulumi marked secret
(its `[secret]` placeholder or a secret signature object) is shown as MASK.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any, Final

from provisioner.secrets import ALL_SECRETS, MASK

# Pulumi's marker for a secret value in serialized property maps.
SECRET_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE: Final = "1b47061264138c4ac30d75fd1eb44270"
MIN_SECRET_LENGTH: Final = 4  # shorter strings would mask ordinary words
_PULUMI_SECRET = re.compile(r"\[secret\]")


class Redactor:
    """Replace known secret strings and Pulumi secret markers with MASK."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        for s in secrets:
            if s and len(s) >= MIN_SECRET_LENGTH and s != MASK:
                self._secrets.add(s)
                # multi-line secrets (a PEM) also leak line by line
                self._secrets.update(line for line in s.splitlines()
                                     if len(line.strip()) >= 16)
        longest_first = sorted(self._secrets, key=len, reverse=True)
        self._pattern = (re.compile("|".join(re.escape(s) for s in longest_first))
                         if longest_first else None)

    def text(self, value: str) -> str:
        if self._pattern is not None:
            value = self._pattern.sub(MASK, value)
        return _PULUMI_SECRET.sub(MASK, value)

    def value(self, value: Any) -> Any:
        """A property value with secrets masked, recursively."""
        if isinstance(value, dict):
            if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
                return MASK
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def from_environment(environ: dict[str, str] | None = None) -> Redactor:
    """A redactor knowing the stack secrets a CI job or operator put in the environment."""
    env = os.environ if environ is None else environ
    names = [s.env for s in ALL_SECRETS] + ["PULUMI_CONFIG_PASSPHRASE",
                                            "PROVISIONER_LOCAL_DB_ADMIN_PASSWORD"]
    return Redactor(env[n] for n in names if env.get(n))
