"""hyn/multi-tenant's rules for a tenant's database: its user's password and host, its charset."""

from __future__ import annotations

import hashlib

LOCAL_HOSTS = ("localhost", "127.0.0.1", "192.168.0.1")  # hyn keeps these as the user's host
# the tenant database's defaults: hyn's tenancy connection (utf8mb4, utf8mb4_unicode_ci), the
# pulumi-mysql Database the stack declares, and what `adopt` checks before an import
TENANT_CHARSET = "utf8mb4"
TENANT_COLLATION = "utf8mb4_unicode_ci"


def hyn_password(app_key: str, website_id: int) -> str:
    """hyn's DefaultPasswordGenerator: md5(APP_KEY . '.' . website_id), APP_KEY verbatim."""
    return hashlib.md5(f"{app_key}.{int(website_id)}".encode()).hexdigest()


def tenant_user_host(database_host: str) -> str:
    """hyn's DatabaseGenerator: the user's host is '%' unless the database host is local."""
    return database_host if database_host in LOCAL_HOSTS else "%"
