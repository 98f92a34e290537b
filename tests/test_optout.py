"""STOP and START: carrier opt-out words silence the bot until the texter opts back in."""

from __future__ import annotations

import pytest

from bot.content import CARRIER_WORDS
from conftest import SENDER, key_of, stored

STOP_WORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"]
START_WORDS = ["START", "UNSTOP"]


def test_carrier_word_lists_match_the_content_module():
    assert {w.lower() for w in STOP_WORDS} == {w for w, i in CARRIER_WORDS.items() if i == "stop"}
    assert {w.lower() for w in START_WORDS} == {
        w for w, i in CARRIER_WORDS.items() if i == "start"}


def test_stop_silences_until_start(phone, engine, hotline, db_path):
    door = engine.content.locales["en"].texts["door"].reply
    assert phone.text("4") == (200, door)

    assert phone.text("STOP") == (200, None)
    assert stored(db_path)[key_of(SENDER)][1] == 1  # opted_out
    for body in ["hola", "help", "4", "my dad was picked up by ICE", ""]:
        assert phone.text(body) == (200, None), body

    status, menu = phone.text("START")
    assert (status, menu) == (200, engine.menu("en"))
    assert hotline in menu
    assert stored(db_path)[key_of(SENDER)][1] == 0
    assert phone.text("4") == (200, door)


def test_opt_out_is_per_sender(phone, engine):
    assert phone.text("STOP", sender="+13125550101") == (200, None)
    assert phone.text("4", sender="+13125550101") == (200, None)
    assert phone.text("4", sender="+13125550102") == (
        200, engine.content.locales["en"].texts["door"].reply)


@pytest.mark.parametrize("word", STOP_WORDS + ["stop", "Stop.", " quit "])
def test_carrier_stop_word_gets_an_empty_response(phone, word):
    assert phone.text(word) == (200, None)
    assert phone.text("hola") == (200, None)


@pytest.mark.parametrize("word", START_WORDS + ["start", "Unstop!"])
def test_carrier_start_word_opts_back_in(phone, engine, word, hotline):
    assert phone.text("STOP") == (200, None)
    status, text = phone.text(word)
    assert status == 200
    assert text == engine.menu("en")
    assert hotline in text


def test_start_answers_in_the_remembered_language(phone, engine):
    assert phone.text("buenas tardes") == (200, engine.menu("es"))
    assert phone.text("STOP") == (200, None)
    assert phone.text("START") == (200, engine.menu("es"))
    assert phone.text("4") == (200, engine.content.locales["es"].texts["door"].reply)


def test_forget_while_opted_out_deletes_silently(phone, db_path):
    assert phone.text("STOP") == (200, None)
    assert key_of() in stored(db_path)
    assert phone.text("borrar") == (200, None)
    assert stored(db_path) == {}
