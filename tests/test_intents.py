"""The matcher's mechanisms, each on a message that needs it (real content, no stubs)."""

from __future__ import annotations

import shutil

import pytest
import yaml

from bot.content import load as load_content
from bot.intents import MAX_CHARS, Matcher, normalise
from conftest import CONTENT_DIR, SETTINGS


@pytest.mark.parametrize("text, words", [
    ("¡¡AYUDAAA!! La MIGRA está aquí 🚨", ["ayuda", "la", "migra", "esta", "aqui"]),
    ("don't open", ["dont", "open"]),
    ("Niño—pequeño…", ["nino", "pequeno"]),
    ("", []),
])
def test_normalise(text, words):
    assert normalise(text) == words


def test_normalise_cuts_at_the_body_limit():
    assert normalise("a " * MAX_CHARS) == ["a"] * (MAX_CHARS // 2)


@pytest.mark.parametrize("text, words", [
    ("la mi gra", ["la", "migra"]),  # voice-to-text splits a keyword
    ("de tenido", ["detenido"]),
    ("puedo retirarme", ["puedo", "retirarme"]),  # two known words stay two
    ("de tenerlo", ["de", "tenerlo"]),  # "deten*" + a long tail is not a keyword
])
def test_split_words_are_joined_only_into_keywords(engine, text, words):
    assert engine.matcher.words(text) == words


@pytest.mark.parametrize("typo, fixed", [("abogdo", "abogado"), ("puetra", "puerta"),
                                         ("rigts", "rights"), ("warrnt", "warrant")])
def test_typos_are_corrected_to_the_nearest_keyword(engine, typo, fixed):
    assert engine.matcher.words(typo) == [fixed]


@pytest.mark.parametrize("word", ["cancel", "stopall", "unstop"])
def test_carrier_words_are_never_corrected_into_keywords(engine, word):
    assert engine.matcher.words(word) == [word]


@pytest.mark.parametrize("text, intent, locale", [
    ("no hablo ingles", "language", "es"),  # a negated name asks for the other language
    ("i dont understand spanish", "language", "en"),
    ("hablan ingles?", "language", "en"),
    ("signed up for classes", "unknown", "en"),  # an `unknown` phrase shadows `signed`
    ("signed by a judge?", "door", "en"),  # the longer phrase takes the word first
    ("hola, necesito un abogado", "lawyer", "es"),  # specific beats generic
    ("hey what is this number for", "menu", "en"),  # ...unless generic found much more
    ("opcion 4", "door", "es"),
    ("uno", "silent", "es"),
    ("4 agents on my block", "report", "en"),  # a digit inside a sentence is not a choice
    ("vendo tamales a 2 dolares", "unknown", "es"),  # letters tell the language
])
def test_mechanisms(engine, text, intent, locale):
    match = engine.matcher.match(text)
    assert (match.intent, match.locale) == (intent, locale)


def test_explain_shows_words_and_scores(engine):
    seen = engine.matcher.explain("la migra se llevo a mi hermano")
    assert seen["words"][:2] == ["la", "migra"]
    assert max(seen["scores"], key=seen["scores"].get) == "detained"


def test_an_unknown_phrase_shadows_a_language_name(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "en" / "keywords.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intents"].setdefault("unknown", []).append("english lessons")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    matcher = Matcher(load_content(content, SETTINGS))
    assert matcher.match("english lessons at the library?").intent == "unknown"
    assert matcher.match("english please").intent == "language"


def test_weak_keywords_take_only_the_words_left_over(engine):
    # "what do I do" is weak (rights); it must not take words from the door evidence.
    assert engine.matcher.match("ICE is knocking what do i do").intent == "door"
    assert engine.matcher.match("what do i do").intent == "rights"
