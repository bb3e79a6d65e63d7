"""The time the app would write: wall-clock time in the app's timezone, not the server's.

The app writes its timestamps with PHP's date() and Laravel's now(), in config/app.php's
`timezone` (America/Lima in pro5); MySQL's NOW() is in the session's zone, usually the server's
(UTC on RDS), which would put our rows five hours off the app's own. Every timestamp we write
into the app's databases comes from here, in reseller.yaml's `app.timezone`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def app_now(timezone: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """`now` (default: this instant) as the app writes it: naive, in `timezone`, whole seconds
    (a DATETIME/TIMESTAMP column without fractions)."""
    instant = now if now is not None else dt.datetime.now(dt.UTC)
    return instant.astimezone(ZoneInfo(timezone)).replace(tzinfo=None, microsecond=0)
