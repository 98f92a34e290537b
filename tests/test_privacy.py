"""What is kept about a texter: a keyed pseudonym, the language and the opt-out, for a
limited time, deleted on request, and never the number or the words."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest

from bot.conversation import State
from bot.store import DAY, SqliteStore, pseudonym
from conftest import SECRET, SENDER, key_of, stored, reply_now

SENTINEL_NUMBER = "+13125559876"
SENTINEL_WORD = "zanzibarquux"


def files_of(db_path: Path) -> dict[str, bytes]:
    """The raw bytes of the database and its -wal and -shm files."""
    return {p.name: p.read_bytes()
            for p in sorted(db_path.parent.glob(db_path.name + "*"))}


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts += [record.getMessage(), str(record.args), record.exc_text or ""]
    return "\n".join(parts)


# -- forget ------------------------------------------------------------------------------
def test_borrar_deletes_the_senders_record_at_once(phone, engine, db_path, hotline):
    assert phone.text("buenas tardes") == (200, engine.menu("es"))
    assert phone.text("4") == (200, reply_now(engine, "es", "door"))
    assert key_of(SENDER) in stored(db_path)

    status, text = phone.text("borrar")
    assert status == 200
    assert text == engine.respond("borrar", State("es")).text
    assert text.startswith("Listo: borramos")
    assert hotline in text
    assert key_of(SENDER) not in stored(db_path)


def test_forget_me_in_english_confirms_in_english(phone, db_path):
    assert phone.text("4").status == 200
    status, text = phone.text("forget me")
    assert text.startswith("Done: we deleted")
    assert stored(db_path) == {}


def test_forget_leaves_other_senders_alone(phone, db_path):
    phone.text("4", sender="+13125550101")
    phone.text("4", sender="+13125550102")
    phone.text("borrar", sender="+13125550101")
    assert set(stored(db_path)) == {key_of("+13125550102")}


def test_forget_leaves_no_trace_of_the_pseudonym_on_disk(phone, db_path):
    """In WAL mode the deleted row's old page lives on in the -wal file unless the
    store checkpoints after deleting."""
    assert phone.text("buenas tardes").status == 200
    key = key_of(SENDER).encode()
    assert any(key in data for data in files_of(db_path).values())
    assert phone.text("borrar").status == 200
    assert {name: key in data for name, data in files_of(db_path).items()} == {
        name: False for name in files_of(db_path)}


# -- neither the number nor the words are kept or logged ---------------------------------
def test_number_and_words_are_in_neither_logs_nor_database(phone, caplog, db_path):
    caplog.set_level(logging.DEBUG)
    for body in [f"hola {SENTINEL_WORD}", SENTINEL_WORD, "4", "STOP", SENTINEL_WORD,
                 "START", f"my number is {SENTINEL_NUMBER} {SENTINEL_WORD}"]:
        assert phone.text(body, sender=SENTINEL_NUMBER).status == 200
    assert phone.text(SENTINEL_WORD, sender=SENTINEL_NUMBER, signed=False).status == 403
    assert phone.text(SENTINEL_WORD, sender="whatsapp:" + SENTINEL_NUMBER).status == 200
    assert caplog.records  # the app does log: it just must not log these

    logged = log_text(caplog)
    digits = SENTINEL_NUMBER.lstrip("+")
    for secret in (SENTINEL_NUMBER, digits, "5559876", SENTINEL_WORD):
        assert secret not in logged
    on_disk = files_of(db_path)
    assert {db_path.name, db_path.name + "-wal"} <= set(on_disk)
    for name, data in on_disk.items():
        for secret in (SENTINEL_NUMBER, digits, SENTINEL_WORD):
            assert secret.encode() not in data, (name, secret)
            assert secret.encode("utf-16-le") not in data, (name, secret)


def test_failure_log_quotes_neither_number_nor_words(phone, caplog, db_path, hotline):
    db = sqlite3.connect(db_path)  # every write of a record fails (a dropped table would
    db.execute("CREATE TRIGGER broken BEFORE INSERT ON senders "  # be made again)
               "BEGIN SELECT RAISE(ABORT, 'broken'); END")
    db.commit()
    db.close()
    caplog.set_level(logging.DEBUG)
    status, text = phone.text(SENTINEL_WORD, sender=SENTINEL_NUMBER)
    assert status == 200 and hotline in text
    assert any(r.levelno >= logging.ERROR for r in caplog.records)
    logged = log_text(caplog)
    for secret in (SENTINEL_NUMBER, SENTINEL_NUMBER.lstrip("+"), SENTINEL_WORD):
        assert secret not in logged


def test_the_key_is_the_hmac_of_the_number(phone, db_path):
    assert phone.text("buenas tardes", sender=SENTINEL_NUMBER).status == 200
    expected = pseudonym(SECRET.encode(), SENTINEL_NUMBER)
    assert list(stored(db_path)) == [expected]
    assert expected != pseudonym(b"another-secret", SENTINEL_NUMBER)
    assert len(expected) == 64 and SENTINEL_NUMBER.lstrip("+") not in expected


@pytest.mark.parametrize("spelling", ["+1 312 555 9876", "+13125559876 ", "+13125559876"])
def test_pseudonym_ignores_spacing(spelling):
    assert pseudonym(b"k", spelling) == pseudonym(b"k", SENTINEL_NUMBER)


def test_pseudonym_tells_channels_and_numbers_apart():
    sms = pseudonym(b"k", SENTINEL_NUMBER)
    assert pseudonym(b"k", "whatsapp:" + SENTINEL_NUMBER) != sms
    assert pseudonym(b"k", "WhatsApp:" + SENTINEL_NUMBER) == pseudonym(
        b"k", "whatsapp:" + SENTINEL_NUMBER)
    assert pseudonym(b"k", "+13125559875") != sms


def test_record_holds_only_language_optout_and_day(phone, db_path):
    assert phone.text("buenas tardes").status == 200
    db = sqlite3.connect(db_path)
    try:
        columns = [row[1] for row in db.execute("PRAGMA table_info(senders)")]
        tables = {row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()
    assert columns == ["pseudonym", "locale", "opted_out", "last_day"]
    # sealed: the handoff's encrypted case map (tests/test_handoff.py), empty without one
    assert tables == {"senders", "counters", "claims", "stats", "sealed"}
    (locale, opted_out, last_day), = stored(db_path).values()
    assert (locale, opted_out) == ("es", 0)
    assert last_day == int(time.time() // DAY)


# -- records expire ----------------------------------------------------------------------
@pytest.fixture
def store(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite3", ttl_days=30)
    yield store
    store.close()


def test_record_older_than_the_retention_is_not_returned(store):
    store.put("old", State("es"), now=time.time() - 31 * DAY)
    assert store.get("old") is None


def test_purge_removes_expired_records(store, tmp_path):
    store.put("old", State("es"), now=time.time() - 31 * DAY)
    store.put("new", State("en", opted_out=True))
    assert set(stored(tmp_path / "s.sqlite3")) == {"old", "new"}
    assert store.purge() == 1
    assert set(stored(tmp_path / "s.sqlite3")) == {"new"}
    assert store.get("new") == State("en", opted_out=True)


def test_record_within_the_retention_is_kept(store):
    store.put("recent", State("es"), now=time.time() - 29 * DAY)
    assert store.get("recent") == State("es")
    assert store.purge() == 0


def test_expired_records_go_when_the_store_opens(tmp_path):
    first = SqliteStore(tmp_path / "s.sqlite3", ttl_days=30)
    first.put("old", State("es"), now=time.time() - 31 * DAY)
    first.close()
    second = SqliteStore(tmp_path / "s.sqlite3", ttl_days=30)
    second.close()
    assert stored(tmp_path / "s.sqlite3") == {}


def test_retention_days_is_a_setting(make_app, db_path):
    app = make_app(RETENTION_DAYS="7")
    store = app.extensions["helpline_store"]
    store.put("week-old", State("es"), now=time.time() - 8 * DAY)
    assert store.get("week-old") is None
    assert store.purge() == 1


def test_put_then_get_and_delete(store):
    assert store.get("k") is None
    store.put("k", State("es"))
    store.put("k", State("es", opted_out=True))
    assert store.get("k") == State("es", opted_out=True)
    store.delete("k")
    assert store.get("k") is None


def test_purge_leaves_no_trace_on_disk(store, tmp_path):
    """Expired pseudonyms must not stay readable in the -wal file either."""
    store.put("f" * 64, State("es"), now=time.time() - 31 * DAY)
    assert store.purge() == 1
    data = files_of(tmp_path / "s.sqlite3")
    assert not any(b"f" * 64 in blob for blob in data.values())


# -- SQLite settings ---------------------------------------------------------------------
def test_sqlite_is_in_wal_mode_with_secure_delete(app, db_path):
    store = app.extensions["helpline_store"]
    assert store._db().execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert store._db().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    fresh = sqlite3.connect(db_path)
    try:
        assert fresh.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        fresh.close()


def test_privacy_reply_states_the_configured_retention(make_app, engine):
    assert "30 days" in engine.respond("privacy").text
    app = make_app(RETENTION_DAYS=7)
    assert "7 días" in app.extensions["helpline"].respond("privacidad").text
