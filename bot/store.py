"""What the service remembers per sender, and nothing else.

A sender is known only by a pseudonym: HMAC-SHA256 of the address (`+1312...` or
`whatsapp:+1312...`) with the operator's secret key. A record holds the language, the
opt-out flag and the day last seen (no finer time), and expires after `ttl_days`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import threading
import time
from pathlib import Path

from .conversation import State

DAY = 86_400
SCHEMA = """
CREATE TABLE IF NOT EXISTS senders (
    pseudonym TEXT PRIMARY KEY,
    locale    TEXT,
    opted_out INTEGER NOT NULL DEFAULT 0,
    last_day  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS senders_last_day ON senders (last_day);
"""


def pseudonym(secret: bytes, sender: str) -> str:
    address = "".join(sender.split()).lower()
    return hmac.new(secret, address.encode("utf-8"), hashlib.sha256).hexdigest()


def today(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // DAY)


class SqliteStore:
    """The embedded default: one SQLite file in WAL mode with secure_delete on."""

    def __init__(self, path: str | Path, ttl_days: int = 30):
        self.path = str(path)
        self.ttl_days = ttl_days
        self._local = threading.local()
        self._last_purge = 0.0
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db().executescript(SCHEMA)
        self.purge()
        self.close()  # gunicorn forks workers after this: each opens its own connection

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or self._local.pid != os.getpid():  # never share one across a fork
            self._local.pid = os.getpid()
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def get(self, key: str, now: float | None = None) -> State | None:
        row = self._db().execute(
            "SELECT locale, opted_out FROM senders WHERE pseudonym = ? AND last_day >= ?",
            (key, today(now) - self.ttl_days)).fetchone()
        return State(row[0], bool(row[1])) if row else None

    def put(self, key: str, state: State, now: float | None = None) -> None:
        self._db().execute(
            "INSERT INTO senders (pseudonym, locale, opted_out, last_day) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (pseudonym) DO UPDATE SET locale = excluded.locale,"
            " opted_out = excluded.opted_out, last_day = excluded.last_day",
            (key, state.locale, int(state.opted_out), today(now)))
        if time.monotonic() - self._last_purge > 3600:
            self.purge(now)

    def delete(self, key: str) -> None:
        """Forget one sender at once, on disk too."""
        self._db().execute("DELETE FROM senders WHERE pseudonym = ?", (key,))
        self._scrub()

    def purge(self, now: float | None = None) -> int:
        """Delete every expired record now; returns how many went."""
        self._last_purge = time.monotonic()
        cur = self._db().execute("DELETE FROM senders WHERE last_day < ?",
                                 (today(now) - self.ttl_days,))
        if cur.rowcount:
            self._scrub()
        return cur.rowcount

    def _scrub(self) -> None:
        """In WAL mode the old copies of a deleted row's page live on in the -wal file:
        copy the (overwritten) pages back into the database and empty the log."""
        self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
