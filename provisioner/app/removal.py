"""Removing a non-production tenant's account from the app, as the stack's `destroy()` does."""

from __future__ import annotations

from provisioner.app.connection import AppError, Server
from provisioner.app.journal import JOURNAL, journal_exists


def remove_account(system: Server, uuid: str, *, production: bool, drop_database: bool = False,
                   drop_user: bool = False, tenant_server: Server | None = None) -> list[str]:
    """`destroy()` for a non-production tenant: the hostname and website rows go (the client
    row with them, by its foreign key); the database and its user only as the reseller's
    `delete_tenant_database*` settings say (hyn's auto-delete flags). Production is retained."""
    if production:
        return []
    conn = system.connect()
    done: list[str] = []
    try:
        with conn.cursor() as cur:
            if not journal_exists(cur):
                return done
            cur.execute(f"SELECT website_id FROM {JOURNAL} WHERE uuid = %s", (uuid,))
            row = cur.fetchone()
            if row is None:
                return done
            cur.execute("SELECT c.locked FROM clients c JOIN hostnames h ON h.id = c.hostname_id"
                        " WHERE h.website_id = %s", (row["website_id"],))
            if any(r["locked"] for r in cur.fetchall()):
                raise AppError(f"client {uuid} is locked in the app (clients.locked); "
                               "the app refuses to delete it, and so do we")
            cur.execute("DELETE FROM hostnames WHERE website_id = %s", (row["website_id"],))
            cur.execute("DELETE FROM websites WHERE id = %s", (row["website_id"],))
            cur.execute(f"DELETE FROM {JOURNAL} WHERE uuid = %s", (uuid,))
        conn.commit()
        done.append("website, hostname and client rows")
    finally:
        conn.close()
    if drop_database or drop_user:
        server = tenant_server or system
        admin = server.connect("")
        try:
            with admin.cursor() as cur:
                if drop_database:
                    cur.execute(f"DROP DATABASE IF EXISTS `{uuid}`")
                    done.append(f"database {uuid}")
                if drop_user:
                    cur.execute("SELECT Host AS h FROM mysql.user WHERE User = %s", (uuid,))
                    for r in cur.fetchall():
                        cur.execute(f"DROP USER IF EXISTS `{uuid}`@'{r['h']}'")
                    done.append(f"user {uuid}")
            admin.commit()
        finally:
            admin.close()
    return done
