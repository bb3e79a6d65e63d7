"""Stands in for the app's artisan commands in CLI tests (run as a real subprocess, no shell):
`migrate UUID` applies the tenant schema fixture, `seed UUID` does nothing (the seeder only fills
format_templates), `put-certificate PATH` writes stdin to PATH."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str]) -> int:
    action, arg = argv[0], argv[1]
    if action == "migrate":
        import pymysql

        from tests import app_schema

        conn = pymysql.connect(host="127.0.0.1", port=int(os.environ["HOOK_DB_PORT"]),
                               user="root", password=os.environ["HOOK_DB_PASSWORD"],
                               database=arg, autocommit=False)
        try:
            app_schema.apply(conn, app_schema.TENANT_TABLES)
        finally:
            conn.close()
    elif action == "put-certificate":
        Path(arg).write_bytes(sys.stdin.buffer.read())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
