"""Exactly one reply per MessageSid, and limits against loops and abuse, with the real
default limits, on both backends. (Across processes: tests/test_scale.py.)"""

from __future__ import annotations

import time

import pytest

from bot import DEFAULTS
from conftest import LIMITS, SENDER, Phone, key_of, twilio_fields

DISTINCT = ["hola", "1", "2", "3", "4", "5", "6", "7", "8", "9", "what are my rights",
            "can i record the police", "they want me to sign", "i need a lawyer"]


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, object]:
    """Settings for the store under test."""
    if request.param == "redis":
        return {"STORE_URL": request.getfixturevalue("redis_url")}
    return {}


@pytest.fixture
def limited(make_app, backend):
    """make_app with the real default limits and the backend under test."""
    def make(**overrides: object):
        return make_app(**{**LIMITS, **backend, **overrides})
    return make


def replies(phone: Phone, bodies: list[str], sender: str = SENDER) -> list[str | None]:
    out = []
    for body in bodies:
        status, text = phone.text(body, sender=sender)
        assert status == 200  # never 429: that would send Twilio to the fallback URL
        out.append(text)
    return out


def counted(app) -> int:
    return sum(row[3] for row in app.extensions["helpline_store"].counts())


def test_the_defaults_are_five_a_minute_sixty_a_day():
    assert (DEFAULTS["RATE_PER_MINUTE"], DEFAULTS["RATE_PER_DAY"]) == (5, 60)


# -- exactly once ------------------------------------------------------------------------
RETRY = {"I-Twilio-Idempotency-Token": "a1b2c3"}  # Twilio sends it again on each retry


def test_a_retried_message_gets_the_same_reply_and_changes_state_once(limited):
    """Twilio retries only when the first answer did not reach it (a worker killed, its
    15 s passed): the retry must carry the reply the texter never got, and count
    nothing again: the record, the counts and the limits change once."""
    app = limited()
    phone = Phone(app.test_client())
    fields = twilio_fields("español", SENDER)
    first = phone.text(None, fields=fields)
    assert first.status == 200 and first.text.startswith("Listo")
    for _ in range(3):  # Twilio's retries of the same MessageSid
        assert phone.text(None, fields=fields, headers=RETRY) == first
    assert counted(app) == 1
    assert app.extensions["helpline_store"].get(key_of()).locale == "es"
    # the limit saw one reply: four more this minute are answered, the fifth is not
    assert [bool(t) for t in replies(phone, ["1", "2", "3", "4", "5"])] == [True] * 4 + [False]


def test_a_retry_of_a_limited_message_stays_unanswered(limited):
    app = limited()
    phone = Phone(app.test_client())
    replies(phone, ["1", "2", "3", "4", "5"])
    over = twilio_fields("6", SENDER)
    assert phone.text(None, fields=over) == (200, None)
    assert phone.text(None, fields=over, headers=RETRY) == (200, None)
    assert counted(app) == 6


def test_a_retry_is_answered_from_the_record_as_it_was(limited):
    """The first answer switched the language; its retry is still that answer, not a
    reply worked out from the switched record."""
    app = limited()
    phone = Phone(app.test_client())
    assert phone.text("hello").text
    switch = twilio_fields("español", SENDER)
    first = phone.text(None, fields=switch)
    assert phone.text(None, fields=switch, headers=RETRY) == first
    stop = twilio_fields("STOP", SENDER)
    assert phone.text(None, fields=stop) == (200, None)
    assert phone.text(None, fields=switch, headers=RETRY) == first  # late, after STOP


def test_a_retried_stop_is_not_undone_by_a_later_retry_of_start(limited):
    app = limited()
    phone = Phone(app.test_client())
    stop, start = twilio_fields("STOP", SENDER), twilio_fields("START", SENDER)
    phone.text(None, fields=stop)
    phone.text(None, fields=start)
    assert phone.text(None, fields=stop) == (200, None)  # a late retry of STOP: no change
    assert app.extensions["helpline_store"].get(key_of()).opted_out is False


def test_messages_without_a_sid_are_still_answered(limited):
    phone = Phone(limited().test_client())
    fields = twilio_fields("hola", SENDER)
    del fields["MessageSid"]
    assert phone.text(None, fields=fields).text
    assert phone.text(None, fields=fields).text  # no id: nothing to de-duplicate on


# -- limits ------------------------------------------------------------------------------
def test_five_replies_a_minute_then_silence(limited):
    phone = Phone(limited().test_client())
    got = replies(phone, DISTINCT[:9])
    assert [bool(text) for text in got] == [True] * 5 + [False] * 4
    assert replies(phone, ["hola"], sender="+13125550177")[0]  # others are unaffected


def test_sixty_replies_a_day_then_silence(limited):
    phone = Phone(limited(RATE_PER_MINUTE=1000, LOOP_REPEATS=1000).test_client())
    got = replies(phone, (DISTINCT * 5)[:65])
    assert sum(bool(text) for text in got) == 60
    assert not any(got[60:])


def test_limits_are_settings(limited):
    phone = Phone(limited(RATE_PER_MINUTE=2).test_client())
    assert sum(bool(text) for text in replies(phone, DISTINCT[:6])) == 2


def test_an_autoresponder_loop_stops_getting_replies(limited):
    phone = Phone(limited().test_client())
    got = replies(phone, ["I am driving, I will text you back later"] * 10)
    assert sum(bool(text) for text in got) == DEFAULTS["LOOP_REPEATS"] == 3
    assert not any(got[3:])
    assert replies(phone, ["what are my rights"])[0]  # a real question still gets through


def test_a_loop_is_forgiven_after_a_quiet_spell(limited):
    phone = Phone(limited(LOOP_SECONDS=1).test_client())
    assert sum(bool(t) for t in replies(phone, ["hola"] * 5)) == 3
    time.sleep(2.1)
    assert replies(phone, ["hola"])[0]


def test_stop_is_honoured_even_over_the_limit(limited):
    app = limited()
    phone = Phone(app.test_client())
    replies(phone, DISTINCT[:7])
    assert replies(phone, ["STOP"]) == [None]
    assert app.extensions["helpline_store"].get(key_of()).opted_out is True


def test_limited_messages_are_counted_but_not_answered(limited):
    app = limited()
    phone = Phone(app.test_client())
    replies(phone, DISTINCT[:8])
    assert counted(app) == 8  # every message is counted by intent; 3 had no reply
