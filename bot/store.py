"""What the service remembers, and nothing else: one small interface, two backends.

- Per sender, known only by a pseudonym (HMAC-SHA256 of the address with the operator's
  secret key): the language, the opt-out flag and the day last seen, for `ttl_days`.
- Counters under opaque keys (themselves HMACs, made by `bot.guard`): rate limits, loop
  detection and message ids already answered. Each expires after its window.
- Aggregate counts per day, intent and locale, for `helpline stats`: no sender in them.

`SqliteStore` is the embedded default (one file, several processes on one machine);
`RedisStore` lets several machines share state. `open_store(url)` picks one from
`HELPLINE_STORE_URL`. Both pass the same contract tests (tests/test_store.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from .conversation import State

DAY = 86_400
HOUR = 3_600
# Filesystems on which SQLite's locking and WAL shared memory are unreliable: several
# instances on one such file could corrupt it or answer twice. Use Redis there.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs",
    "fuse.sshfs", "fuse.s3fs", "fuse.gcsfuse", "fuse.rclone", "lustre", "gpfs", "virtiofs",
    "fuse.glusterfs", "fuse.cephfs",
})


class StoreError(Exception):
    """The store cannot be used as configured; the message says why and what to do."""


class Store(Protocol):
    """The interface `bot.webhooks`, `bot.guard` and the commands use."""

    def get(self, key: str, now: float | None = None) -> State | None: ...
    def put(self, key: str, state: State, now: float | None = None) -> None: ...
    def delete(self, key: str) -> None: ...
    def claim(self, key: str, seconds: int, now: float | None = None) -> bool: ...
    def hit(self, key: str, seconds: int, *, sliding: bool = False,
            now: float | None = None) -> int: ...
    def bump(self, intent: str, locale: str, now: float | None = None) -> None: ...
    def counts(self) -> list[tuple[int, str, str, int]]: ...
    def purge(self, now: float | None = None) -> int: ...
    def close(self) -> None: ...
    def transaction(self) -> AbstractContextManager[None]: ...


def pseudonym(secret: bytes, sender: str) -> str:
    address = "".join(sender.split()).lower()
    return hmac.new(secret, address.encode("utf-8"), hashlib.sha256).hexdigest()


def today(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // DAY)


def _now(now: float | None) -> int:
    return int(time.time() if now is None else now)


def open_store(url: str, ttl_days: int = 30, stats_days: int = 400) -> Store:
    """`sqlite:///path/to/file.sqlite3` or `redis://host:port/db` (also `rediss://`,
    `unix://`)."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite://"):]
        if not path or path == "/":
            raise StoreError(f"HELPLINE_STORE_URL={url!r} names no file: use "
                             "sqlite:///absolute/path/helpline.sqlite3")
        return SqliteStore(path, ttl_days, stats_days)
    if scheme in ("redis", "rediss", "unix"):
        return RedisStore(url, ttl_days, stats_days)
    raise StoreError(f"HELPLINE_STORE_URL must start with sqlite:// or redis://, not "
                     f"{scheme + '://' if scheme else repr(url)}")


# -- SQLite ------------------------------------------------------------------------------
SCHEMA = """
CREATE TABLE IF NOT EXISTS senders (
    pseudonym TEXT PRIMARY KEY,
    locale    TEXT,
    opted_out INTEGER NOT NULL DEFAULT 0,
    last_day  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS senders_last_day ON senders (last_day);
CREATE TABLE IF NOT EXISTS counters (
    key     TEXT PRIMARY KEY,
    n       INTEGER NOT NULL,
    expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
    key     TEXT PRIMARY KEY,
    expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stats (
    day    INTEGER NOT NULL,
    intent TEXT NOT NULL,
    locale TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (day, intent, locale)
) WITHOUT ROWID;
"""


def filesystem_of(path: str | Path, mounts: str | Path = "/proc/mounts") -> str | None:
    """The type of the filesystem holding `path` (the longest mount point above it), or
    None when it cannot be told (no /proc/mounts)."""
    try:
        lines = Path(mounts).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best, kind = "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


class SqliteStore:
    """One SQLite file in WAL mode with secure_delete on. Safe for several processes on
    one machine (gunicorn workers, two `helpline serve`): every check-and-change is one
    statement, which SQLite runs under its write lock. Not on a network filesystem."""

    def __init__(self, path: str | Path, ttl_days: int = 30, stats_days: int = 400,
                 mounts: str | Path = "/proc/mounts"):
        self.path = str(path)
        self.ttl_days = ttl_days
        self.stats_days = stats_days
        self._local = threading.local()
        self._last_purge = 0.0
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        kind = filesystem_of(Path(self.path).parent, mounts)
        if kind in NETWORK_FILESYSTEMS:
            raise StoreError(
                f"The database {self.path} is on a network filesystem ({kind}). SQLite "
                "cannot lock it safely for several instances: they could answer a message "
                "twice or corrupt the file. Put it on a local disk, or share state through "
                "Redis: HELPLINE_STORE_URL=redis://host:6379/0")
        db = self._db()
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            raise StoreError(f"SQLite could not use WAL mode for {self.path} (got {mode!r}); "
                             "put the database on a local disk or use Redis.")
        db.executescript(SCHEMA)
        self.purged_at_open = self.purge()
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
            self._local.scrub = False
        return db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside is one write transaction. Writers queue on an flock of
        `<database>.lock` first: the kernel wakes the next one as soon as the lock is
        free, where SQLite's own busy handler would poll with sleeps of up to 100 ms."""
        db = self._db()
        if db.in_transaction:  # nested: the outer one commits
            yield
            return
        lock = self._lock()
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            if self._local.scrub:  # still holding the flock: other writers queue on it
                self._scrub()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _lock(self) -> int:
        if getattr(self._local, "lock_pid", None) != os.getpid():  # one per thread and fork
            self._local.lock = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._local.lock_pid = os.getpid()
        return self._local.lock

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
        if time.monotonic() - self._last_purge > HOUR:
            self.purge(now)

    def delete(self, key: str) -> None:
        """Forget one sender at once, on disk too."""
        self._db().execute("DELETE FROM senders WHERE pseudonym = ?", (key,))
        self._scrub()

    def claim(self, key: str, seconds: int, now: float | None = None) -> bool:
        """Insert-if-absent: True for the first caller only, until `seconds` pass."""
        t = _now(now)
        row = self._db().execute(
            "INSERT INTO claims (key, expires) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE"
            " SET expires = ?2 WHERE claims.expires <= ?3 RETURNING 1",
            (key, t + seconds, t)).fetchone()
        return row is not None

    def hit(self, key: str, seconds: int, *, sliding: bool = False,
            now: float | None = None) -> int:
        """Count one event under `key` and return the count in the current window: a
        window opens at the first event and lasts `seconds` (with `sliding`, each event
        extends it)."""
        t = _now(now)
        extend = "?2" if sliding else "counters.expires"
        return self._db().execute(
            "INSERT INTO counters (key, n, expires) VALUES (?1, 1, ?2) ON CONFLICT (key) DO"
            " UPDATE SET n = CASE WHEN counters.expires <= ?3 THEN 1 ELSE counters.n + 1 END,"
            f" expires = CASE WHEN counters.expires <= ?3 THEN ?2 ELSE {extend} END"
            " RETURNING n", (key, t + seconds, t)).fetchone()[0]

    def bump(self, intent: str, locale: str, now: float | None = None) -> None:
        self._db().execute(
            "INSERT INTO stats (day, intent, locale, n) VALUES (?, ?, ?, 1)"
            " ON CONFLICT (day, intent, locale) DO UPDATE SET n = n + 1",
            (today(now), intent, locale))

    def counts(self) -> list[tuple[int, str, str, int]]:
        return [tuple(row) for row in self._db().execute(  # type: ignore[misc]
            "SELECT day, intent, locale, n FROM stats ORDER BY day, intent, locale")]

    def purge(self, now: float | None = None) -> int:
        """Delete every expired record and counter now; returns how many went."""
        self._last_purge = time.monotonic()
        db, t = self._db(), _now(now)
        gone = db.execute("DELETE FROM senders WHERE last_day < ?",
                          (today(now) - self.ttl_days,)).rowcount
        gone += db.execute("DELETE FROM counters WHERE expires <= ?", (t,)).rowcount
        gone += db.execute("DELETE FROM claims WHERE expires <= ?", (t,)).rowcount
        gone += db.execute("DELETE FROM stats WHERE day < ?",
                           (today(now) - self.stats_days,)).rowcount
        if gone:
            self._scrub()
        return gone

    def _scrub(self) -> None:
        """In WAL mode the old copies of a deleted row's page live on in the -wal file:
        copy the (overwritten) pages back into the database and empty the log. Inside a
        transaction, this happens right after it commits."""
        db = self._db()
        if db.in_transaction:
            self._local.scrub = True
            return
        self._local.scrub = False
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
        if getattr(self._local, "lock_pid", None) == os.getpid():
            os.close(self._local.lock)
            self._local.lock_pid = None


# -- Redis -------------------------------------------------------------------------------
# Lua keeps each check-and-change atomic in one round trip.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or ARGV[2] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisStore:
    """Several instances on several machines share one Redis. Records expire through
    Redis itself, at the end of a day (so no finer time is kept than the day)."""

    PREFIX = "helpline:"

    def __init__(self, url: str, ttl_days: int = 30, stats_days: int = 400):
        import redis

        self.url = url
        self.ttl_days = ttl_days
        self.stats_days = stats_days
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5,
                                          health_check_interval=30)
        try:
            self.redis.ping()
        except redis.RedisError as err:
            raise StoreError(f"Cannot reach Redis at {_without_password(url)}: "
                             f"{type(err).__name__}. Is redis-server running, and is "
                             "HELPLINE_STORE_URL right?") from None
        self._hit = self.redis.register_script(_HIT)
        self._local = threading.local()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Each Redis operation here is atomic on its own (NX, Lua, MULTI). What a failure
        half-way must undo, as SQLite's rollback does, is a claim: Twilio's retry of a
        message that failed must be answered, not dropped as a duplicate."""
        self._local.claims = claims = []
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # Redis may be what failed
                if claims:
                    self.redis.delete(*claims)
            raise
        finally:
            self._local.claims = None

    def _k(self, kind: str, key: str) -> str:
        return f"{self.PREFIX}{kind}:{key}"

    def get(self, key: str, now: float | None = None) -> State | None:
        locale, opted_out = self.redis.hmget(self._k("s", key), "l", "o")
        if locale is None and opted_out is None:
            return None
        return State(locale.decode() if locale else None, opted_out == b"1")

    def put(self, key: str, state: State, now: float | None = None) -> None:
        name = self._k("s", key)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(name, mapping={"l": state.locale or "", "o": int(state.opted_out)})
        pipe.expireat(name, (today(now) + self.ttl_days + 1) * DAY)  # end of a day
        pipe.execute()

    def delete(self, key: str) -> None:
        self.redis.delete(self._k("s", key))

    def claim(self, key: str, seconds: int, now: float | None = None) -> bool:
        name = self._k("m", key)
        claimed = bool(self.redis.set(name, 1, nx=True, ex=seconds))
        if claimed and getattr(self._local, "claims", None) is not None:
            self._local.claims.append(name)
        return claimed

    def hit(self, key: str, seconds: int, *, sliding: bool = False,
            now: float | None = None) -> int:
        return int(self._hit(keys=[self._k("c", key)], args=[seconds, int(sliding)]))

    def bump(self, intent: str, locale: str, now: float | None = None) -> None:
        day = today(now)
        name = self._k("stats", str(day))
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(name, f"{intent}|{locale}", 1)
        pipe.expireat(name, (day + self.stats_days + 1) * DAY)
        pipe.execute()

    def counts(self) -> list[tuple[int, str, str, int]]:
        out = []
        for name in self._scan("stats"):
            day = int(name.rsplit(b":", 1)[1])
            for field, n in self.redis.hgetall(name).items():
                intent, locale = field.decode().split("|", 1)
                out.append((day, intent, locale, int(n)))
        return sorted(out)

    def purge(self, now: float | None = None) -> int:
        """Redis deletes expired keys itself, and a SCAN deletes any expired key it
        passes: one pass over our keys makes every expiry happen now. An expired key is
        never returned, so there is nothing to count."""
        for _ in self._scan("*"):
            pass
        return 0

    def _scan(self, kind: str) -> Iterator[bytes]:
        yield from self.redis.scan_iter(match=f"{self.PREFIX}{kind}:*", count=500)

    def close(self) -> None:
        self.redis.close()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
