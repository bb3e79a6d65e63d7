"""Names derived from a tenant: one place, used by validation, templates and the Pulumi program."""

from __future__ import annotations

from typing import Final

MYSQL_DATABASE_NAME_MAX: Final = 64
MYSQL_USER_NAME_MAX: Final = 32
RDS_MASTER_USER_MAX: Final = 16  # RDS for MySQL: 1 to 16 letters or digits, a letter first


def database_name(prefix: str, subdomain: str) -> str:
    """The app's `<PREFIX_DATABASE>_<subdomain>`."""
    return f"{prefix}_{subdomain}"


def database_user(prefix: str, subdomain: str, *, silo: bool = False) -> str:
    """The tenant's own MySQL user; named like its database, as the app's tenancy layer does.

    On a dedicated (silo) RDS instance it is the instance's master user, which RDS limits to
    16 letters or digits: the prefix and subdomain joined, cut to 16 (the instance is the
    tenant's alone, so a cut name cannot collide)."""
    if silo:
        return f"{prefix}{subdomain}"[:RDS_MASTER_USER_MAX]
    return f"{prefix}_{subdomain}"


def silo_identifier(prefix: str, subdomain: str) -> str:
    """A silo tenant's RDS instance identifier: letters, digits and single hyphens."""
    return f"{prefix}-{subdomain}"


def max_subdomain_length(prefix: str) -> int:
    """Longest subdomain whose database and user names still fit MySQL's limits (and DNS's 63)."""
    overhead = len(prefix) + 1
    return min(63, MYSQL_DATABASE_NAME_MAX - overhead, MYSQL_USER_NAME_MAX - overhead)


def fqdn(subdomain: str, base_domain: str) -> str:
    return f"{subdomain}.{base_domain}"


def url(subdomain: str, base_domain: str) -> str:
    return f"https://{fqdn(subdomain, base_domain)}"


def secret_name(prefix: str, subdomain: str, concern: str) -> str:
    """Secrets Manager name `<prefix>/tenants/<subdomain>/<concern>`."""
    return f"{prefix}/tenants/{subdomain}/{concern}"


def stack_name(subdomain: str) -> str:
    """A tenant's Pulumi stack is named after its subdomain."""
    return subdomain


def database_connection(subdomain: str) -> str:
    """The `config/database.php` connection a silo tenant's `websites` row points hyn at."""
    return f"tenant_{subdomain}"
