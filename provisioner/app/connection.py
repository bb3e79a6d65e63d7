"""A connection to one of the app's MySQL/MariaDB servers, and its failures as one line each."""

from __future__ import annotations

from dataclasses import dataclass, field

from provisioner.errors import ProvisionerError


class AppError(ProvisionerError):
    """The app's databases refused or are not in a state we may write to; one line."""


class AppUnreachable(AppError):
    """The app's database could not be reached, or refused the credentials: nothing is known
    about the account (never taken for "it exists" nor for "it is gone")."""


@dataclass(frozen=True)
class Server:
    """A MySQL/MariaDB server and an account on it (password never printed)."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str | None = None

    def connect(self, database: str | None = None, *, user: str | None = None,
                password: str | None = None):
        import pymysql

        try:
            return pymysql.connect(
                host=self.host, port=self.port, user=user or self.user,
                password=self.password if password is None else password,
                database=database if database is not None else self.database,
                autocommit=False, charset="utf8mb4", connect_timeout=10, read_timeout=60,
                write_timeout=60, cursorclass=pymysql.cursors.DictCursor)
        except pymysql.MySQLError as exc:
            raise AppError(f"cannot connect to {self.host}:{self.port} as "
                           f"{user or self.user}: {error_reason(exc)}") from None


def error_reason(exc: Exception) -> str:
    """A server error as `message (error code)`, else the exception's type name."""
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[1], str):
        return f"{args[1]} (error {args[0]})"
    return type(exc).__name__
