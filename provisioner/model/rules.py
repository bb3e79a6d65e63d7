"""Validation rules shared by the models, the `new` command and the Pulumi program."""

from __future__ import annotations

import difflib
import re
from typing import Final

from provisioner.numbers import is_ascii_digits

# the app's rule: no accents, ñ, dots or hyphens
SUBDOMAIN_PATTERN: Final = re.compile(r"^[A-Za-z0-9]+$")

RESERVED_SUBDOMAINS: Final = frozenset({
    "www", "admin", "api", "mail", "ftp", "smtp", "static", "app",
    # what a platform also needs: mail protocols, DNS, the reseller's own panels and assets
    "pop", "pop3", "imap", "webmail", "mx", "ns", "ns1", "ns2", "dns", "autodiscover",
    "autoconfig", "cpanel", "whm", "panel", "dashboard", "reseller", "system", "root",
    "cdn", "assets", "media", "storage", "files", "docs", "help", "support", "status",
    "blog", "billing", "pagos", "soporte", "dev", "test", "staging", "demo", "beta", "localhost",
})

SUBDOMAIN_MAX_LENGTH: Final = 63  # one DNS label


def subdomain_syntax_problem(value: str) -> str | None:
    """Why `value` cannot be a subdomain (and so a stack, file and CI matrix name), or None."""
    if not value or len(value) > SUBDOMAIN_MAX_LENGTH:
        return f"must be 1 to {SUBDOMAIN_MAX_LENGTH} characters"
    if not SUBDOMAIN_PATTERN.fullmatch(value):
        return "letters and digits only (no accents, ñ, dots, hyphens or spaces)"
    return None


# SUNAT issues RUCs with these prefixes; python-stdnum does not know 16 yet.
RUC_PREFIXES: Final = ("10", "15", "16", "17", "20")
RUC_LENGTH: Final = 11




def _calc_check_digit(body: str) -> str:
    """python-stdnum's SUNAT algorithm, imported on first use (`plan --list` uses this module,
    not RUCs), once: an import statement in `ruc_problem` cost 3% of `validate`."""
    global _calc_check_digit
    from stdnum.pe import ruc as stdnum_ruc

    _calc_check_digit = stdnum_ruc.calc_check_digit
    return _calc_check_digit(body)


def ruc_problem(ruc: str) -> str | None:
    """Why `ruc` is not a RUC SUNAT could have issued, or None when it is."""
    if not is_ascii_digits(ruc, RUC_LENGTH):
        return "must be 11 digits (0-9)"
    if ruc[:2] not in RUC_PREFIXES:
        return f"prefix {ruc[:2]} is not one SUNAT issues ({', '.join(RUC_PREFIXES)})"
    expected = _calc_check_digit(ruc[:10])
    if ruc[10] != expected:
        return f"invalid check digit (expected {expected})"
    return None


def is_valid_ruc(ruc: str) -> bool:
    return ruc_problem(ruc) is None


# Keys that name a secret: a spec, a tag or a label is never the place for its value.
SECRET_WORDS: Final = ("password", "passwd", "pwd", "contrasena", "contraseña", "clave",
                       "secret", "token", "apikey", "api_key", "api-key", "credential",
                       "private_key", "privatekey")
SECRET_HINT: Final = ("passwords never go in a spec file, nor do other secrets: they are stack "
                      "secrets (`pulumi config set --secret ...`; admin_password: stack_secret "
                      "or generate)")


def looks_like_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


# AWS tags (every resource the stack tags): at most 50 per resource, keys 1-128 and values
# 0-256 characters, and the `aws:` prefix is AWS's own.
AWS_MAX_TAGS: Final = 50
AWS_RESERVED_TAG_PREFIX: Final = "aws:"
# The tags the stack itself puts on every resource (provisioner/infra/tenant.py
# `tenant_tags`): they win over a label or reseller tag of the same key.
FIXED_TAG_KEYS: Final = ("tenant", "ruc", "environment", "plan", "managed-by")


def tag_key_problem(key: str) -> str | None:
    if key.lower().startswith(AWS_RESERVED_TAG_PREFIX):
        return f"{key[:40]!r}: the prefix 'aws:' is reserved for AWS's own tags"
    if looks_like_secret_name(key):
        return f"{key[:40]!r} names a secret; tags are readable by anyone who can list " \
               f"resources: {SECRET_HINT}"
    return None


# Newer app versions refuse an admin password shorter than this (ClientRequest: min:6).
ADMIN_PASSWORD_MIN_LENGTH: Final = 6


def close_matches(word: str, choices: list[str] | set[str] | frozenset[str]) -> str:
    """' (did you mean: a, b?)' or ''."""
    found = difflib.get_close_matches(word, sorted(choices), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(found)}?)" if found else ""


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]"
# A plain ASCII address whose normalized form is itself: a dot-atom local part and a lower-case
# domain of LDH labels with a letters-only TLD. Anything else takes email-validator's full path.
_PLAIN_EMAIL: Final = re.compile(
    rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:[a-z0-9](?:[a-z0-9\-]{{0,61}}[a-z0-9])?\.)+[a-z]{{2,63}}")


def _special_use_domains() -> tuple[str, ...]:
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    return tuple(SPECIAL_USE_DOMAIN_NAMES)


_SPECIAL_USE: list[tuple[str, ...]] = []


def validate_email_address(value: str) -> str:
    """The address as typed, once pydantic's EmailStr accepts it (a pydantic error otherwise).

    The typed form is kept, not EmailStr's normalized one: the app's store() writes the e-mail
    as typed into `users.email` (the login) and `establishments.email`, and lower-cases it only
    in `clients.email` (provisioner/app/account.py). email-validator costs ~100 us per address,
    which alone put `validate` over its budget of 1.5x the YAML parse time; most addresses are
    plain ASCII, so a conservative regex accepts those and only the rest take the full path."""
    if len(value) <= 254 and _PLAIN_EMAIL.fullmatch(value) and "--" not in value:
        local, _, domain = value.rpartition("@")
        if not _SPECIAL_USE:
            _SPECIAL_USE.append(_special_use_domains())
        if len(local) <= 64 and len(domain) <= 253 and not any(
                domain == d or domain.endswith("." + d) for d in _SPECIAL_USE[0]):
            return value
    from pydantic.networks import validate_email

    validate_email(value)
    return value
