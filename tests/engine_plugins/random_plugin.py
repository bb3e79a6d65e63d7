"""Stand-in for pulumi-random's plugin: real random values from the `secrets` module.

Replacement rules of terraform-provider-random (hashicorp/terraform-provider-random,
internal/provider/resource_password.go, resource_string.go, resource_id.go): every argument is
RequiresReplace (length, special, upper, lower, number, numeric, min_*, override_special,
keepers; random_id: byte_length, prefix, keepers), so any change makes a new value.
Sensitive: random_password `result` and `bcrypt_hash`; random_string's `result` is not (the
program marks it secret itself). Ids as upstream: "none" for a password, the result itself for
a string (resource_string.go `plan.ID = types.StringValue(string(result))`), base64url for an id.
"""

from __future__ import annotations

import base64
import secrets
import string
from typing import Any

import bcrypt

from tests.engine_plugins.server import Config, Kind, Provider, plugin_version, serve

ARGS = frozenset({"length", "special", "upper", "lower", "number", "numeric", "minNumeric",
                  "minUpper", "minLower", "minSpecial", "overrideSpecial", "keepers"})
DEFAULTS = {"upper": True, "lower": True, "numeric": True, "special": True, "minNumeric": 0,
            "minUpper": 0, "minLower": 0, "minSpecial": 0}
SPECIAL = "!@#$%&*()-_=+[]{}<>:?"  # terraform-provider-random's default special set


def generate(p: dict[str, Any]) -> str:
    classes = [(p.get("upper", True), string.ascii_uppercase, p.get("minUpper", 0)),
               (p.get("lower", True), string.ascii_lowercase, p.get("minLower", 0)),
               (p.get("numeric", p.get("number", True)), string.digits, p.get("minNumeric", 0)),
               (p.get("special", True), p.get("overrideSpecial") or SPECIAL,
                p.get("minSpecial", 0))]
    chars = [secrets.choice(alphabet) for on, alphabet, least in classes if on
             for _ in range(int(least))]
    pool = "".join(alphabet for on, alphabet, _ in classes if on)
    chars += [secrets.choice(pool) for _ in range(int(p["length"]) - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _password(_c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    result = generate(p)
    hashed = bcrypt.hashpw(result.encode()[:72], bcrypt.gensalt(10)).decode()
    return "none", {"result": result, "bcryptHash": hashed}


def _string(_c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    result = generate(p)
    return result, {"result": result}


def _id(_c: Config, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    raw = secrets.token_bytes(int(p["byteLength"]))
    prefix = p.get("prefix") or ""
    b64url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return prefix + b64url, {"hex": prefix + raw.hex(), "dec": prefix + str(int.from_bytes(raw)),
                             "b64Url": prefix + b64url,
                             "b64Std": prefix + base64.b64encode(raw).decode()}


def _keep(_c: Config, _id: str, state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Nothing remote to read: a refresh keeps the state."""
    return {}, {}


PROVIDER = Provider("random", plugin_version("pulumi_random"), {
    "random:index/randomPassword:RandomPassword": Kind(
        ARGS, frozenset({"result", "bcryptHash"}), DEFAULTS, _password, _keep,
        computed=frozenset({"result", "bcryptHash"})),
    "random:index/randomString:RandomString": Kind(
        ARGS, frozenset(), DEFAULTS, _string, _keep, computed=frozenset({"result"})),
    "random:index/randomId:RandomId": Kind(
        frozenset({"byteLength", "prefix", "keepers"}), frozenset(), {}, _id, _keep,
        computed=frozenset({"hex", "dec", "b64Url", "b64Std"})),
})

if __name__ == "__main__":
    serve(PROVIDER)
