"""Generated values for rendering outside Pulumi (inside, pulumi-random makes and keeps them)."""

from __future__ import annotations

import secrets
import string

API_TOKEN_LENGTH = 50  # the app's clients.token
# bcrypt reads at most 72 bytes of a password; bcrypt>=5 raises ValueError past that (older
# versions silently cut it). Every path that hashes an admin password checks this first.
BCRYPT_MAX_BYTES = 72
_TOKEN_ALPHABET = string.ascii_letters + string.digits


def php_bcrypt(password: str, cost: int) -> str:
    """bcrypt in the `$2y$` form PHP's password_verify expects (same algorithm as `$2b$`)."""
    import bcrypt

    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=cost)).decode("ascii")
    return to_php_bcrypt(hashed)


def bcrypt_length_problem(password: str) -> str | None:
    """Why bcrypt cannot take this password (None when it can), without quoting it."""
    size = len(password.encode("utf-8", "surrogatepass"))
    if size <= BCRYPT_MAX_BYTES:
        return None
    return f"is {size} bytes in UTF-8; bcrypt uses at most {BCRYPT_MAX_BYTES}"


def admin_password_problem(password: str) -> str | None:
    """Why an admin password cannot be used (None when it can), never quoting it: the app asks
    for at least ADMIN_PASSWORD_MIN_LENGTH characters, bcrypt takes at most 72 bytes."""
    from provisioner.model.rules import ADMIN_PASSWORD_MIN_LENGTH

    if len(password) < ADMIN_PASSWORD_MIN_LENGTH:
        return (f"has {len(password)} characters; the app requires at least "
                f"{ADMIN_PASSWORD_MIN_LENGTH}")
    return bcrypt_length_problem(password)


def to_php_bcrypt(hashed: str) -> str:
    for prefix in ("$2b$", "$2a$"):
        if hashed.startswith(prefix):
            return "$2y$" + hashed[len(prefix):]
    return hashed


def new_api_token() -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(API_TOKEN_LENGTH))


def new_password(length: int = 20) -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))
