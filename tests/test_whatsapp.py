"""WhatsApp: the same replies, with WhatsApp's light formatting (*bold* command words and
menu digits); SMS and the web page stay plain text."""

from __future__ import annotations

import re

import pytest

from bot.content import load as load_content
from bot.conversation import CHANNELS, COMMAND_INTENTS, Helpline
from conftest import CONTENT_DIR, LOCALES_DIR, SENDER, SETTINGS, fact, LIVE

WHATSAPP = "whatsapp:" + SENDER
# A message for each kind of reply: menus, reviewed content, catalog confirmations.
MESSAGES = ["hola", "hello", "1", "4", "9", "privacy", "privacidad", "english", "español",
            "idioma", "derechos", "what are my rights", "asdfgh", "qwerty zxcv", "borrar",
            "forget", "gracias"]
BOLD = re.compile(r"\*([^*\n]+)\*")


def unbold(text: str) -> str:
    return BOLD.sub(r"\1", text)


@pytest.mark.parametrize("message", MESSAGES)
def test_whatsapp_says_the_same_words_as_sms(engine, message):
    sms = engine.respond(message, None, channel="sms")
    whatsapp = engine.respond(message, None, channel="whatsapp")
    assert (whatsapp.intent, whatsapp.locale, whatsapp.state) == (sms.intent, sms.locale,
                                                                  sms.state)
    assert unbold(whatsapp.text) == sms.text


@pytest.mark.parametrize("channel", ["sms", "web"])
@pytest.mark.parametrize("message", MESSAGES)
def test_sms_and_the_web_page_are_plain_text(engine, channel, message):
    assert not BOLD.search(engine.respond(message, None, channel=channel).text)


@pytest.mark.parametrize("message,locale,stop_word", [("hola", "es", "STOP"),
                                                      ("hello", "en", "STOP")])
def test_the_whatsapp_menu_shows_digits_and_commands_in_bold(engine, message, locale,
                                                             stop_word):
    reply = engine.respond(message, None, channel="whatsapp")
    assert reply.intent == "menu" and reply.locale == locale
    lines = reply.text.splitlines()
    entries = [line for line in lines if re.match(r"\*\d\* ", line)]
    titled = {d for d, i in engine.content.menu.items() if d not in engine.content.more
              and engine.content.locales[locale].texts.get(i) and
              engine.content.locales[locale].texts[i].title}
    assert {line[1] for line in entries} == titled
    assert f"*{stop_word}*" in reply.text
    other = "ENGLISH" if locale == "es" else "ESPAÑOL"
    assert f"*{other}*" in reply.text


def test_the_hotline_name_and_agency_names_are_not_bolded(engine):
    for message in ("9", "1", "linea de ayuda"):
        text = engine.respond(message, None, channel="whatsapp").text
        assert "*HELP*" not in text and "*ICE*" not in text
    assert fact("hotline_name") in engine.respond("9", None, channel="whatsapp").text


def test_command_words_are_the_ones_the_bot_acts_on(engine):
    assert {"MENU", "STOP", "ENGLISH", "ESPAÑOL", "FORGET", "BORRAR"} <= engine.commands
    for word in engine.commands:
        assert engine.matcher.match(word).intent in COMMAND_INTENTS, word


def test_an_unknown_channel_is_refused(engine):
    with pytest.raises(ValueError, match="unknown channel"):
        engine.respond("hola", None, channel="fax")
    assert set(CHANNELS) == {"sms", "whatsapp", "web"}


def test_the_gsm7_setting_changes_sms_only():
    bot = Helpline(load_content(CONTENT_DIR, SETTINGS, LIVE), LOCALES_DIR, "en", "gsm7")
    assert "í" not in bot.respond("hola", None, channel="sms").text  # Policía -> Policia
    assert "Policía" in bot.respond("hola", None, channel="whatsapp").text
    assert "Policía" in bot.respond("hola", None, channel="web").text


# -- through /sms, as Twilio posts a WhatsApp message --------------------------------------
def test_a_whatsapp_sender_gets_bold_menu_through_sms_webhook(phone):
    sent = phone.text("hola", sender=WHATSAPP)
    assert sent.status == 200
    assert "*1* " in sent.text and "*STOP*" in sent.text


def test_an_sms_sender_gets_plain_text_through_sms_webhook(phone):
    sent = phone.text("hola", sender=SENDER)
    assert sent.status == 200
    assert not BOLD.search(sent.text) and "\n1 " in sent.text


def test_a_whatsapp_sender_remembers_language_like_sms(phone, engine):
    assert "*MENU*" in phone.text("español", sender=WHATSAPP).text
    door = engine.content.locales["es"].texts["door"].reply
    assert phone.text("4", sender=WHATSAPP).text.startswith(door)  # remembered: Spanish
