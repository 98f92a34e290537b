"""`Helpline.respond(text, state) -> Reply`: pure, no Flask, no Twilio."""

from __future__ import annotations

import pytest

from bot import sms
from bot.content import INTENTS
from bot.content import load as load_content
from bot.conversation import Helpline, Reply, State
from conftest import CONTENT_DIR, LOCALES_DIR, SETTINGS, fact, LIVE

# (message, intent, locale): clear examples, about three per intent and language.
EXAMPLES = [
    ("buenas tardes", "menu", "es"),
    ("buenos dias", "menu", "es"),
    ("hola buenas tardes", "menu", "es"),
    ("hello", "menu", "en"),
    ("main menu", "menu", "en"),
    ("hi, what is this number", "menu", "en"),

    ("what are my rights", "rights", "en"),
    ("know your rights", "rights", "en"),
    ("what should i do if ice comes", "rights", "en"),
    ("cuales son mis derechos", "rights", "es"),
    ("conozca sus derechos", "rights", "es"),
    ("que derechos tengo", "rights", "es"),

    ("do i have to answer their questions", "silent", "en"),
    ("can i stay silent", "silent", "en"),
    ("they are asking about my immigration status", "silent", "en"),
    ("tengo que contestar sus preguntas?", "silent", "es"),
    ("puedo guardar silencio", "silent", "es"),
    ("me preguntan de donde soy", "silent", "es"),

    ("am i free to go", "walk_away", "en"),
    ("they stopped me on the street, can i leave", "walk_away", "en"),
    ("can i walk away", "walk_away", "en"),
    ("puedo irme", "walk_away", "es"),
    ("me pararon en la calle, me puedo ir?", "walk_away", "es"),
    ("estoy libre para irme?", "walk_away", "es"),

    ("can they search my bag", "search", "en"),
    ("they want to check my phone", "search", "en"),
    ("do i have to consent to a search", "search", "en"),
    ("pueden revisar mi mochila", "search", "es"),
    ("quieren registrar mi carro", "search", "es"),
    ("no doy permiso para que me revisen", "search", "es"),

    ("ice is knocking on my door", "door", "en"),
    ("do i have to open the door", "door", "en"),
    ("they have a warrant, do i let them in", "door", "en"),
    ("hay agentes en mi puerta", "door", "es"),
    ("estan tocando la puerta", "door", "es"),
    ("tengo que abrir la puerta", "door", "es"),
    ("la migra esta en mi puerta", "door", "es"),

    ("they want me to sign a paper", "sign", "en"),
    ("should i sign the voluntary departure form", "sign", "en"),
    ("do i have to sign anything", "sign", "en"),
    ("quieren que firme un papel", "sign", "es"),
    ("debo firmar la salida voluntaria", "sign", "es"),
    ("me dieron un formulario para firmar", "sign", "es"),

    ("i need a lawyer", "lawyer", "en"),
    ("LAWYER!!", "lawyer", "en"),
    ("can i get a free attorney", "lawyer", "en"),
    ("necesito un abogado", "lawyer", "es"),
    ("abogdo", "lawyer", "es"),
    ("donde encuentro un abogado gratis", "lawyer", "es"),

    ("do chicago police work with ice", "police", "en"),
    ("is chicago a sanctuary city", "police", "en"),
    ("should i call the police", "police", "en"),
    ("la policia trabaja con la migra", "police", "es"),
    ("chicago es ciudad santuario", "police", "es"),
    ("si llamo a la policia", "police", "es"),

    ("is it legal to film the police", "record", "en"),
    ("can i take pictures of ice", "record", "en"),
    ("can i livestream it", "record", "en"),
    ("puedo grabar a la migra", "record", "es"),
    ("puedo sacar fotos de los agentes", "record", "es"),
    ("es legal filmar a la policia", "record", "es"),

    ("what is the hotline number", "hotline", "en"),
    ("i want to talk to a person", "hotline", "en"),
    ("who do i call for help", "hotline", "en"),
    ("cual es el numero de la linea de ayuda", "hotline", "es"),
    ("quiero hablar con una persona", "hotline", "es"),
    ("can someone call me back", "callback", "en"),
    ("llamenme por favor", "callback", "es"),
    ("a quien llamo", "hotline", "es"),

    ("i want to report ice activity", "report", "en"),
    ("i saw ice agents at the corner store", "report", "en"),
    ("there is a raid happening now", "report", "en"),
    ("quiero reportar a la migra", "report", "es"),
    ("vi agentes en la esquina", "report", "es"),
    ("hay una redada en la tienda", "report", "es"),

    ("my dad was picked up by ICE", "detained", "en"),
    ("ice took my brother, how do i find him", "detained", "en"),
    ("my husband was detained and never came home", "detained", "en"),
    ("ayuda, la migra detuvo a mi hermano", "detained", "es"),
    ("se llevaron a mi esposo", "detained", "es"),
    ("no se donde esta mi papa, lo agarro la migra", "detained", "es"),

    ("english", "language", "en"),
    ("can i change the language", "language", "en"),
    ("in english please", "language", "en"),
    ("español", "language", "es"),
    ("cambiar idioma", "language", "es"),
    ("en espanol", "language", "es"),

    ("stop texting me", "stop", "en"),
    ("no more messages", "stop", "en"),
    ("leave me alone", "stop", "en"),
    ("ya no me manden mensajes", "stop", "es"),
    ("dejen de mandar mensajes", "stop", "es"),
    ("darme de baja", "stop", "es"),

    ("opt in", "start", "en"),
    ("text me again", "start", "en"),
    ("resubscribe", "start", "en"),
    ("quiero volver a recibir mensajes", "start", "es"),
    ("reactivar", "start", "es"),
    ("darme de alta", "start", "es"),

    ("is this private", "privacy", "en"),
    ("are you ice", "privacy", "en"),
    ("do you keep my number", "privacy", "en"),
    ("es esto privado", "privacy", "es"),
    ("eres la migra", "privacy", "es"),
    ("guardan mi numero", "privacy", "es"),

    ("delete my data", "forget", "en"),
    ("forget me", "forget", "en"),
    ("erase my data", "forget", "en"),
    ("borrar", "forget", "es"),
    ("borrar mis datos", "forget", "es"),
    ("olvidar mis datos", "forget", "es"),

    ("thank you", "thanks", "en"),
    ("thanks so much", "thanks", "en"),
    ("god bless you", "thanks", "en"),
    ("gracias", "thanks", "es"),
    ("muchas gracias", "thanks", "es"),
    ("dios le bendiga", "thanks", "es"),

    ("i have an ICE check-in next week, should i go", "checkin", "en"),
    ("they put an ankle monitor on me", "checkin", "en"),
    ("tengo cita con ICE el lunes, voy o no", "checkin", "es"),
    ("me pusieron grillete, que hago", "checkin", "es"),
    ("should i turn off face id before a protest", "phone", "en"),
    ("can ICE track my phone location", "phone", "en"),
    ("ICE puede rastrear mi celular", "phone", "es"),
    ("who takes care of my kids if i get deported", "plan", "en"),
    ("quien cuida a mis hijos si me deportan", "plan", "es"),
    ("i got a notice to appear, what now", "court", "en"),
    ("tengo corte de inmigracion la otra semana", "court", "es"),
    ("what papers prove i have been here 2 years", "proof", "en"),
    ("me pueden deportar sin juez si no pruebo 2 años", "proof", "es"),
    ("more topics", "more", "en"),
    ("más temas", "more", "es"),
]

MENU = {"1": "silent", "2": "walk_away", "3": "search", "4": "door", "5": "sign",
        "6": "lawyer", "7": "police", "8": "record", "9": "hotline", "0": "menu",
        "10": "checkin", "11": "phone", "12": "plan", "13": "court", "14": "proof"}


def test_examples_cover_every_intent_in_both_languages():
    seen = {(intent, locale) for _, intent, locale in EXAMPLES}
    wanted = {(i, code) for i in INTENTS if i != "unknown" for code in ("en", "es")}
    assert wanted <= seen


@pytest.mark.parametrize("text, intent, locale", EXAMPLES)
def test_message_is_answered_in_its_language(engine, text, intent, locale):
    assert engine.respond(text).locale == locale


def test_messages_select_their_intents(engine):
    """A learned model is measured, not held to every text: at least 95% of this table
    (the held-back and blind sets are the real measure; see test_understanding.py)."""
    misses = [(text, intent, engine.respond(text).intent) for text, intent, _ in EXAMPLES
              if engine.respond(text).intent != intent]
    assert len(misses) <= len(EXAMPLES) * 0.05, misses


@pytest.mark.parametrize("text, intent, locale", EXAMPLES)
def test_reply_fits_the_segment_budget(engine, text, intent, locale):
    reply = engine.respond(text, State(locale))
    if reply.text is not None:
        assert sms.segments(reply.text).count <= sms.MAX_SEGMENTS


def test_menu_digits_are_those_of_facts_yaml(engine):
    assert dict(engine.content.menu) == MENU


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize("digit, intent", MENU.items())
def test_digit_selects_the_menu_entry_in_the_remembered_language(engine, digit, intent,
                                                                  locale):
    reply = engine.respond(digit, State(locale))
    assert (reply.intent, reply.locale) == (intent, locale)
    if intent == "menu":
        assert reply.text == engine.menu(locale)
    else:
        # a reply that says "call" ends with when a person answers (test_hours.py)
        assert reply.text.startswith(engine.content.locales[locale].texts[intent].reply)
    assert reply.state == State(locale)


@pytest.mark.parametrize("digit", ["4", " 4 ", "4.", "#4"])
def test_digit_from_a_new_sender_gets_the_default_language(engine, digit):
    reply = engine.respond(digit)
    assert (reply.intent, reply.locale) == ("door", "en")


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize("text", ["zanzibarquux", "asdfgh qwerty", "42 zxcv"])
def test_unknown_text_gets_a_fallback_with_the_hotline(engine, text, locale):
    reply = engine.respond(text, State(locale))
    assert reply.intent == "unknown"
    assert fact("hotline") in reply.text
    assert reply.state == State(reply.locale)


def test_unknown_word_keeps_the_remembered_language(engine):
    for locale in engine.codes:
        reply = engine.respond("zanzibarquux", State(locale))
        assert (reply.intent, reply.locale) == ("unknown", locale)


@pytest.mark.parametrize("text", ["🚨", "?!?!", "\x00", "a" * 5000, "🚨" * 2000,
                                  "1 2 3 4 5", "99", "ñ", " \t\n"])
def test_odd_input_never_raises_and_always_answers(engine, text):
    reply = engine.respond(text)
    assert isinstance(reply, Reply)
    assert reply.intent in INTENTS
    assert reply.text
    assert sms.segments(reply.text).count <= sms.MAX_SEGMENTS


def test_stop_start_cycle_in_the_engine(engine):
    stop = engine.respond("STOP", State("es"))
    assert (stop.text, stop.intent, stop.state) == (None, "stop", State("es", opted_out=True))
    quiet = engine.respond("necesito un abogado", stop.state)
    assert quiet.text is None and quiet.state.opted_out
    start = engine.respond("START", quiet.state)
    assert (start.intent, start.text, start.state) == ("start", engine.help_text("es"),
                                                        State("es"))


def test_forget_asks_to_forget_the_sender(engine):
    reply = engine.respond("borrar", State("es", opted_out=False))
    assert reply.intent == "forget" and reply.state is None
    assert fact("hotline") in reply.text


def test_language_request_switches_and_remembers(engine):
    reply = engine.respond("english", State("es"))
    assert (reply.intent, reply.locale, reply.state) == ("language", "en", State("en"))
    reply = engine.respond("español", State("en"))
    assert (reply.intent, reply.locale, reply.state) == ("language", "es", State("es"))


def test_language_question_offers_every_language(engine):
    reply = engine.respond("idioma", State("es"))
    assert reply.intent == "language"
    assert "Español" in reply.text and "English" in reply.text
    assert reply.state == State("es")


def test_a_message_never_changes_another_senders_language(engine):
    """No process-wide language: a Spanish reply does not make the next one Spanish."""
    assert engine.respond("necesito un abogado").locale == "es"
    assert engine.respond("4").locale == "en"
    assert engine.respond("4", State("es")).locale == "es"
    assert engine.respond("4").text.startswith(engine.content.locales["en"].texts["door"].reply)


def test_error_text_has_the_hotline_in_every_language(engine):
    for code in (*engine.codes, None, "xx"):
        assert fact("hotline") in engine.error_text(code)


def test_gsm7_mode_sends_only_gsm7(engine):
    gsm = Helpline(load_content(CONTENT_DIR, SETTINGS, LIVE), LOCALES_DIR, "es", "gsm7")
    for text, _, locale in EXAMPLES[:40] + [("4", "door", "es"), ("0", "menu", "es")]:
        reply = gsm.respond(text, State(locale))
        if reply.text is not None:
            assert sms.is_gsm7(reply.text), reply.text
            assert sms.segments(reply.text).count <= sms.MAX_SEGMENTS


@pytest.mark.parametrize("text, encoding, count", [
    ("", "GSM-7", 1), ("a" * 160, "GSM-7", 1), ("a" * 161, "GSM-7", 2),
    ("a" * 612, "GSM-7", 4), ("a" * 613, "GSM-7", 5), ("{" * 80, "GSM-7", 1),
    ("{" * 81, "GSM-7", 2), ("á" * 70, "UCS-2", 1), ("á" * 71, "UCS-2", 2),
    ("á" * 268, "UCS-2", 4), ("á" * 269, "UCS-2", 5), ("ñÑ¿¡é" * 32, "GSM-7", 1),
    ("🚨" * 35, "UCS-2", 1), ("🚨" * 36, "UCS-2", 2),
])
def test_segments(text, encoding, count):
    got = sms.segments(text)
    assert (got.encoding, got.count) == (encoding, count)


@pytest.mark.parametrize("text, expected", [
    ("“Hola” – ¿qué?", '"Hola" - ¿qué?'), ("Policía", "Policia"), ("Ñandú", "Ñandu"),
    ("a…b", "a...b"), ("ok 🚨", "ok "),
])
def test_to_gsm7(text, expected):
    assert sms.to_gsm7(text) == expected


def test_remembered_locale_missing_from_content_falls_back_to_the_default(engine):
    """A remembered locale the content lacks must not raise KeyError."""
    reply = engine.respond("4", State("pt"))
    assert (reply.intent, reply.locale) == ("door", "en")
