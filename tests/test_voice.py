"""Calls to /voice: signed like /sms; every path answers TwiML that speaks or dials,
read back as XML (never compared as strings)."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bot import DEFAULTS
from bot.content import (VOICE_MAX_CHARS, VOICE_MAX_WORDS, ContentError, locale_codes,
                         spoken_number)
from bot.content import load as load_content
from bot.voice import ATTEMPTS, e164
from conftest import CONTENT_DIR, LIMITS, SETTINGS, TOKEN, TWILIO_NUMBER, fact, sign

CALLER = "+13125550123"
CODES = [c for c in DEFAULTS["LOCALES"].split(",")]  # the live ones
SAY_LANGUAGE = {"en": "en-US", "es": "es-US"}
FAILED = ["busy", "no-answer", "failed", "canceled"]


def call_fields(**extra: str) -> dict[str, str]:
    """The form fields Twilio posts to a voice webhook (a realistic subset)."""
    return {"CallSid": "CA" + "5" * 32, "AccountSid": "AC" + "1" * 32, "From": CALLER,
            "To": TWILIO_NUMBER, "CallStatus": "in-progress", "Direction": "inbound",
            "ApiVersion": "2010-04-01", "Caller": CALLER, "Called": TWILIO_NUMBER, **extra}


class Call:
    """Calls the app like Twilio: signed form posts to /voice and its callbacks."""

    def __init__(self, client: FlaskClient):
        self.client = client

    def post(self, path: str, signed: bool = True, **fields: str) -> TestResponse:
        data = call_fields(**fields)
        headers = {"X-Twilio-Signature": sign("http://localhost" + path, data)} if signed else {}
        return self.client.post(path, data=data, headers=headers)

    def twiml(self, path: str, **fields: str) -> ET.Element:
        response = self.post(path, **fields)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "application/xml"
        root = ET.fromstring(response.get_data())
        assert root.tag == "Response"
        return root


@pytest.fixture
def call(client: FlaskClient) -> Call:
    return Call(client)


def voice_yaml(code: str) -> dict:
    return yaml.safe_load((CONTENT_DIR / code / "voice.yaml").read_text(encoding="utf-8"))


def says(element: ET.Element) -> list[tuple[str, str]]:
    """(language, text) of every <Say> in document order."""
    return [(s.get("language", ""), s.text or "") for s in element.iter("Say")]


def digit_of(code: str) -> str:
    return str(CODES.index(code) + 1)


# -- the signature -----------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/voice", "/voice/language?attempt=1",
                                  "/voice/dialed?lang=es"])
def test_unsigned_call_is_refused(call, path):
    assert call.post(path, signed=False, Digits="2").status_code == 403


def test_call_signed_with_another_token_is_refused(client):
    data = call_fields()
    headers = {"X-Twilio-Signature": sign("http://localhost/voice", data, TOKEN + "x")}
    assert client.post("/voice", data=data, headers=headers).status_code == 403


# -- the language choice -----------------------------------------------------------------
def test_answer_offers_each_language_in_its_own_words_and_voice(call):
    root = call.twiml("/voice")
    gather, redirect = list(root)
    assert gather.tag == "Gather" and gather.get("numDigits") == "1"
    assert gather.get("action") == "/voice/language?attempt=1"
    assert says(gather) == [("en-US", "For English, press 1."),
                            ("es-US", "Para español, oprima 2.")]
    # No key: Twilio goes on to the next verb, which asks the same question as a wrong key.
    assert redirect.tag == "Redirect" and redirect.text == gather.get("action")


@pytest.mark.parametrize("code", CODES)
def test_a_digit_gives_the_summary_in_that_language_then_dials_the_hotline(call, code):
    root = call.twiml("/voice/language?attempt=1", Digits=digit_of(code))
    assert [child.tag for child in root] == ["Say", "Say", "Dial"]
    summary, connecting, dial = list(root)
    assert {summary.get("language"), connecting.get("language")} == {SAY_LANGUAGE[code]}
    assert summary.get("voice") == connecting.get("voice") == voice_yaml(code)["voice"]
    assert summary.text.startswith(" ".join(voice_yaml(code)["summary"].split())[:40])
    assert spoken_number(fact("hotline")) in summary.text
    assert dial.text == "+" + re.sub(r"\D", "", fact("hotline"))  # 1-855-...: +1855...
    assert dial.get("action") == f"/voice/dialed?lang={code}"


def test_the_spanish_connecting_line_is_translated(call):
    root = call.twiml("/voice/language?attempt=1", Digits=digit_of("es"))
    assert says(root)[1] == ("es-US", "Ahora le comunicamos con la línea de ayuda. "
                                      "No cuelgue, por favor.")


@pytest.mark.parametrize("digits", ["", "7", "*", "#"])
def test_no_key_or_a_wrong_key_hears_the_choice_once_more(call, digits):
    root = call.twiml("/voice/language?attempt=1", Digits=digits)
    gather = root.find("Gather")
    assert gather is not None and gather.get("action") == f"/voice/language?attempt={ATTEMPTS}"
    assert says(gather) == [("en-US", "Sorry, I did not get that. For English, press 1."),
                            ("es-US", "Perdone, no le entendí. Para español, oprima 2.")]
    assert root.find("Redirect").text == gather.get("action")


@pytest.mark.parametrize("digits", ["", "7"])
@pytest.mark.parametrize("default", ["en", "es"])
def test_after_the_second_try_the_default_language_is_used(make_app, digits, default):
    call = Call(make_app(DEFAULT_LOCALE=default).test_client())
    root = call.twiml(f"/voice/language?attempt={ATTEMPTS}", Digits=digits)
    assert root.find("Gather") is None
    assert {lang for lang, _ in says(root)} == {SAY_LANGUAGE[default]}
    assert root.find("Dial").get("action") == f"/voice/dialed?lang={default}"


def test_a_right_key_on_the_second_try_still_counts(call):
    root = call.twiml(f"/voice/language?attempt={ATTEMPTS}", Digits=digit_of("es"))
    assert root.find("Dial").get("action") == "/voice/dialed?lang=es"


# -- after the hotline call --------------------------------------------------------------
@pytest.mark.parametrize("status", FAILED)
@pytest.mark.parametrize("code", CODES)
def test_a_failed_dial_says_the_hotline_number_slowly_twice(call, status, code):
    root = call.twiml(f"/voice/dialed?lang={code}", DialCallStatus=status)
    spoken = spoken_number(fact("hotline"))
    texts = [text for _, text in says(root)]
    assert sum(text.count(spoken) for text in texts) == 2
    assert {lang for lang, _ in says(root)} == {SAY_LANGUAGE[code]}
    assert [child.tag for child in root][-1] == "Hangup"


def test_the_spoken_number_is_one_digit_at_a_time():
    spoken = spoken_number("1-855-435-7693")
    assert spoken == "1. 8, 5, 5. 4, 3, 5. 7, 6, 9, 3"
    assert re.sub(r"\D", "", spoken) == "18554357693"


@pytest.mark.parametrize("code", CODES)
def test_a_completed_call_ends_with_a_goodbye(call, code):
    root = call.twiml(f"/voice/dialed?lang={code}", DialCallStatus="completed",
                      DialCallDuration="120")
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert spoken_number(fact("hotline")) not in says(root)[0][1]


def test_an_unknown_language_in_the_callback_falls_back_to_the_default(call):
    root = call.twiml("/voice/dialed?lang=xx", DialCallStatus="no-answer")
    assert {lang for lang, _ in says(root)} == {SAY_LANGUAGE["en"]}


@pytest.mark.parametrize("path,fields", [
    ("/voice", {}),
    ("/voice/language?attempt=1", {}),
    (f"/voice/language?attempt={ATTEMPTS}", {}),
    ("/voice/language?attempt=1", {"Digits": "1"}),
    ("/voice/dialed?lang=en", {"DialCallStatus": "completed"}),
    ("/voice/dialed?lang=en", {}),
])
def test_no_step_leaves_the_caller_in_silence(call, path, fields):
    root = call.twiml(path, **fields)
    assert any(text.strip() for _, text in says(root))


# -- the spoken content ------------------------------------------------------------------
@pytest.mark.parametrize("code", CODES)
def test_every_language_has_a_reviewed_spoken_summary(code):
    data = voice_yaml(code)
    assert data["locale"] == code
    assert data["sources"] and all(s.startswith("https://") for s in data["sources"])
    assert "reviewed" in data  # a date with a reviewer, or null until one signs
    assert data["reviewed"] is None or str(data["reviewed"]) >= "2026-11-28"
    summary = " ".join(data["summary"].split())
    assert not re.search(r"https?:|www\.|\.(org|gov|com)\b", summary)
    assert max(len(s.split()) for s in re.split(r"(?<=[.!?])\s+", summary)) <= VOICE_MAX_WORDS
    loaded = load_content(CONTENT_DIR, SETTINGS).locales[code].voice
    assert loaded is not None and len(loaded.summary) <= VOICE_MAX_CHARS


def test_the_hotline_is_dialable():
    assert e164(fact("hotline")) == "+18554357693"
    with pytest.raises(ValueError):
        e164("12345")


def _broken_voice(tmp_path: Path, code: str, **changes: object) -> Path:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / code / "voice.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return content


@pytest.mark.parametrize("changes,key,what", [
    ({"summary": "See {red_card} for a card."}, "summary", "phone-number facts"),
    ({"summary": "Visit ilrc.org for a card."}, "summary", "web addresses"),
    ({"summary": "Stay calm. " * 80}, "summary", f"limit is {VOICE_MAX_CHARS}"),
    ({"summary": "word " * 30 + "."}, "summary", "sentence of 31 words"),
    ({"summary": None}, "summary", "missing"),
    ({"sources": None}, "sources", "at least one source"),
    ({"language": "spanish"}, "language", "es-US"),
    ({"reviewed": "soon"}, "reviewed", "date"),
])
def test_the_loader_refuses_a_bad_spoken_summary(tmp_path, changes, key, what):
    content = _broken_voice(tmp_path, "es", **changes)
    with pytest.raises(ContentError) as err:
        load_content(content, SETTINGS)
    problem = f"{content / 'es' / 'voice.yaml'}: {key}: "
    assert any(p.startswith(problem) and what in p for p in err.value.problems), \
        err.value.problems


def test_the_loader_requires_a_voice_file_for_every_locale(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    (content / "en" / "voice.yaml").unlink()
    with pytest.raises(ContentError) as err:
        load_content(content, SETTINGS)
    assert f"{content / 'en' / 'voice.yaml'}: -: file is missing" in err.value.problems


def test_a_broken_translation_still_puts_the_caller_through(make_app, tmp_path):
    """A translator's typo in a placeholder breaks the Spanish line at run time: the
    caller hears a fallback and is dialled through, not Twilio's 'application error'."""
    locales = tmp_path / "locales"
    shutil.copytree(CONTENT_DIR.parent / "locales", locales,
                    ignore=shutil.ignore_patterns("*.mo"))
    po = locales / "es" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    assert "Para {language}, oprima {digit}." in text
    po.write_text(text.replace("Para {language}, oprima {digit}.",
                               "Para {idioma}, oprima {digit}."), encoding="utf-8")
    call = Call(make_app(LOCALES_DIR=str(locales), TESTING=False).test_client())
    root = call.twiml("/voice")
    assert [child.tag for child in root] == ["Say", "Dial"]
    assert root.find("Dial").text == e164(fact("hotline"))
    assert root.find("Dial").get("action") == "/voice/dialed"


# -- limits: a dialler calling again and again does not tie up the hotline ---------------
def test_a_caller_over_the_limit_hears_the_number_instead_of_being_put_through(make_app):
    app = make_app(**LIMITS)
    call = Call(app.test_client())
    tags = [[c.tag for c in call.twiml("/voice/language?attempt=1", Digits="1")]
            for _ in range(5)]
    assert tags[:3] == [["Say", "Say", "Dial"]] * 3
    assert tags[3] == tags[4] == ["Say", "Pause", "Say", "Hangup"]
    limited = call.twiml("/voice/language?attempt=1", Digits="1")
    spoken = " ".join(text for _, text in says(limited))
    assert spoken.count(spoken_number(fact("hotline"))) == 2
    other = call.twiml("/voice/language?attempt=1", Digits="1", From="+13125550999")
    assert other.find("Dial") is not None  # other callers are put through
    counts = {(intent, locale): n for _, intent, locale, n in
              app.extensions["helpline_store"].counts()}
    assert counts[("call", "en")] == 7  # every call is counted, limited or not


def test_with_the_store_failing_a_caller_is_put_through_in_their_language(make_app,
                                                                          db_path):
    import sqlite3

    app = make_app()
    call = Call(app.test_client())
    db = sqlite3.connect(db_path)
    db.execute("CREATE TRIGGER broken BEFORE INSERT ON stats "
               "BEGIN SELECT RAISE(ABORT, 'broken'); END")
    db.commit()
    db.close()
    root = call.twiml("/voice/language?attempt=1", Digits=digit_of("es"))
    assert root.find("Dial").text == e164(fact("hotline"))
    assert {language for language, _ in says(root)} == {voice_yaml("es")["language"]}
