"""Our journal table in the app's system database: which accounts are ours, which steps done."""

from __future__ import annotations

JOURNAL = "provisioner_accounts"
# the steps `onboard --redo` may run again although the journal records them done: each is
# idempotent (hyn's CREATE ... IF NOT EXISTS, the app's own migrate and seed, a file put
# again); the website, client and tenant rows are written once and day-2 sync corrects them.
# Here, not in onboarding: the CLI's parser reads it without loading the database code.
REDO_STEPS = ("database", "migrate", "seed", "certificate")


def ensure_journal(cur) -> None:
    """Our journal table in the system database: which accounts are ours, which steps done."""
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {JOURNAL} (uuid VARCHAR(255) PRIMARY KEY,"
        " website_id BIGINT UNSIGNED NOT NULL, stack VARCHAR(255) NOT NULL DEFAULT '',"
        " steps VARCHAR(255) NOT NULL DEFAULT '', certificate_sha256 CHAR(64) NULL,"
        " created_at TIMESTAMP NULL, updated_at TIMESTAMP NULL)"
        " COMMENT 'accounts created by tenant-provisioner'")


def journal_exists(cur) -> bool:
    """Whether the connection's database has our journal table (an app we never wrote to has
    none)."""
    cur.execute("SELECT COUNT(*) AS n FROM information_schema.tables WHERE "
                "table_schema = DATABASE() AND table_name = %s", (JOURNAL,))
    return bool(cur.fetchone()["n"])
