"""Understanding, step by step: each step of the pipeline on a message that needs it
(real content and a really fitted model, no stubs)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import yaml

from bot.content import CARRIER_WORDS, Example
from bot.content import load as load_content
from bot.decide import Thresholds, choose, decide
from bot.intents import MAX_CHARS, Matcher, normalise
from bot.model import Model, features, fit, fitted, key_of
from conftest import CONTENT_DIR, SETTINGS, LIVE

# -- 1. normalising ---------------------------------------------------------------------
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
    ("xq no", ["porque", "no"]),  # word shorthand
    ("pls help", ["please", "help"]),
    ("ayuda por favor", ["ayuda", "porfavor"]),  # a phrase written as one word
])
def test_shorthand_is_written_out(engine, text, words):
    assert engine.matcher.words(text) == words


# -- 2. the language --------------------------------------------------------------------
@pytest.mark.parametrize("text, locale, sure", [
    ("la migra está en la esquina", "es", True),
    ("ICE is at my door what do I do", "en", True),
    ("vendo tamales a 2 dolares", "es", True),  # no example says it: the letters do
    ("abogado", "es", False),  # one word answers in its language, but is not remembered
    ("lawyer", "en", False),
    ("me hicieron un stop en la highway", "es", True),  # Spanish around English nouns
    ("4", None, False),
])
def test_language_is_told_by_words_and_letters(engine, text, locale, sure):
    guess = engine.matcher.languages.guess(engine.matcher.words(text))
    assert (guess.locale, guess.sure) == (locale, sure)


# -- 3. the exact rules -----------------------------------------------------------------
@pytest.mark.parametrize("word", sorted(CARRIER_WORDS))
def test_carrier_words_are_decided_by_the_rules_only(engine, word):
    for spelling in (word, word.upper(), word.capitalize() + ".", f"  {word.upper()}! "):
        match = engine.matcher.match(spelling)
        assert (match.intent, match.rule) == (CARRIER_WORDS[word], "carrier word"), spelling


@pytest.mark.parametrize("text, intent, rule", [
    ("opcion 4", "door", "menu digit"),
    ("uno", "silent", "menu digit"),
    ("4 pls", "door", "menu digit"),
    ("MENU", "menu", "command word"),
    ("menu please", "menu", "command word"),
    ("BORRAR", "forget", "command word"),
    ("español", "language", "language name"),
    ("in english please", "language", "language name"),
    ("no hablo ingles", "language", "negated language name"),
    ("STOP STOP STOP", "stop", "carrier words"),
    ("99", "unknown", "a number that is no menu digit"),
    ("idioma", "language", "command word"),
])
def test_exact_rules(engine, text, intent, rule):
    match = engine.matcher.match(text)
    assert (match.intent, match.rule) == (intent, rule)


@pytest.mark.parametrize("text", [
    "4 agents on my block",  # a digit inside a sentence is not a choice
    "stop sign ticket",  # a carrier word inside a sentence is for the model
    "english classes at the library",  # a language's name inside a sentence too
    "how do I stop them from coming in",
])
def test_rules_leave_sentences_to_the_model(engine, text):
    assert engine.matcher.match(text).rule is None


def test_a_negated_name_asks_for_the_language_it_is_written_in(engine):
    match = engine.matcher.match("no hablo ingles")
    assert (match.target, match.locale) == ("es", "es")
    match = engine.matcher.match("i dont understand spanish")
    assert (match.intent, match.target) == ("language", "en")


@pytest.mark.parametrize("typo, fixed", [("puetra", "puerta"), ("polica", "police"),
                                         ("warrnt", "warrant")])
def test_a_word_no_example_uses_is_corrected_to_the_nearest_one(engine, typo, fixed):
    assert engine.matcher.words(typo) == [fixed]


@pytest.mark.parametrize("word", ["stopp", "unstopp", "cancell", "unsubscrib"])
def test_nothing_is_corrected_into_a_carrier_word(engine, word):
    assert engine.matcher.words(word)[0] not in CARRIER_WORDS


# -- 4. the learned model ---------------------------------------------------------------
def test_features_are_words_pairs_and_letter_runs():
    got = features(["la", "migra"])
    assert {"w:la", "w:migra", "b:la_migra", " mi", "migr", "gra "} <= set(got)


@pytest.fixture(scope="module")
def small() -> tuple[list[str], list[str]]:
    content = load_content(CONTENT_DIR, SETTINGS, LIVE)
    rows = [ex for ex in content.examples if ex.locale == "en"][:600]
    return [" ".join(normalise(ex.text)) for ex in rows], [ex.intents[0] for ex in rows]


def test_the_fit_is_deterministic(small):
    texts, labels = small
    one, two = fit(texts, labels), fit(texts, labels)
    assert one.key == two.key
    assert np.array_equal(one.weights, two.weights) and np.array_equal(one.bias, two.bias)


def test_the_table_gives_what_scikit_learn_gives(small):
    """The exported table reads a message as the fitted pipeline would."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier

    from bot.model import FIT, _analyse

    texts, labels = small
    vectorizer = TfidfVectorizer(analyzer=_analyse, sublinear_tf=True, min_df=FIT["min_df"])
    classifier = SGDClassifier(loss=FIT["loss"], alpha=FIT["alpha"], max_iter=FIT["max_iter"],
                               tol=None, random_state=FIT["seed"],
                               class_weight=FIT["class_weight"])
    classifier.fit(vectorizer.fit_transform(texts), labels)
    model = fit(texts, labels)
    probe = ["my dad was picked up by ice", "knock knock", "zzzz qqq", "abogdo"]
    expected = classifier.predict_proba(vectorizer.transform(probe))
    got = np.array([model.probabilities(t.split()) for t in probe])
    assert list(classifier.classes_) == list(model.intents)
    assert np.allclose(got, expected, atol=1e-9)


def test_a_cached_model_is_keyed_by_the_examples(tmp_path, small):
    texts, labels = small
    cache = tmp_path / "models"
    model = fitted(texts, labels, cache)
    (path,) = cache.glob("model-*.npz")
    loaded = Model.load(path, model.key)
    assert loaded is not None and loaded.intents == model.intents
    assert np.array_equal(loaded.weights, model.weights)
    assert Model.load(path, key_of(texts[1:], labels[1:])) is None  # other examples


def test_a_model_others_can_write_is_never_loaded(tmp_path, small):
    texts, labels = small
    model = fit(texts, labels)
    folder = tmp_path / "models"
    folder.mkdir(mode=0o700)
    path = folder / "model.npz"
    model.save(path)
    assert Model.load(path, model.key) is not None
    os.chmod(folder, 0o777)
    assert Model.load(path, model.key) is None
    os.chmod(folder, 0o700)
    os.chmod(path, 0o666)
    assert Model.load(path, model.key) is None


def test_a_cached_file_is_plain_arrays_not_a_pickle(tmp_path, small):
    texts, labels = small
    path = tmp_path / "m.npz"
    fit(texts, labels).save(path)
    with np.load(path, allow_pickle=False) as data:  # would raise on any object array
        assert {"intents", "vocabulary", "idf", "weights", "bias", "key"} == set(data.files)


def test_an_added_example_changes_the_model(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "en" / "examples.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intents"]["record"].append("zorblax the quibbles with my camera?")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    before = Matcher(load_content(CONTENT_DIR, SETTINGS, LIVE))
    after = Matcher(load_content(content, SETTINGS, LIVE))
    assert before.model.key != after.model.key
    assert after.probabilities(["zorblax"])["record"] > before.probabilities(["zorblax"])["record"]


# -- 5. the decision --------------------------------------------------------------------
TH = Thresholds(urgent=0.3, unknown=0.25, least={"stop": 0.6})


def test_urgent_outweighs_a_slightly_likelier_calm_topic():
    assert decide({"door": 0.35, "rights": 0.45, "unknown": 0.2}, TH).intent == "door"
    assert decide({"door": 0.2, "rights": 0.6, "unknown": 0.2}, TH).intent == "rights"


def test_an_intent_that_acts_must_be_meant():
    assert decide({"stop": 0.5, "door": 0.1, "menu": 0.4}, TH).intent == "menu"
    assert decide({"stop": 0.7, "door": 0.1, "menu": 0.2}, TH).intent == "stop"


def test_nothing_sure_is_unknown():
    assert decide({"rights": 0.2, "silent": 0.2, "door": 0.1, "sign": 0.5}, TH).intent == "sign"
    assert decide({"rights": 0.2, "silent": 0.2, "door": 0.1, "sign": 0.2,
                   "lawyer": 0.2}, TH).intent == "unknown"


def test_thresholds_are_chosen_to_cost_least():
    # Urgent texts whose urgent intent is only second: a low urgent threshold catches them.
    rows = [({"door": 0.3, "rights": 0.7}, ["door"])] * 5 + \
        [({"door": 0.12, "rights": 0.88}, ["rights"])] * 3
    chosen, cost = choose(rows, Thresholds())
    assert 0.12 < chosen.urgent <= 0.3 and cost == 0


# -- the whole --------------------------------------------------------------------------
def test_explain_shows_each_step(engine):
    seen = engine.matcher.explain("la migra se llevo a mi hermano")
    assert seen["words"][:2] == ["la", "migra"]
    assert seen["language"]["locale"] == "es"
    assert seen["rule"] is None
    assert next(iter(seen["top"])) == "detained"
    assert seen["decision"] and seen["evidence"]
    assert engine.matcher.explain("STOP")["rule"] == "carrier word"


def test_examples_are_understood_after_fitting(engine):
    """A sanity check, not a measure (the held-back texts are): the model has learnt
    what it was shown."""
    examples: list[Example] = list(engine.content.examples)
    hits = sum(engine.matcher.match(ex.text).intent in ex.intents for ex in examples)
    assert hits / len(examples) >= 0.97
