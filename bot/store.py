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
import errno
import fcntl
import functools
import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from .conversation import State

DAY = 86_400
HOUR = 3_600
log = logging.getLogger(__name__)
# A texter must be answered within Twilio's 15 s, by the fallback if need be: no store
# call may wait long. Redis answers in well under a millisecond when well; SQLite's write
# lock is normally held for a millisecond or two.
REDIS_TIMEOUT = 0.25  # seconds for any one Redis call, connecting included
LOCK_TIMEOUT = 2.0  # seconds to wait for SQLite's write lock (ours, then SQLite's own)
COOLDOWN = 1.0  # after a timeout, fail at once for this long, then try again
LEASE = 10  # seconds a message being answered (Redis) is held against its retries
MIN_FREE = 256 * 1024  # bytes free on the database's disk below which health says full
# Filesystems on which SQLite's locking and WAL shared memory are unreliable: several
# instances on one such file could corrupt it or answer twice. Use Redis there.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs",
    "fuse.sshfs", "fuse.s3fs", "fuse.gcsfuse", "fuse.rclone", "lustre", "gpfs", "virtiofs",
    "fuse.glusterfs", "fuse.cephfs",
})


class StoreError(Exception):
    """The store cannot be used as configured; the message says why and what to do."""


class StoreDown(Exception):
    """The store did not answer in time, or failed: `reason` says which, in a few fixed
    words (never anything a texter sent), for the log and /healthz."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Breaker:
    """After a timeout, calls fail at once for COOLDOWN seconds instead of each waiting
    out its own timeout: a hung store costs a worker one wait per cooldown, not one per
    message, so the fallback reply goes out in time. One per process."""

    def __init__(self, cooldown: float = COOLDOWN):
        self.cooldown = cooldown
        self.until = 0.0
        self.reason = ""

    def check(self) -> None:
        if self.until and time.monotonic() < self.until:
            raise StoreDown(self.reason)

    def trip(self, reason: str) -> None:
        self.until, self.reason = time.monotonic() + self.cooldown, reason

    def reset(self) -> None:
        self.until = 0.0


F = TypeVar("F", bound=Callable[..., Any])


class Store(Protocol):
    """The interface `bot.webhooks`, `bot.guard` and the commands use."""

    def get(self, key: str, now: float | None = None) -> State | None: ...
    def put(self, key: str, state: State, now: float | None = None) -> None: ...
    def delete(self, key: str) -> None: ...
    def claim(self, key: str, seconds: int, now: float | None = None) -> bool: ...
    def settle(self, key: str, memo: str, seconds: int) -> None: ...
    def recall(self, key: str, now: float | None = None) -> str | None: ...
    def health(self) -> str | None: ...
    def hit(self, key: str, seconds: int, *, sliding: bool = False,
            now: float | None = None) -> int: ...
    def bump(self, intent: str, locale: str, now: float | None = None) -> None: ...
    def keep(self, key: str, blob: str, seconds: int, now: float | None = None) -> None: ...
    def fetch(self, key: str, now: float | None = None) -> str | None: ...
    def drop(self, key: str) -> None: ...
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
    expires INTEGER NOT NULL,
    memo    TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sealed (
    key     TEXT PRIMARY KEY,
    blob    TEXT NOT NULL,
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


def sqlite_reason(err: BaseException) -> str:
    """What an SQLite failure means, in a few fixed words (its own text can vary)."""
    text = str(err).lower()
    if isinstance(err, LockTimeout) or "locked" in text or "busy" in text:
        return "database is locked"
    if "readonly" in text or "read-only" in text:
        return "database is read-only"
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return "database is corrupt"
    if "full" in text or getattr(err, "errno", None) == errno.ENOSPC:
        return "disk is full"
    if "disk i/o" in text:
        return "disk I/O error"
    if "unable to open" in text or isinstance(err, OSError):
        return "database cannot be opened"
    return f"database error ({type(err).__name__})"


class LockTimeout(sqlite3.OperationalError):
    """Our write lock (the flock of `<database>.lock`) was not free within the timeout."""


def _sqlite_call(method: F) -> F:
    """Store calls fail fast while the breaker is open; an SQLite error drops the
    connection, so the next call opens the file afresh (permissions fixed, file
    replaced) instead of failing until the worker is restarted."""
    @functools.wraps(method)
    def call(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        self.breaker.check()
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as err:
            self._failed(err)
            raise
    return call  # type: ignore[return-value]


class SqliteStore:
    """One SQLite file in WAL mode with secure_delete on. Safe for several processes on
    one machine (gunicorn workers, two `helpline serve`): every check-and-change is one
    statement, which SQLite runs under its write lock. Not on a network filesystem.

    Faults: a write lock held too long fails after LOCK_TIMEOUT (then fast, for the
    breaker's cooldown); any error reopens the file on the next call; a deleted file is
    made again, tables and all, by whichever process notices first."""

    def __init__(self, path: str | Path, ttl_days: int = 30, stats_days: int = 400,
                 mounts: str | Path = "/proc/mounts", lock_timeout: float = LOCK_TIMEOUT):
        self.path = str(path)
        self.ttl_days = ttl_days
        self.stats_days = stats_days
        self.lock_timeout = lock_timeout
        self.breaker = Breaker()
        self._local = threading.local()
        self._last_purge = 0.0
        self._checked = (0.0, "ok")  # when the integrity check last ran, and its answer
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        kind = filesystem_of(Path(self.path).parent, mounts)
        if kind in NETWORK_FILESYSTEMS:
            raise StoreError(
                f"The database {self.path} is on a network filesystem ({kind}). SQLite "
                "cannot lock it safely for several instances: they could answer a message "
                "twice or corrupt the file. Put it on a local disk, or share state through "
                "Redis: HELPLINE_STORE_URL=redis://host:6379/0")
        try:
            db = self._db()
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"SQLite could not use WAL mode for {self.path} (got "
                                 f"{mode!r}); put the database on a local disk or use Redis.")
            self.purged_at_open = self.purge()
        except sqlite3.Error as err:
            raise StoreError(self._advice(self.reason(err))) from None
        finally:
            self.close()  # gunicorn forks workers after this: each opens its own connection

    def _advice(self, reason: str) -> str:
        """What the operator should do about a database that cannot be used."""
        steps = {
            "database is corrupt": (
                f"Stop the service, move the file aside (mv {self.path} "
                f"{self.path}.corrupt, and its -wal and -shm files), and start again: a "
                "new, empty database is made. It held only languages, opt-outs and "
                "counters; Twilio's own STOP handling still blocks opted-out numbers."),
            "database is read-only": (
                f"Give the service's user write access to {self.path} and its folder "
                "(the -wal and -shm files are made next to it)."),
            "disk is full": "Free space on the disk that holds it.",
            "database is locked": (
                "Another process holds its write lock: find it with "
                f"`fuser {self.path}` and stop it."),
        }
        return (f"Cannot use the database {self.path}: {reason}. "
                + steps.get(reason, "Check that the file and its folder are readable "
                            "and writable by the service's user, on a local disk."))

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or self._local.pid != os.getpid():  # never share one across a fork
            self._local.pid = os.getpid()
            self._local.db = None
            db = sqlite3.connect(self.path, timeout=self.lock_timeout, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten
                db.execute("PRAGMA synchronous=NORMAL")
                self._schema(db)  # in every process: the file may be new since the fork
                self._local.inode = _inode(self.path)
            except BaseException:
                db.close()
                raise
            self._local.db = db
            self._local.scrub = False
        return db

    @staticmethod
    def _schema(db: sqlite3.Connection) -> None:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if not {"senders", "counters", "claims", "stats"} <= tables:
            db.executescript(SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(claims)")}
        if "memo" not in columns:  # a database from before memos: add the column
            db.execute("ALTER TABLE claims ADD COLUMN memo TEXT")

    def _same_file(self) -> None:
        """The file this connection opened is still the one at `path`: if it was deleted
        or replaced, open the new one (made empty when missing), and say so loudly."""
        db = getattr(self._local, "db", None)
        if db is None or self._local.pid != os.getpid():
            return
        inode = _inode(self.path)
        if inode != self._local.inode:
            log.error("the database %s was %s while in use; opening it afresh%s",
                      self.path, "deleted" if inode is None else "replaced",
                      " (a new, empty one: languages and opt-outs kept before are gone)"
                      if inode is None else "")
            self.close()

    def reason(self, err: BaseException) -> str:
        """Why a call failed: SQLite says "unable to open" for a read-only file in WAL
        mode (it cannot make its -shm next to it), so the permissions are looked at."""
        reason = sqlite_reason(err)
        if reason == "database cannot be opened" and os.path.exists(self.path):
            folder = os.path.dirname(self.path) or "."
            if not (os.access(self.path, os.W_OK) and os.access(folder, os.W_OK)):
                return "database is read-only"
        return reason

    def _failed_quietly(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None and not db.in_transaction:
            self.close()

    def _failed(self, err: sqlite3.Error) -> None:
        reason = sqlite_reason(err)
        if reason == "database is locked":
            self.breaker.trip(reason)
        db = getattr(self._local, "db", None)
        if db is not None and not db.in_transaction:
            self.close()  # the next call reopens: a fixed permission or file is seen

    @contextlib.contextmanager
    def transaction(self, timeout: float | None = None, *,
                    breaker: bool = True) -> Iterator[None]:
        """Everything inside is one write transaction. Writers queue on an flock of
        `<database>.lock` first, for at most `lock_timeout` seconds; then SQLite's own
        lock, as long again (another program may hold it, a backup or the sqlite3 shell).
        `timeout` waits less; `breaker=False` tries even while the breaker is open."""
        if breaker:
            self.breaker.check()
        self._same_file()
        try:
            db = self._db()
        except sqlite3.Error as err:
            self._failed(err)
            raise
        if db.in_transaction:  # nested: the outer one commits
            yield
            return
        lock = self._lock()
        try:
            self._flock(lock, self.lock_timeout if timeout is None else timeout)
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            fcntl.flock(lock, fcntl.LOCK_UN)
            self._failed(err)
            raise
        try:
            try:
                yield
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            if self._local.scrub:  # still holding the flock: other writers queue on it
                self._scrub()
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                if db.in_transaction:
                    db.execute("ROLLBACK")
            self._failed(err)
            raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _flock(lock: int, timeout: float) -> None:
        """The write lock, waiting at most `timeout`: the kernel has no timed flock, so
        after a first try, poll with short sleeps (0.5 ms doubling to 10 ms)."""
        deadline, pause = time.monotonic() + timeout, 0.0005
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout("database is locked") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.01)

    def _lock(self) -> int:
        if getattr(self._local, "lock_pid", None) != os.getpid():  # one per thread and fork
            self._local.lock = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._local.lock_pid = os.getpid()
        return self._local.lock

    @_sqlite_call
    def get(self, key: str, now: float | None = None) -> State | None:
        row = self._db().execute(
            "SELECT locale, opted_out FROM senders WHERE pseudonym = ? AND last_day >= ?",
            (key, today(now) - self.ttl_days)).fetchone()
        return State(row[0], bool(row[1])) if row else None

    @_sqlite_call
    def put(self, key: str, state: State, now: float | None = None) -> None:
        self._db().execute(
            "INSERT INTO senders (pseudonym, locale, opted_out, last_day) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (pseudonym) DO UPDATE SET locale = excluded.locale,"
            " opted_out = excluded.opted_out, last_day = excluded.last_day",
            (key, state.locale, int(state.opted_out), today(now)))
        if time.monotonic() - self._last_purge > HOUR:
            self.purge(now)

    @_sqlite_call
    def delete(self, key: str) -> None:
        """Forget one sender at once, on disk too."""
        self._db().execute("DELETE FROM senders WHERE pseudonym = ?", (key,))
        self._scrub()

    @_sqlite_call
    def claim(self, key: str, seconds: int, now: float | None = None) -> bool:
        """Insert-if-absent: True for the first caller only, until `seconds` pass. Inside
        a transaction, a failure rolls the claim back with everything else."""
        t = _now(now)
        row = self._db().execute(
            "INSERT INTO claims (key, expires) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE"
            " SET expires = ?2, memo = NULL WHERE claims.expires <= ?3 RETURNING 1",
            (key, t + seconds, t)).fetchone()
        return row is not None

    @_sqlite_call
    def settle(self, key: str, memo: str, seconds: int) -> None:
        """What answered the claimed message (see `bot.guard`), kept with its claim."""
        self._db().execute("UPDATE claims SET memo = ? WHERE key = ?", (memo, key))

    @_sqlite_call
    def recall(self, key: str, now: float | None = None) -> str | None:
        """A claimed key's memo; "" when claimed without one; None when not claimed."""
        row = self._db().execute("SELECT memo FROM claims WHERE key = ? AND expires > ?",
                                 (key, _now(now))).fetchone()
        return None if row is None else (row[0] or "")

    @_sqlite_call
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

    @_sqlite_call
    def keep(self, key: str, blob: str, seconds: int, now: float | None = None) -> None:
        """An encrypted record (bot.cases) under `key`, until `seconds` pass."""
        self._db().execute(
            "INSERT INTO sealed (key, blob, expires) VALUES (?1, ?2, ?3) ON CONFLICT (key)"
            " DO UPDATE SET blob = ?2, expires = ?3", (key, blob, _now(now) + seconds))

    @_sqlite_call
    def fetch(self, key: str, now: float | None = None) -> str | None:
        row = self._db().execute("SELECT blob FROM sealed WHERE key = ? AND expires > ?",
                                 (key, _now(now))).fetchone()
        return row[0] if row else None

    @_sqlite_call
    def drop(self, key: str) -> None:
        """Delete a record at once, on disk too."""
        if self._db().execute("DELETE FROM sealed WHERE key = ?", (key,)).rowcount:
            self._scrub()

    @_sqlite_call
    def bump(self, intent: str, locale: str, now: float | None = None) -> None:
        self._db().execute(
            "INSERT INTO stats (day, intent, locale, n) VALUES (?, ?, ?, 1)"
            " ON CONFLICT (day, intent, locale) DO UPDATE SET n = n + 1",
            (today(now), intent, locale))

    @_sqlite_call
    def counts(self) -> list[tuple[int, str, str, int]]:
        return [tuple(row) for row in self._db().execute(  # type: ignore[misc]
            "SELECT day, intent, locale, n FROM stats ORDER BY day, intent, locale")]

    @_sqlite_call
    def purge(self, now: float | None = None) -> int:
        """Delete every expired record and counter now; returns how many went."""
        self._last_purge = time.monotonic()
        db, t = self._db(), _now(now)
        gone = db.execute("DELETE FROM senders WHERE last_day < ?",
                          (today(now) - self.ttl_days,)).rowcount
        gone += db.execute("DELETE FROM counters WHERE expires <= ?", (t,)).rowcount
        gone += db.execute("DELETE FROM claims WHERE expires <= ?", (t,)).rowcount
        gone += db.execute("DELETE FROM sealed WHERE expires <= ?", (t,)).rowcount
        gone += db.execute("DELETE FROM stats WHERE day < ?",
                           (today(now) - self.stats_days,)).rowcount
        if gone:
            self._scrub()
        return gone

    def health(self) -> str | None:
        """None when a message could be answered now, else why not: a write is tried
        (and rolled back) with a short lock wait, and the file's integrity is checked
        (at most once a minute: PRAGMA quick_check reads every page)."""
        wait = min(self.lock_timeout, 0.5)
        try:  # health looks for itself, past the breaker
            self._same_file()
            db = self._db()
            db.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            try:
                with self.transaction(wait, breaker=False):
                    db.execute("INSERT INTO claims (key, expires) VALUES ('health', 0)"
                               " ON CONFLICT (key) DO UPDATE SET expires = 0")
                    raise _Rollback
            except _Rollback:
                pass
            finally:
                if self._local.db is db:
                    db.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout * 1000)}")
        except (sqlite3.Error, OSError) as err:
            self._failed_quietly()
            return self.reason(err)
        if self._disk_free() < MIN_FREE:  # a rolled-back write never reaches the disk
            return "disk is full"
        if time.monotonic() - self._checked[0] > 60 or self._checked[1] != "ok":
            try:
                rows = self._db().execute("PRAGMA quick_check").fetchall()
                answer = "ok" if rows == [("ok",)] else "database is corrupt"
            except sqlite3.Error as err:
                self.close()
                answer = sqlite_reason(err)
            self._checked = (time.monotonic(), answer)
        if self._checked[1] != "ok":
            return self._checked[1]
        self.breaker.reset()  # this worker may try again at once
        return None

    def _disk_free(self) -> int:
        try:
            st = os.statvfs(os.path.dirname(self.path) or ".")
        except OSError:
            return MIN_FREE
        return st.f_bavail * st.f_frsize

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
            with contextlib.suppress(sqlite3.Error):
                db.close()
            self._local.db = None
        if getattr(self._local, "lock_pid", None) == os.getpid():
            os.close(self._local.lock)
            self._local.lock_pid = None


class _Rollback(Exception):
    """Ends a transaction without keeping anything (the health check's trial write)."""


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


# -- Redis ------------------------------------------------------------------------------
# Lua keeps each check-and-change atomic in one round trip.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or ARGV[2] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
# A claim is "p|<owner>" (pending, for LEASE seconds) until settled with its memo
# ("a|<memo>", for the claim's full time). Claim: set if absent, or take over a pending
# claim whose owner is gone (ARGV[3], when given, is that owner's value).
_CLAIM = """
local v = redis.call('GET', KEYS[1])
if v == false or (ARGV[3] ~= '' and v == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _machine() -> str:
    """This machine and PID namespace, so a pending claim's owner can be found alive
    or dead here (os.kill(pid, 0)); "" where that cannot be told."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return ""


MACHINE = _machine()


def _redis_call(method: F) -> F:
    """Fail fast while the breaker is open; a timeout or a lost connection opens it."""
    @functools.wraps(method)
    def call(self: RedisStore, *args: Any, **kwargs: Any) -> Any:
        self.breaker.check()
        try:
            return method(self, *args, **kwargs)
        except self.errors.RedisError as err:
            self._failed(err)
            raise
    return call  # type: ignore[return-value]


class RedisStore:
    """Several instances on several machines share one Redis. Records expire through
    Redis itself, at the end of a day (so no finer time is kept than the day).

    Faults: every call gives up after REDIS_TIMEOUT (no retries), and after a timeout or
    a refused connection calls fail at once for the breaker's cooldown; the client
    reconnects by itself when Redis is back."""

    PREFIX = "helpline:"

    def __init__(self, url: str, ttl_days: int = 30, stats_days: int = 400,
                 timeout: float = REDIS_TIMEOUT):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.errors = redis.exceptions
        self.url = url
        self.ttl_days = ttl_days
        self.stats_days = stats_days
        self.breaker = Breaker()
        self.redis = redis.Redis.from_url(url, socket_timeout=timeout,
                                          socket_connect_timeout=timeout,
                                          retry=Retry(NoBackoff(), 0),
                                          health_check_interval=30)
        try:
            self.redis.ping()
        except redis.RedisError as err:
            raise StoreError(f"Cannot reach Redis at {_without_password(url)}: "
                             f"{type(err).__name__}. Is redis-server running, and is "
                             "HELPLINE_STORE_URL right?") from None
        self._hit = self.redis.register_script(_HIT)
        self._claim = self.redis.register_script(_CLAIM)
        self._release = self.redis.register_script(_RELEASE)
        self._local = threading.local()

    def _failed(self, err: Exception) -> None:
        if isinstance(err, (self.errors.TimeoutError, self.errors.ConnectionError)):
            self.breaker.trip(redis_reason(err))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Reads and the limit counters go to Redis at once; the writes (records, counts,
        a claim's memo) wait and go together in one MULTI at the end, so a worker killed
        half-way leaves only its pending claim, which a retry takes over. A failure
        releases the claim, as SQLite's rollback does, so the retry is answered."""
        self.breaker.check()
        self._local.claims = claims = []
        self._local.pipe = pipe = self.redis.pipeline(transaction=True)
        try:
            yield
            self._local.pipe = None
            if len(pipe):
                try:
                    pipe.execute()
                except self.errors.RedisError as err:
                    self._failed(err)
                    raise
        except BaseException:
            with contextlib.suppress(Exception):  # Redis may be what failed
                for name, token in claims:  # ours only: never a settled one
                    self._release(keys=[name], args=[token])
            raise
        finally:
            self._local.claims = self._local.pipe = None

    def _writes(self) -> Any:
        """Where a write goes: the transaction's MULTI, else Redis at once."""
        return getattr(self._local, "pipe", None)

    def _k(self, kind: str, key: str) -> str:
        return f"{self.PREFIX}{kind}:{key}"

    @_redis_call
    def get(self, key: str, now: float | None = None) -> State | None:
        locale, opted_out = self.redis.hmget(self._k("s", key), "l", "o")
        if locale is None and opted_out is None:
            return None
        return State(locale.decode() if locale else None, opted_out == b"1")

    @_redis_call
    def put(self, key: str, state: State, now: float | None = None) -> None:
        name = self._k("s", key)
        pipe = self._writes()
        run = pipe is None
        pipe = pipe if pipe is not None else self.redis.pipeline(transaction=True)
        pipe.hset(name, mapping={"l": state.locale or "", "o": int(state.opted_out)})
        pipe.expireat(name, (today(now) + self.ttl_days + 1) * DAY)  # end of a day
        if run:
            pipe.execute()

    @_redis_call
    def delete(self, key: str) -> None:
        (self._writes() or self.redis).delete(self._k("s", key))

    @_redis_call
    def claim(self, key: str, seconds: int, now: float | None = None) -> bool:
        """True for the first delivery, or for a retry of one whose worker died on this
        machine, or whose lease ran out (a worker gone on another machine)."""
        name = self._k("m", key)
        token = f"p|{MACHINE}|{os.getpid()}|{secrets.token_hex(4)}"
        lease = min(LEASE, seconds)
        taken = self._claim(keys=[name], args=[token, lease, ""])
        if not taken:
            owner = self.redis.get(name)
            if owner and self._owner_gone(owner.decode()):
                taken = self._claim(keys=[name], args=[token, lease, owner.decode()])
        if taken and getattr(self._local, "claims", None) is not None:
            self._local.claims.append((name, token))
        return bool(taken)

    @staticmethod
    def _owner_gone(value: str) -> bool:
        kind, _, rest = value.partition("|")
        machine, _, rest = rest.partition("|")
        pid = rest.partition("|")[0]
        if kind != "p" or not MACHINE or machine != MACHINE or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        try:  # killed but not yet reaped by its parent: a zombie is gone too
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat.rpartition(")")[2].split()[:1] == ["Z"]

    @_redis_call
    def settle(self, key: str, memo: str, seconds: int) -> None:
        (self._writes() or self.redis).set(self._k("m", key), "a|" + memo, ex=seconds)

    @_redis_call
    def recall(self, key: str, now: float | None = None) -> str | None:
        value = self.redis.get(self._k("m", key))
        if value is None or value.startswith(b"p|"):
            return None
        return value.decode()[2:] if value.startswith(b"a|") else ""

    @_redis_call
    def hit(self, key: str, seconds: int, *, sliding: bool = False,
            now: float | None = None) -> int:
        return int(self._hit(keys=[self._k("c", key)], args=[seconds, int(sliding)]))

    @_redis_call
    def keep(self, key: str, blob: str, seconds: int, now: float | None = None) -> None:
        (self._writes() or self.redis).set(self._k("x", key), blob, ex=max(1, seconds))

    @_redis_call
    def fetch(self, key: str, now: float | None = None) -> str | None:
        value = self.redis.get(self._k("x", key))
        return value.decode() if value is not None else None

    @_redis_call
    def drop(self, key: str) -> None:
        (self._writes() or self.redis).delete(self._k("x", key))

    @_redis_call
    def bump(self, intent: str, locale: str, now: float | None = None) -> None:
        day = today(now)
        name = self._k("stats", str(day))
        pipe = self._writes()
        run = pipe is None
        pipe = pipe if pipe is not None else self.redis.pipeline(transaction=True)
        pipe.hincrby(name, f"{intent}|{locale}", 1)
        pipe.expireat(name, (day + self.stats_days + 1) * DAY)
        if run:
            pipe.execute()

    @_redis_call
    def counts(self) -> list[tuple[int, str, str, int]]:
        out = []
        for name in self._scan("stats"):
            day = int(name.rsplit(b":", 1)[1])
            for field, n in self.redis.hgetall(name).items():
                intent, locale = field.decode().split("|", 1)
                out.append((day, intent, locale, int(n)))
        return sorted(out)

    @_redis_call
    def purge(self, now: float | None = None) -> int:
        """Redis deletes expired keys itself, and a SCAN deletes any expired key it
        passes: one pass over our keys makes every expiry happen now. An expired key is
        never returned, so there is nothing to count."""
        for _ in self._scan("*"):
            pass
        return 0

    def health(self) -> str | None:
        """None when Redis answers and takes a write now (a key that expires in a
        second), else why not; past the breaker, within the same short timeout."""
        try:
            self.redis.set(self.PREFIX + "health", 1, px=1000)
        except self.errors.RedisError as err:
            self._failed(err)
            return redis_reason(err)
        self.breaker.reset()
        return None

    def _scan(self, kind: str) -> Iterator[bytes]:
        yield from self.redis.scan_iter(match=f"{self.PREFIX}{kind}:*", count=500)

    def close(self) -> None:
        self.redis.close()


def redis_reason(err: BaseException) -> str:
    """What a Redis failure means, in a few fixed words: its first word (MISCONF,
    READONLY, OOM, NOAUTH ...) when Redis refused, never the rest of its text."""
    import redis

    if isinstance(err, redis.TimeoutError):
        return "redis is not answering (timed out)"
    if isinstance(err, redis.AuthenticationError):
        return "redis refuses our password"
    if isinstance(err, redis.ConnectionError):
        return "redis cannot be reached"
    codes = {redis.exceptions.OutOfMemoryError: "OOM", redis.exceptions.ReadOnlyError:
             "READONLY", redis.exceptions.BusyLoadingError: "LOADING"}
    for kind, code in codes.items():  # redis-py strips these codes from the text
        if isinstance(err, kind):
            return f"redis refuses writes ({code})"
    if isinstance(err, redis.ResponseError):
        word = str(err).split(" ", 1)[0]
        return f"redis refuses writes ({word})" if word.isupper() and word.isalpha() \
            else "redis refuses writes"
    return f"redis error ({type(err).__name__})"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
