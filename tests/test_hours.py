"""Replies that say "call" say when a person answers the hotline, in its time zone
(facts.yaml hotline_hours), at a time passed in: respond() stays pure."""

from __future__ import annotations

import datetime as dt
import shutil
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.content import load as load_content
from bot.conversation import Helpline, State
from conftest import CONTENT_DIR, LOCALES_DIR, SETTINGS, LIVE

CHICAGO = ZoneInfo("America/Chicago")
NOON = dt.datetime(2026, 12, 2, 12, 0, tzinfo=CHICAGO)  # a Wednesday, in hours
THREE_AM = dt.datetime(2026, 12, 2, 3, 0, tzinfo=CHICAGO)
TEN_PM = dt.datetime(2026, 12, 2, 22, 0, tzinfo=CHICAGO)
SATURDAY = dt.datetime(2026, 12, 5, 12, 0, tzinfo=CHICAGO)
CALLS = ("hotline", "door", "report", "detained", "rights")


def _bot(tmp_path, **languages) -> Helpline:
    """The engine on a copy of the content whose hours are `languages`."""
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "facts.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["hotline_hours"]["languages"].update(languages)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return Helpline(load_content(content, SETTINGS, LIVE), LOCALES_DIR, "en", "auto")


@pytest.mark.parametrize("intent", CALLS)
@pytest.mark.parametrize("locale", ["en", "es"])
def test_replies_that_say_call_carry_the_hours(engine, intent, locale):
    assert engine.content.locales[locale].texts[intent].when_closed is not None


def test_in_hours_a_person_answers_until_closing(engine):
    assert engine.respond("9", State("en"), now=NOON).text.endswith(
        "A person answers the hotline until 9:00 PM.")
    assert engine.respond("9", State("es"), now=NOON).text.endswith(
        "Le atienden hasta las 21:00.")


def test_at_3_am_no_person_is_promised_and_the_reply_says_what_to_do(engine):
    en = engine.respond("9", State("en"), now=THREE_AM).text
    assert "until" not in en.splitlines()[-1]
    assert en.endswith("A person answers the hotline from 6:00 AM today. Until then, "
                       "text MENU for what to do now.")
    es = engine.respond("9", State("es"), now=THREE_AM).text
    assert es.endswith("Le atienden hoy desde las 6:00. Mientras tanto, envíe MENU.")


def test_late_at_night_a_person_answers_tomorrow(engine):
    text = engine.respond("4", State("en"), now=TEN_PM).text
    assert text.endswith("A person answers the hotline from 6:00 AM tomorrow.")
    assert "mañana desde las 6:00" in engine.respond("4", State("es"), now=TEN_PM).text


def test_the_time_is_read_in_chicago_whatever_zone_it_comes_in(engine):
    utc = NOON.astimezone(dt.timezone.utc)
    assert engine.respond("9", State("en"), now=utc).text == \
        engine.respond("9", State("en"), now=NOON).text


def test_a_closed_day_names_the_day_a_person_answers(tmp_path):
    bot = _bot(tmp_path, en=[{"days": "weekdays", "from": "09:00", "to": "17:00"}],
               es=[{"days": "weekdays", "from": "09:00", "to": "17:00"}])
    assert bot.respond("9", State("en"), now=SATURDAY).text.endswith(
        "A person answers the hotline from 9:00 AM on Monday. Until then, text MENU for "
        "what to do now.")
    assert "Le atienden el lunes desde las 9:00." in \
        bot.respond("9", State("es"), now=SATURDAY).text


def test_a_line_open_round_the_clock_says_so(tmp_path):
    always = [{"days": "daily", "from": "00:00", "to": "24:00"}]
    bot = _bot(tmp_path, en=always, es=always)
    assert bot.respond("9", State("en"), now=THREE_AM).text.endswith(
        "A person answers the hotline at any hour.")


def test_the_fallback_is_hours_aware_too(engine):
    from bot.conversation import HANDLERS, _Turn
    from bot.intents import Match

    turn = _Turn(Match("unknown", "en"), "en", State("en"), engine.catalogs["en"].gettext,
                 now=THREE_AM)
    text = HANDLERS["unknown"](engine, turn).text
    assert "6:00 AM today" in text and "to talk to a person" not in text


def test_replies_without_a_call_have_no_hours(engine):
    assert engine.respond("1", State("en"), now=THREE_AM).text == \
        engine.content.locales["en"].texts["silent"].reply


def test_respond_is_pure_for_a_given_time(engine):
    assert engine.respond("9", State("en"), now=THREE_AM) == \
        engine.respond("9", State("en"), now=THREE_AM)


def test_a_time_without_a_zone_is_refused(engine):
    with pytest.raises(ValueError, match="time zone"):
        engine.respond("9", State("en"), now=dt.datetime(2026, 12, 2, 3, 0))


@pytest.mark.parametrize("bad,what", [
    ({"time_zone": "Mars/Olympus"}, "IANA time zone"),
    ({"languages": {"en": [{"days": "sometimes", "from": "06:00", "to": "21:00"}]}}, "days"),
    ({"languages": {"en": [{"days": "daily", "from": "21:00", "to": "06:00"}]}}, "later"),
    ({"languages": {"en": [{"days": "daily", "from": "6am", "to": "21:00"}]}}, "a time like"),
])
def test_the_loader_refuses_bad_hours(tmp_path, bad, what):
    from bot.content import ContentError

    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "facts.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["hotline_hours"].update(bad)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(content, SETTINGS)
    assert any("hotline_hours" in p and what in p for p in err.value.problems), \
        err.value.problems
