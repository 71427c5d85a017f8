"""The one clock every handler reads.

Lambda runs on real time. The local runtime shifts it (``PUT /_local/clock``) so a
month of dues, reminders and claims can be played out in a minute.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone

# Indonesia keeps no daylight saving: a fixed UTC+7 needs no tz database on Lambda.
JAKARTA = timezone(timedelta(hours=7), "WIB")


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        return datetime.now(UTC) + self._offset

    def today_jakarta(self) -> date:
        return self.now().astimezone(JAKARTA).date()

    def move_to(self, instant: datetime) -> None:
        """Make ``now()`` return ``instant`` from here on; time keeps flowing."""
        if instant.tzinfo is None:
            raise ValueError("instant must carry a timezone")
        with self._lock:
            self._offset = instant - datetime.now(UTC)

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)

    @property
    def shifted(self) -> bool:
        return self._offset != timedelta(0)


clock = Clock()
