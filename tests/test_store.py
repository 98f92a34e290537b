"""One contract, two backends: every test here runs against a real SQLite file and a
real redis-server (see the `redis_server` fixture in conftest.py)."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import ConfigError
from bot.conversation import State
from bot.store import DAY, RedisStore, SqliteStore, StoreError, filesystem_of, open_store


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "sqlite":
        made = open_store(f"sqlite://{tmp_path / 'contract.sqlite3'}", ttl_days=30)
    else:
        made = open_store(request.getfixturevalue("redis_url"), ttl_days=30)
    yield made
    made.close()


# -- per-sender records ------------------------------------------------------------------
def test_get_put_delete(store):
    assert store.get("k") is None
    store.put("k", State("es"))
    assert store.get("k") == State("es")
    store.put("k", State("es", opted_out=True))
    assert store.get("k") == State("es", opted_out=True)
    store.put("k", State(None, opted_out=True))
    assert store.get("k") == State(None, opted_out=True)
    store.delete("k")
    assert store.get("k") is None


def test_records_are_kept_for_the_retention_and_no_longer(store):
    store.put("old", State("es"), now=time.time() - 31 * DAY)
    store.put("recent", State("en"), now=time.time() - 29 * DAY)
    assert store.get("old") is None
    assert store.get("recent") == State("en")


def test_purge_removes_expired_records_and_keeps_the_rest(store):
    store.put("old", State("es"), now=time.time() - 31 * DAY)
    store.put("new", State("en", opted_out=True))
    store.purge()
    assert store.get("old") is None
    assert store.get("new") == State("en", opted_out=True)


# -- insert-if-absent and counters -------------------------------------------------------
def test_claim_is_true_once(store):
    assert store.claim("m1", 60) is True
    assert store.claim("m1", 60) is False
    assert store.claim("m2", 60) is True


def test_claim_can_be_made_again_once_expired(store):
    assert store.claim("m", 1) is True
    time.sleep(2.1)
    assert store.claim("m", 1) is True


def test_claim_is_atomic_under_concurrency(store):
    results: list[bool] = []
    barrier = threading.Barrier(20)

    def claim() -> None:
        barrier.wait()
        results.append(store.claim("contended", 60))

    threads = [threading.Thread(target=claim) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 19 + [True]


def test_hit_counts_within_a_window(store):
    assert [store.hit("c", 60) for _ in range(4)] == [1, 2, 3, 4]
    assert store.hit("other", 60) == 1


def test_hit_window_opens_again_after_it_ends(store):
    assert [store.hit("c", 1) for _ in range(3)] == [1, 2, 3]
    time.sleep(2.1)
    assert store.hit("c", 1) == 1


def test_sliding_hit_is_extended_by_each_event(store):
    assert store.hit("s", 3, sliding=True) == 1
    time.sleep(1.6)
    assert store.hit("s", 3, sliding=True) == 2  # within 3 s of the last one
    time.sleep(1.6)
    assert store.hit("s", 3, sliding=True) == 3  # 3.2 s after the first: still counting


def test_hit_is_atomic_under_concurrency(store):
    seen: list[int] = []
    barrier = threading.Barrier(20)

    def hit() -> None:
        barrier.wait()
        seen.extend(store.hit("busy", 60) for _ in range(5))

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 101))


def test_counts_per_day_intent_and_locale(store):
    for intent, locale in [("door", "es"), ("door", "es"), ("door", "en"), ("menu", "es")]:
        store.bump(intent, locale)
    store.bump("door", "es", now=time.time() - DAY)
    day = int(time.time() // DAY)
    assert store.counts() == [(day - 1, "door", "es", 1), (day, "door", "en", 1),
                              (day, "door", "es", 2), (day, "menu", "es", 1)]


# -- choosing a backend ------------------------------------------------------------------
def test_store_url_chooses_the_backend(tmp_path, redis_url):
    sqlite_store = open_store(f"sqlite://{tmp_path / 'a.sqlite3'}")
    redis_store = open_store(redis_url)
    try:
        assert isinstance(sqlite_store, SqliteStore)
        assert sqlite_store.path == str(tmp_path / "a.sqlite3")
        assert isinstance(redis_store, RedisStore)
    finally:
        sqlite_store.close()
        redis_store.close()


@pytest.mark.parametrize("url", ["postgres://x/y", "helpline.sqlite3", "sqlite://"])
def test_unknown_store_url_is_refused_clearly(url):
    with pytest.raises(StoreError, match="sqlite://"):
        open_store(url)


def test_unreachable_redis_is_a_clear_error_without_the_password():
    with pytest.raises(StoreError, match=r"Cannot reach Redis at redis://127\.0\.0\.1:1/0"
                       ) as err:
        open_store("redis://:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in str(err.value)


def test_app_uses_redis_from_the_store_url(make_app, redis_url, db_path):
    app = make_app(STORE_URL=redis_url)
    assert isinstance(app.extensions["helpline_store"], RedisStore)
    assert not db_path.exists()


# -- several instances on one SQLite file: only on a local disk --------------------------
MOUNTS = """\
sysfs /sys sysfs rw,nosuid 0 0
/dev/sda1 / ext4 rw,relatime 0 0
server:/export {share} nfs4 rw,relatime,vers=4.2 0 0
"""


def test_filesystem_of_reads_the_longest_mount_point(tmp_path):
    share = tmp_path / "share"
    (share / "deeper").mkdir(parents=True)
    mounts = tmp_path / "mounts"
    mounts.write_text(MOUNTS.format(share=share))
    assert filesystem_of(share / "deeper", mounts) == "nfs4"
    assert filesystem_of(tmp_path, mounts) == "ext4"
    assert filesystem_of(tmp_path, tmp_path / "no-such-file") is None


def test_sqlite_on_a_network_filesystem_is_refused(tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    mounts = tmp_path / "mounts"
    mounts.write_text(MOUNTS.format(share=share))
    with pytest.raises(StoreError, match=r"network filesystem \(nfs4\).*HELPLINE_STORE_URL"
                       r"=redis://"):
        SqliteStore(share / "helpline.sqlite3", mounts=mounts)
    assert not (share / "helpline.sqlite3").exists()
    SqliteStore(tmp_path / "local.sqlite3", mounts=mounts).close()  # a local disk is fine


@pytest.mark.parametrize("name", ["RATE_PER_MINUTE", "RATE_PER_DAY", "RETENTION_DAYS"])
@pytest.mark.parametrize("value", [0, "-1", "many"])
def test_limits_must_be_positive_whole_numbers(make_app, name, value):
    with pytest.raises(ConfigError, match=f"HELPLINE_{name}"):
        make_app(**{name: value})


# -- what is stored: pseudonyms, coarse times and counters, nothing else -----------------
HEX64 = re.compile(r"[0-9a-f]{64}")


def dump_sqlite(path: Path) -> dict[str, list[tuple]]:
    db = sqlite3.connect(path)
    try:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: db.execute(f"SELECT * FROM {table}").fetchall() for table in tables}
    finally:
        db.close()


def dump_redis(url: str) -> dict[str, object]:
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        out: dict[str, object] = {}
        for key in client.scan_iter("*"):
            kind = client.type(key)
            value = client.hgetall(key) if kind == "hash" else client.get(key)
            out[key] = (kind, value, client.ttl(key))
        return out
    finally:
        client.close()


def converse(phone) -> None:
    for body in ["hola", "4", "english please", "my brother was detained", "STOP",
                 "hello?", "START", "thanks"]:
        assert phone.text(body).status == 200
    assert phone.text("x", sender="whatsapp:+13125550111").status == 200


def test_sqlite_holds_only_pseudonyms_coarse_days_and_counters(make_app, db_path, phone):
    converse(phone)
    day, now = int(time.time() // DAY), time.time()
    dump = dump_sqlite(db_path)
    assert set(dump) == {"senders", "counters", "claims", "stats", "sealed"}
    assert dump["sealed"] == []  # no handoff here: no case map
    assert len(dump["senders"]) == 2
    for key, locale, opted_out, last_day in dump["senders"]:
        assert HEX64.fullmatch(key) and locale in ("en", "es") and opted_out in (0, 1)
        assert last_day == day  # a day number: no finer time
    for key, n, expires in dump["counters"]:
        assert HEX64.fullmatch(key) and 1 <= n <= 9 and now < expires <= now + DAY + 1
    assert len(dump["claims"]) == 9  # one per message: a pseudonym of its MessageSid
    for key, expires, memo in dump["claims"]:
        assert HEX64.fullmatch(key) and now < expires <= now + DAY + 1
        # how it was answered, for a retry: the record before it (language, opt-out) and
        # the limit broken; no text, no sender
        assert re.fullmatch(r"(en|es)?:[01-]:(loop|minute|day)?", memo)
    for row_day, intent, locale, n in dump["stats"]:
        assert row_day == day and locale in ("en", "es") and n >= 1
    assert sum(row[3] for row in dump["stats"]) == 9


def test_redis_holds_only_pseudonyms_coarse_days_and_counters(make_app, redis_url):
    from conftest import Phone

    phone = Phone(make_app(STORE_URL=redis_url).test_client())
    converse(phone)
    day = int(time.time() // DAY)
    kinds: dict[str, int] = {}
    for key, (kind, value, ttl) in dump_redis(redis_url).items():
        prefix, family, rest = key.split(":", 2)
        assert prefix == "helpline"
        kinds[family] = kinds.get(family, 0) + 1
        assert ttl > 0, key  # everything expires
        if family == "s":
            assert HEX64.fullmatch(rest) and kind == "hash"
            assert set(value) == {"l", "o"} and value["l"] in ("en", "es")
            # expires at the end of a day, so the expiry tells no time finer than the day
            assert (time.time() + ttl) % DAY < 5 or (time.time() + ttl) % DAY > DAY - 5
        elif family == "c":
            assert HEX64.fullmatch(rest) and kind == "string" and value.isdigit()
        elif family == "m":  # answered, and how (for a retry): no text, no sender
            assert HEX64.fullmatch(rest) and kind == "string"
            assert re.fullmatch(r"a\|(en|es)?:[01-]:(loop|minute|day)?", value)
        else:
            assert family == "stats" and rest == str(day) and kind == "hash"
            assert all(re.fullmatch(r"[a-z_]+\|(en|es)", f) for f in value)
    assert kinds["s"] == 2 and kinds["m"] == 9 and kinds["stats"] == 1


def test_redis_going_away_still_gives_the_texter_the_hotline(make_app, tmp_path, hotline,
                                                             redis_server):
    """A Redis of its own, stopped mid-service: the webhook apologises with the hotline."""
    import shutil
    import subprocess

    from conftest import Phone, free_port, wait_for_port

    port = free_port()
    server = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--save",
                               "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, server)
        phone = Phone(make_app(STORE_URL=f"redis://127.0.0.1:{port}/0").test_client())
        first = phone.text("hola")
        assert first.status == 200 and first.text and not first.text.startswith("Sorry")
    finally:
        server.terminate()
        server.wait(timeout=10)
    status, text = phone.text("4")
    assert status == 200 and hotline in text and text.startswith("Sorry")


def test_a_failure_inside_a_transaction_undoes_its_claim(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            assert store.claim("retried", 60) is True
            raise RuntimeError("the reply failed half-way")
    assert store.claim("retried", 60) is True  # Twilio's retry is answered
    with store.transaction():
        assert store.claim("kept", 60) is True
    assert store.claim("kept", 60) is False
