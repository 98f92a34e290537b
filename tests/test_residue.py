"""Nothing left at rest: after FORGET or purge, the files a seizure would take (the SQLite
database with its -wal and -shm files; a Redis snapshot) hold neither the number, nor
its digits, nor an unsalted SHA-1 or SHA-256 of it, nor even its keyed pseudonym."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import redis

from bot.conversation import State
from bot.store import DAY
from conftest import Phone, RedisServer, key_of, stored

NUMBER = "+13125559876"
CONVERSATION = ["hola", "4", f"mi numero es {NUMBER}", "my brother was detained", "STOP",
                "START", "gracias"]


def traces(number: str = NUMBER) -> dict[str, bytes]:
    """Every form in which the number could give itself away."""
    digits = number.lstrip("+")
    out: dict[str, bytes] = {}
    for name, form in [("number", number), ("digits", digits), ("10 digits", digits[-10:]),
                       ("whatsapp", "whatsapp:" + number)]:
        raw = form.encode()
        out[name] = raw
        for algorithm in ("sha1", "sha256"):
            digest = hashlib.new(algorithm, raw)
            out[f"{algorithm}({name}) hex"] = digest.hexdigest().encode()
            out[f"{algorithm}({name}) bytes"] = digest.digest()
    out["pseudonym"] = key_of(number).encode()
    return out


def found_in(blobs: dict[str, bytes], number: str = NUMBER) -> list[str]:
    return [f"{what} in {name}" for name, blob in blobs.items()
            for what, trace in traces(number).items() if trace in blob]


def sqlite_files(db_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(db_path.parent.glob(db_path.name + "*"))}


def redis_snapshot(server: RedisServer) -> dict[str, bytes]:
    client = redis.Redis.from_url(server.url)
    try:
        client.save()  # the snapshot a seizure of the Redis host would find
    finally:
        client.close()
    return {server.dump.name: server.dump.read_bytes()}


def test_the_traces_would_be_found_if_they_were_there(tmp_path):
    """The search can fail: a file holding the number in each form is caught."""
    planted = tmp_path / "planted"
    planted.write_bytes(b"\x00".join(traces().values()))
    assert len(found_in({"planted": planted.read_bytes()})) == len(traces())


# -- SQLite ------------------------------------------------------------------------------
def test_sqlite_after_forget_holds_no_trace_of_the_number(phone, db_path):
    for body in CONVERSATION:
        assert phone.text(body, sender=NUMBER).status == 200
    assert any("pseudonym" in f for f in found_in(sqlite_files(db_path)))  # before
    assert phone.text("borrar", sender=NUMBER).status == 200
    assert key_of(NUMBER) not in stored(db_path)
    assert found_in(sqlite_files(db_path)) == []


def test_sqlite_after_purge_holds_no_trace_of_the_number(app, db_path):
    store = app.extensions["helpline_store"]
    store.put(key_of(NUMBER), State("es"), now=time.time() - 31 * DAY)
    assert found_in(sqlite_files(db_path))  # it is there until purged
    assert store.purge() >= 1
    assert found_in(sqlite_files(db_path)) == []


def test_sqlite_never_holds_the_number_even_before_forget(phone, db_path):
    for body in CONVERSATION:
        phone.text(body, sender=NUMBER)
    assert [f for f in found_in(sqlite_files(db_path)) if "pseudonym" not in f] == []


# -- Redis -------------------------------------------------------------------------------
@pytest.fixture
def redis_phone(make_app, redis_url) -> Phone:
    return Phone(make_app(STORE_URL=redis_url).test_client())


def test_redis_snapshot_after_forget_holds_no_trace_of_the_number(redis_phone,
                                                                   redis_server):
    for body in CONVERSATION:
        assert redis_phone.text(body, sender=NUMBER).status == 200
    assert "pseudonym in dump.rdb" in found_in(redis_snapshot(redis_server))  # before
    assert redis_phone.text("forget me", sender=NUMBER).text.startswith("Done")
    assert found_in(redis_snapshot(redis_server)) == []


def test_redis_snapshot_after_expiry_holds_no_trace_of_the_number(make_app, redis_url,
                                                                   redis_server):
    store = make_app(STORE_URL=redis_url).extensions["helpline_store"]
    store.put(key_of(NUMBER), State("es"), now=time.time() - 31 * DAY)
    store.purge()
    assert found_in(redis_snapshot(redis_server)) == []


def test_redis_snapshot_never_holds_the_number(redis_phone, redis_server):
    for body in CONVERSATION:
        redis_phone.text(body, sender=NUMBER)
    assert [f for f in found_in(redis_snapshot(redis_server)) if "pseudonym" not in f] == []
