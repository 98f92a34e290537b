"""Tests that keep content, catalogs and code consistent (sqlite-utils style), and the
loader's refusal of invalid content, naming the file and the key."""

from __future__ import annotations

import datetime as dt
import functools
import shutil
import string

import pytest
import yaml

from bot import sms
from bot.content import (CARRIER_WORDS, CATALOG_INTENTS, COMMAND_INTENTS, CONTENT_INTENTS,
                         INTENTS, ContentError, locale_codes, normal_words)
from bot.content import load as load_content
from bot.i18n import catalog_problems, extracted_ids
from conftest import (BREAKAGES, CONTENT_DIR, LOCALES_DIR, ROOT, SETTINGS, broken_copy,
                      fact)

CODES = locale_codes(CONTENT_DIR)
FORBIDDEN = ["1-866-DHS-2-ICE", "347-2423"]  # the ICE tip line: never send people there


@functools.cache
def read(*parts: str) -> dict:
    """A content file's YAML, parsed once (callers do not change it)."""
    return yaml.safe_load((CONTENT_DIR.joinpath(*parts)).read_text(encoding="utf-8"))


def replies(code: str) -> dict[str, dict]:
    return read(code, "replies.yaml").get("intents") or {}


def facts() -> dict[str, dict]:
    return read("facts.yaml")["facts"]


def test_the_live_languages_and_the_drafts_are_there():
    assert CODES[:2] == ["en", "es"] and {"pl", "zh_Hans"} <= set(CODES)


def test_intent_lists_agree():
    assert set(CONTENT_INTENTS) | CATALOG_INTENTS == set(INTENTS)
    assert not set(CONTENT_INTENTS) & CATALOG_INTENTS
    assert COMMAND_INTENTS <= set(INTENTS)


# -- examples and rules ------------------------------------------------------------------
def examples(code: str | None, name: str = "examples.yaml") -> dict[str, list]:
    return read(*((code,) if code else ()), name).get("intents") or {}


def _texts(items: list) -> list[str]:
    return [str(i["text"] if isinstance(i, dict) else i) for i in items or ()]


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("intent", INTENTS)
def test_every_intent_has_examples_in_every_language(code, intent):
    assert len(examples(code).get(intent) or ()) >= 5, f"{code}/examples.yaml: intents.{intent}"


@pytest.mark.parametrize("code", [None, *CODES])
def test_examples_name_only_known_intents(code):
    assert set(examples(code)) <= set(INTENTS)
    if (CONTENT_DIR / (code or "") / "heldback.yaml").exists():
        assert set(examples(code, "heldback.yaml")) <= set(INTENTS)


def test_no_example_is_labelled_two_ways():
    owners: dict[tuple[str, ...], set[str]] = {}
    for code in (None, *CODES):
        for intent, items in examples(code).items():
            for text in _texts(items):
                owners.setdefault(normal_words(text), set()).add(intent)
    assert {t: who for t, who in owners.items() if len(who) > 1} == {}


def test_held_back_texts_are_never_trained_on(engine):
    trained = {normal_words(ex.text) for ex in engine.content.examples}
    held = [ex.text for ex in engine.content.heldback]
    assert len(held) >= 200
    assert [t for t in held if normal_words(t) in trained] == []
    # ...and the model the engine uses was fitted on exactly the training examples.
    from bot.model import key_of
    assert engine.matcher.model.key == key_of(
        [" ".join(engine.matcher.words(ex.text)) for ex in engine.content.examples],
        [ex.intents[0] for ex in engine.content.examples])


def test_no_example_is_a_bare_carrier_word():
    """Carrier words are for the exact rules only: an example of one would teach the
    model what it must never decide."""
    bare = [text for code in (None, *CODES) for items in examples(code).values()
            for text in _texts(items)
            if "".join(normal_words(text)) in CARRIER_WORDS]
    assert bare == []


@pytest.mark.parametrize("code", CODES)
def test_command_words_ask_only_for_command_intents(code):
    commands = read(code, "rules.yaml").get("commands") or {}
    assert commands and set(commands) <= COMMAND_INTENTS


def test_carrier_words_select_stop_and_start(engine):
    for word, intent in CARRIER_WORDS.items():
        for spelling in (word, word.upper(), word.capitalize() + "."):
            assert engine.respond(spelling).intent == intent, spelling


# -- replies -----------------------------------------------------------------------------
@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("intent", CONTENT_INTENTS)
def test_every_content_intent_has_a_reviewed_reply_with_sources(code, intent):
    raw = replies(code).get(intent)
    assert isinstance(raw, dict), f"{code}/replies.yaml: intents.{intent} is missing"
    assert str(raw.get("reply") or "").strip()
    assert "reviewed" in raw, "a date, or null until a person reviews it"
    assert raw["reviewed"] is None or isinstance(raw["reviewed"], dt.date)
    if raw["reviewed"] is None:
        assert not raw.get("reviewer"), "a reviewer signs with a date"
    sources = raw.get("sources") or []
    assert any(str(s).startswith("https://") for s in sources)
    assert all(str(s).startswith(("https://", "http://")) for s in sources)
    if intent in {**read("facts.yaml")["menu"], **read("facts.yaml")["more_topics"]}.values():
        assert str(raw.get("title") or "").strip(), "a menu entry needs a title"


@pytest.mark.parametrize("code", CODES)
def test_replies_name_only_content_intents(code):
    assert set(replies(code)) <= set(CONTENT_INTENTS)


@pytest.mark.parametrize("code", CODES)
def test_every_placeholder_names_a_fact_or_a_setting(code):
    names = set(facts()) | set(SETTINGS)
    for intent, raw in replies(code).items():
        fields = {f for _, f, _, _ in string.Formatter().parse(raw["reply"]) if f is not None}
        assert fields <= names, (intent, fields - names)


def test_every_fact_has_a_value_an_https_source_and_a_review_date():
    for name, raw in facts().items():
        assert str(raw["value"]).strip(), name
        assert str(raw["source"]).startswith("https://"), name
        assert isinstance(raw["reviewed"], dt.date), name


def test_loaded_replies_have_a_review_date_and_an_https_source(engine):
    for code, loc in engine.content.locales.items():
        assert set(loc.texts) == set(CONTENT_INTENTS), code
        for intent, text in loc.texts.items():
            assert text.reviewed is None or text.reviewed > dt.date(2000, 1, 1), (code, intent)
            assert any(s.startswith("https://") for s in text.sources), (code, intent)
            assert "{" not in text.reply and "}" not in text.reply, (code, intent)


def test_every_reply_fits_its_segment_budget(engine):
    too_long = [(name, code, sms.segments(text))
                for name, code, text in engine.all_replies()
                if sms.segments(text).count > sms.MAX_SEGMENTS]
    assert too_long == []


def test_all_replies_cover_every_reply_in_every_language(every):
    names = {(name, code) for name, code, _ in every.all_replies()}
    for code in CODES:
        for name in (*CONTENT_INTENTS, "menu", "unknown", "forget", "language", "language?",
                     "error"):
            assert (name, code) in names
    assert all(text.strip() for _, _, text in every.all_replies())


@pytest.mark.parametrize("code", CODES)
def test_menu_names_the_service_hotline_stop_and_rates(every, code):
    engine = every
    menu = engine.menu(code)
    assert engine.content.locales[code].service in menu
    assert fact("hotline") in menu
    assert "STOP" in menu
    for digit, intent in engine.content.menu.items():
        if intent != "menu":
            page = engine.more(code) if digit in engine.content.more else menu
            assert f"{digit} {engine.content.locales[code].texts[intent].title}" in page
    if code == "en":
        assert "Msg & data rates may apply" in menu


def test_no_reply_points_to_the_ice_tip_line(engine):
    texts = [text for _, _, text in engine.all_replies()]
    texts += [str(raw["value"]) for raw in facts().values()]
    for code in CODES:
        texts += [(CONTENT_DIR / code / "replies.yaml").read_text(encoding="utf-8")]
    for text in texts:
        for number in FORBIDDEN:
            assert number not in text


def test_urgent_replies_give_the_hotline(engine):
    for code, loc in engine.content.locales.items():
        for intent in ("door", "report", "detained", "hotline"):
            assert fact("hotline") in loc.texts[intent].reply, (code, intent)


# -- catalogs ----------------------------------------------------------------------------
def test_catalogs_are_complete_without_fuzzy_entries_and_the_template_is_current():
    assert catalog_problems(LOCALES_DIR, CODES, code_dir=ROOT / "bot") == []


def test_template_has_no_entries_the_code_no_longer_uses():
    from babel.messages.pofile import read_po

    with (LOCALES_DIR / "messages.pot").open("rb") as fp:
        template = {m.id for m in read_po(fp) if m.id}
    assert template == extracted_ids(ROOT / "bot")


def test_catalog_problems_are_found(tmp_path):
    """The check above can fail: a fuzzy and an untranslated entry are reported."""
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, copy, ignore=shutil.ignore_patterns("*.mo"))
    po = copy / "es" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    text = text.replace('msgstr "{language}: escriba {keyword}"', 'msgstr ""', 1)
    text = text.replace('#, python-brace-format\nmsgid "{service}',
                        '#, fuzzy, python-brace-format\nmsgid "{service}', 1)
    po.write_text(text, encoding="utf-8")
    problems = catalog_problems(copy, CODES, code_dir=ROOT / "bot")
    assert any("not translated" in p and "{language}: reply {keyword}" in p for p in problems)
    assert any("fuzzy" in p and "{service}" in p for p in problems)


def test_spanish_interface_text_is_translated(engine):
    assert engine.catalogs["es"].gettext("Text STOP to stop. Msg & data rates may apply.") \
        != "Text STOP to stop. Msg & data rates may apply."


# -- invalid content stops the app, naming the file and the key --------------------------
def test_an_unbroken_copy_loads(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    for code in CODES:  # the same YAML written back must still load
        for name in ("replies.yaml", "rules.yaml", "examples.yaml", "heldback.yaml"):
            path = content / code / name
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                            encoding="utf-8")
    assert set(load_content(content, SETTINGS).locales) == set(CODES)


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_invalid_content_is_refused_naming_file_and_key(tmp_path, breakage):
    content, path, key = broken_copy(tmp_path, breakage)
    with pytest.raises(ContentError) as caught:
        load_content(content, SETTINGS)
    assert str(path) in str(caught.value)
    assert any(str(path) in p and key in p for p in caught.value.problems), \
        caught.value.problems
    assert len(caught.value.problems) == 1, caught.value.problems


def test_problem_names_the_other_intent_of_an_example(tmp_path):
    content, path, _ = broken_copy(tmp_path, "example-of-two-intents")
    with pytest.raises(ContentError, match="is also an example of door"):
        load_content(content, SETTINGS)


def test_app_refuses_to_start_on_invalid_content(make_app, tmp_path):
    content, path, key = broken_copy(tmp_path, "unknown-placeholder")
    with pytest.raises(ContentError, match=key):
        make_app(CONTENT_DIR=str(content))


def test_missing_content_folder_is_named(tmp_path):
    with pytest.raises(ContentError, match="content folder not found"):
        load_content(tmp_path / "nowhere", SETTINGS)


@pytest.mark.parametrize("word", ["no", "yes", "on"])
def test_bare_yaml_boolean_example_is_refused(tmp_path, word):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "es" / "examples.yaml"
    assert "\n  lawyer:\n  - " in path.read_text(encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "\n  lawyer:\n", f"\n  lawyer:\n  - {word}\n", 1), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_content(content, SETTINGS)
    assert any(str(path) in p and "intents.lawyer" in p for p in caught.value.problems)


def test_create_app_uses_the_content_dir_setting(make_app, tmp_path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    app = make_app(CONTENT_DIR=str(content))
    assert app.extensions["helpline"].content.directory == content


def test_a_key_given_twice_is_refused_naming_the_file(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "es" / "rules.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nnegations: [x]\n",
                    encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(content, SETTINGS)
    assert str(path) in str(err.value) and "twice" in str(err.value)


def test_every_set_says_where_it_went_and_how_it_scored_first():
    """content/sets.yaml is the record of first-sight figures: each set names where its
    texts went, and a set with figures gives all four of them."""
    sets = read("sets.yaml")["sets"]
    assert len(sets) >= 10
    for entry in sets:
        assert entry["where"].split()[0] in {"examples.yaml", "heldback.yaml",
                                             "tests/data/dev.jsonl"} or "together" in \
            entry["name"], entry
        for figures in (entry.get("first_sight") or {}).values():
            assert set(figures) == {"intent", "urgent", "false_alarms", "locale"}, entry
            assert all(str(v).endswith("%") for v in figures.values()), entry
