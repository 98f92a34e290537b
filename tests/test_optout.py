"""Carrier words, through the real app: opt-out words silence the bot until the texter opts
back in (START, UNSTOP, or YES while opted out); HELP and INFO get the HELP reply carriers
ask for; Twilio's OptOutType decides when Advanced Opt-Out sends it."""

from __future__ import annotations

import pytest

from bot import ConfigError
from bot.content import CARRIER_WORDS, HELP_WORDS
from bot.sms import MAX_SEGMENTS, segments
from conftest import ORG, SENDER, key_of, stored, reply_now

# Twilio's default opt-out words, which the FCC's April 2025 rule also counts.
STOP_WORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]
STOP_PHRASES = ["opt out", "stop all"]
START_WORDS = ["START", "UNSTOP"]
# Case, spacing and punctuation as people type them.
STOP_VARIANTS = ["stop", "Stop.", " quit ", "Revoke", "optout!", "Opt-Out", "OPT OUT",
                 "opt  out", "Stop All", "STOP ALL", "stop-all", "Unsubscribe."]


def test_carrier_word_lists_match_the_content_module():
    assert {w.lower() for w in STOP_WORDS} | set(STOP_PHRASES) == {
        w for w, i in CARRIER_WORDS.items() if i == "stop"}
    assert {w.lower() for w in START_WORDS} == {
        w for w, i in CARRIER_WORDS.items() if i == "start"}
    assert HELP_WORDS == {"help", "info"}


def test_stop_silences_until_start(phone, engine, db_path):
    door = reply_now(engine, "en", "door")
    assert phone.text("4") == (200, door)

    assert phone.text("STOP") == (200, None)
    assert stored(db_path)[key_of(SENDER)][1] == 1  # opted_out
    for body in ["hola", "help", "4", "my dad was picked up by ICE", ""]:
        assert phone.text(body) == (200, None), body

    assert phone.text("START") == (200, engine.help_text("en"))
    assert stored(db_path)[key_of(SENDER)][1] == 0
    assert phone.text("4") == (200, door)


def test_opt_out_is_per_sender(phone, engine):
    assert phone.text("STOP", sender="+13125550101") == (200, None)
    assert phone.text("4", sender="+13125550101") == (200, None)
    assert phone.text("4", sender="+13125550102") == (
        200, reply_now(engine, "en", "door"))


@pytest.mark.parametrize("word", STOP_WORDS + STOP_PHRASES + STOP_VARIANTS)
def test_every_carrier_stop_word_opts_out(phone, word, db_path):
    assert phone.text(word) == (200, None)
    assert stored(db_path)[key_of()][1] == 1, word
    assert phone.text("hola") == (200, None)


@pytest.mark.parametrize("word", START_WORDS + ["start", "Unstop!", "YES", "yes", "Yes."])
def test_carrier_start_word_opts_back_in(phone, engine, word, hotline, db_path):
    assert phone.text("STOP") == (200, None)
    status, text = phone.text(word)
    assert (status, text) == (200, engine.help_text("en"))
    assert hotline in text
    assert stored(db_path)[key_of()][1] == 0


def test_yes_is_an_ordinary_word_from_a_sender_not_opted_out(phone, engine):
    assert phone.text("yes").text != engine.help_text("en")


def test_start_answers_in_the_remembered_language(phone, engine):
    assert phone.text("buenas tardes") == (200, engine.menu("es"))
    assert phone.text("STOP") == (200, None)
    assert phone.text("START") == (200, engine.help_text("es"))
    assert phone.text("4") == (200, reply_now(engine, "es", "door"))


def test_forget_while_opted_out_deletes_silently(phone, db_path):
    assert phone.text("STOP") == (200, None)
    assert key_of() in stored(db_path)
    assert phone.text("borrar") == (200, None)
    assert stored(db_path) == {}


# -- Twilio's Advanced Opt-Out: OptOutType is authoritative ------------------------------
def optout_fields(phone, body: str, kind: str) -> dict[str, str]:
    from conftest import twilio_fields

    return {**twilio_fields(body, phone.sender), "OptOutType": kind}


@pytest.mark.parametrize("body", ["BAJA", "hola", "4"])  # BAJA: a keyword set in the console
def test_opt_out_type_stop_opts_out_whatever_the_words(phone, body, db_path):
    assert phone.text(None, fields=optout_fields(phone, body, "STOP")) == (200, None)
    assert stored(db_path)[key_of()][1] == 1
    assert phone.text("4") == (200, None)


def test_opt_out_type_start_opts_in_whatever_the_words(phone, engine, db_path):
    assert phone.text("STOP") == (200, None)
    assert phone.text(None, fields=optout_fields(phone, "ALTA", "START")) == (
        200, engine.help_text("en"))
    assert stored(db_path)[key_of()][1] == 0


def test_opt_out_type_help_gets_the_help_reply(phone, engine):
    assert phone.text("hola") == (200, engine.menu("es"))
    assert phone.text(None, fields=optout_fields(phone, "AYUDA", "help")) == (
        200, engine.help_text("es"))


# -- the HELP reply ----------------------------------------------------------------------
# What carriers look for in a HELP reply, as each locale says it.
HELP_PARTS = {
    "en": ["We reply only when you text", "msg frequency varies",
           "Msg & data rates may apply", "STOP to stop"],
    "es": ["Solo respondemos cuando usted nos escribe",
           "Pueden aplicarse tarifas de mensajes y datos", "STOP: salir"],
}


@pytest.mark.parametrize("locale, greeting", [("en", "hello"), ("es", "hola")])
@pytest.mark.parametrize("word", ["HELP", "help", "Info", "INFO."])
def test_help_reply_has_what_carriers_require(phone, engine, hotline, locale, greeting,
                                             word):
    phone.text(greeting)
    status, text = phone.text(word)
    assert (status, text) == (200, engine.help_text(locale))
    for part in [ORG["ORG_NAME"], ORG["SUPPORT_CONTACT"], hotline, *HELP_PARTS[locale]]:
        assert part in text, (locale, part)
    assert segments(text).count <= MAX_SEGMENTS


def test_help_reply_follows_the_settings(make_app):
    app = make_app(ORG_NAME="Elgin Neighbours", SUPPORT_CONTACT="847-555-0100")
    for code in ("en", "es"):
        text = app.extensions["helpline"].help_text(code)
        assert "Elgin Neighbours" in text and "847-555-0100" in text


def test_help_reply_over_the_segment_budget_refuses_to_start(make_app):
    with pytest.raises(ConfigError, match="HELP reply.*shorten"):
        make_app(ORG_NAME="The " + "Very " * 90 + "Long Network")


# -- numbers without Twilio's opt-out handling: our own confirmation ---------------------
def test_confirm_stop_sends_exactly_one_confirmation_in_the_senders_language(make_app,
                                                                            engine):
    from conftest import Phone

    phone = Phone(make_app(CONFIRM_STOP=True).test_client())
    assert phone.text("buenas tardes") == (200, engine.menu("es"))
    status, text = phone.text("STOP")
    assert status == 200 and text is not None
    assert ORG["ORG_NAME"] in text and "START" in text and "baja" in text
    assert phone.text("STOP") == (200, None)  # once only
    assert phone.text("cancel") == (200, None)
    assert phone.text("hola") == (200, None)


def test_confirm_stop_stays_silent_when_twilio_advanced_opt_out_confirmed(make_app):
    from conftest import Phone

    phone = Phone(make_app(CONFIRM_STOP=True).test_client())
    assert phone.text(None, fields=optout_fields(phone, "STOP", "STOP")) == (200, None)


def test_without_confirm_stop_the_carrier_confirms(phone):
    assert phone.text("STOP") == (200, None)
