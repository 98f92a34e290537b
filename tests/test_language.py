"""Each sender's language is remembered; the default language is a setting."""

from __future__ import annotations

import pytest

from bot.conversation import State
from bot.i18n import language_name, negotiate
from conftest import Phone, key_of, reply_now


def door(engine, code):
    return reply_now(engine, code, "door")


def test_hola_gets_a_spanish_reply(phone, engine):
    assert phone.text("hola") == (200, engine.menu("es"))


def test_language_is_remembered_and_can_be_changed(phone, engine):
    assert phone.text("buenas tardes") == (200, engine.menu("es"))
    assert phone.text("4") == (200, door(engine, "es"))

    status, confirmation = phone.text("english")
    assert status == 200
    assert confirmation.startswith("OK, I will answer in ")
    assert "english" in confirmation.lower()
    assert phone.text("4") == (200, door(engine, "en"))

    status, confirmation = phone.text("español")
    assert confirmation.startswith("Listo, le responderé en español")
    assert phone.text("4") == (200, door(engine, "es"))


def test_each_sender_has_their_own_language(phone, engine):
    assert phone.text("buenas tardes", sender="+13125550101") == (200, engine.menu("es"))
    assert phone.text("4", sender="+13125550102") == (200, door(engine, "en"))
    assert phone.text("4", sender="+13125550101") == (200, door(engine, "es"))


def test_new_sender_gets_the_default_language(phone, engine):
    assert phone.text("4") == (200, door(engine, "en"))


@pytest.mark.parametrize("setting", ["es", "es-MX", "es_MX"])
def test_default_language_is_a_setting(make_app, engine, setting):
    phone = Phone(make_app(DEFAULT_LOCALE=setting).test_client())
    assert phone.text("4") == (200, door(engine, "es"))
    assert phone.text("my dad was picked up by ICE", sender="+13125550101") == (
        200, reply_now(engine, "en", "detained"))


def test_unavailable_default_language_falls_back_to_a_content_locale(make_app, engine):
    phone = Phone(make_app(DEFAULT_LOCALE="fr").test_client())
    assert phone.text("4").text in {door(engine, code) for code in engine.codes}


@pytest.mark.parametrize("preferred, expected", [
    (["es-MX"], "es"), (["es_MX"], "es"), (["es"], "es"), (["en-US"], "en"),
    (["fr", "es"], "es"), (["fr"], None), ([""], None),
])
def test_negotiate(preferred, expected):
    assert negotiate(preferred, ["en", "es"]) == expected


def test_language_names_come_from_cldr():
    assert language_name("es") == "Español"
    assert language_name("en") == "English"
    assert language_name("es", "en") == "Spanish"


def test_english_confirmation_capitalises_the_language_name(phone):
    """CLDR's own casing: 'English', 'español' (not 'english')."""
    assert "in English." in phone.text("english").text


def test_remembered_language_no_longer_offered_falls_back_to_the_default(app, phone,
                                                                          engine):
    """A stored language the content no longer offers (a locale folder removed, another
    city's content) must not turn every reply into the error apology."""
    app.extensions["helpline_store"].put(key_of(), State("pt"))
    assert phone.text("4") == (200, door(engine, "en"))


# -- what is remembered: only a language the sender wrote in, or asked for ----------------
@pytest.mark.parametrize("first", ["START", "4", "🙏", "ok"])
@pytest.mark.parametrize("then, intent", [("DERECHOS", "rights"), ("abogado", "lawyer"),
                                          ("gracias", "thanks")])
def test_a_defaulted_language_does_not_stick(engine, first, then, intent):
    """The sender never chose English: "START" or "4" got the default. A later single
    Spanish word is answered in Spanish."""
    state = engine.respond(first, None).state
    assert state is None or state.locale is None
    reply = engine.respond(then, state)
    assert (reply.intent, reply.locale) == (intent, "es")


def test_a_language_written_plainly_sticks(engine):
    state = engine.respond("hola, buenas tardes", None).state
    assert state.locale == "es"
    assert engine.respond("4", state).locale == "es"


def test_a_language_asked_for_sticks(engine):
    state = engine.respond("english please", State("es")).state
    assert state.locale == "en"
    assert engine.respond("4", state).locale == "en"


@pytest.mark.parametrize("borrowed", ["lawyer", "ok", "ICE", "help"])
def test_one_borrowed_english_word_does_not_switch_a_spanish_speaker(engine, borrowed):
    state = engine.respond("necesito ayuda por favor", None).state
    assert state.locale == "es"
    reply = engine.respond(borrowed, state)
    assert reply.locale == "es" and reply.state.locale == "es"


def test_a_plain_english_message_does_switch(engine):
    state = engine.respond("necesito ayuda por favor", None).state
    reply = engine.respond("ICE is knocking on my door right now", state)
    assert (reply.intent, reply.locale, reply.state.locale) == ("door", "en", "en")


def test_a_single_word_fills_an_empty_memory(phone, engine):
    assert phone.text("hola") == (200, engine.menu("es"))
    assert phone.text("4") == (200, door(engine, "es"))
