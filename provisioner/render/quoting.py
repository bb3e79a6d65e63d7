"""Env-file quoting that python-dotenv, `bash`'s `source` and the app's dotenv all read back
unchanged.

Single quotes are literal in bash, so they are used whenever the value has no `'`, no backslash
and no `$` (python-dotenv expands `${...}` even inside single quotes). Otherwise the value goes
in double quotes with `\\` and `\"` escaped, and `$` and backticks (which bash would expand)
written as `${_PROV_DOLLAR}` / `${_PROV_BACKTICK}`: variables that the document defines first
and that bash and dotenv both expand.
"""

from __future__ import annotations

from typing import Any, Final

ENV_PRELUDE: Final = "_PROV_DOLLAR='$'\n_PROV_BACKTICK='`'\n"


class EnvQuotingError(ValueError):
    pass


def env_quote(value: Any) -> str:
    if value is None:
        return "''"
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = str(value)
    if "\x00" in text:
        raise EnvQuotingError("a NUL character cannot be written to an env file")
    if "'" not in text and "\\" not in text and "$" not in text:
        return f"'{text}'"
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"')
               .replace("$", "${_PROV_DOLLAR}").replace("`", "${_PROV_BACKTICK}"))
    return f'"{escaped}"'
