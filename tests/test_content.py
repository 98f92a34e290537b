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
from bot.content import (CARRIER_WORDS, CATALOG_INTENTS, CONTENT_INTENTS, INTENTS,
                         ContentError, _pattern, locale_codes)
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


def keywords(code: str) -> dict[str, list[str]]:
    return read(code, "keywords.yaml").get("intents") or {}


def replies(code: str) -> dict[str, dict]:
    return read(code, "replies.yaml").get("intents") or {}


def facts() -> dict[str, dict]:
    return read("facts.yaml")["facts"]


def classes(code: str) -> dict[str, set[str]]:
    raw = read(code, "keywords.yaml").get("classes") or {}
    return {name: {_pattern(str(m)) for m in members or ()} for name, members in raw.items()}


def test_both_languages_are_there():
    assert CODES == ["en", "es"]


def test_intent_lists_agree():
    assert set(CONTENT_INTENTS) | CATALOG_INTENTS == set(INTENTS)
    assert not set(CONTENT_INTENTS) & CATALOG_INTENTS
    priority = read("facts.yaml")["priority"]
    assert set(priority) == set(INTENTS) - {"unknown"}
    assert len(priority) == len(set(priority))


# -- keywords ----------------------------------------------------------------------------
@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("intent", [i for i in INTENTS if i != "unknown"])
def test_every_intent_has_keywords_in_every_language(code, intent):
    assert keywords(code).get(intent), f"{code}/keywords.yaml: intents.{intent}"


@pytest.mark.parametrize("code", CODES)
def test_keywords_name_only_known_intents(code):
    assert set(keywords(code)) <= set(INTENTS)


@pytest.mark.parametrize("code", CODES)
def test_no_keyword_belongs_to_two_intents(code):
    owners: dict[str, set[str]] = {}
    for intent, entries in keywords(code).items():
        for entry in entries or ():
            owners.setdefault(_pattern(str(entry)), set()).add(intent)
    shared = {pattern: sorted(who) for pattern, who in owners.items() if len(who) > 1}
    assert shared == {}


@pytest.mark.parametrize("code", CODES)
def test_carrier_words_appear_only_under_stop_and_start(code):
    """Also through a stem (`end*`) or a word class (`<x>` whose members hold `quit`)."""
    members = classes(code)
    wrong = []
    for intent, entries in keywords(code).items():
        for entry in entries or ():
            for token in _pattern(str(entry)).replace("+", " ").split():
                tests = members.get(token[1:], set()) if token.startswith("@") else {token}
                for test in tests:
                    hit = {w for w in CARRIER_WORDS
                           if (w.startswith(test[:-1]) if test.endswith("*") else w == test)}
                    wrong += [(intent, entry, w) for w in hit if CARRIER_WORDS[w] != intent]
    assert wrong == []


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
    assert isinstance(raw.get("reviewed"), dt.date)
    sources = raw.get("sources") or []
    assert any(str(s).startswith("https://") for s in sources)
    assert all(str(s).startswith(("https://", "http://")) for s in sources)
    if intent in read("facts.yaml")["menu"].values():
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
            assert text.reviewed > dt.date(2000, 1, 1), (code, intent)
            assert any(s.startswith("https://") for s in text.sources), (code, intent)
            assert "{" not in text.reply and "}" not in text.reply, (code, intent)


def test_every_reply_fits_its_segment_budget(engine):
    too_long = [(name, code, sms.segments(text))
                for name, code, text in engine.all_replies()
                if sms.segments(text).count > sms.MAX_SEGMENTS]
    assert too_long == []


def test_all_replies_cover_every_reply_in_every_language(engine):
    names = {(name, code) for name, code, _ in engine.all_replies()}
    for code in CODES:
        for name in (*CONTENT_INTENTS, "menu", "unknown", "forget", "language", "language?",
                     "error"):
            assert (name, code) in names
    assert all(text.strip() for _, _, text in engine.all_replies())


@pytest.mark.parametrize("code", CODES)
def test_menu_names_the_service_hotline_stop_and_rates(engine, code):
    menu = engine.menu(code)
    assert engine.content.locales[code].service in menu
    assert fact("hotline") in menu
    assert "STOP" in menu
    for digit, intent in engine.content.menu.items():
        if intent != "menu":
            assert f"{digit} {engine.content.locales[code].texts[intent].title}" in menu
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
        for name in ("replies.yaml", "keywords.yaml"):
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


def test_problem_names_the_other_owner_of_a_keyword(tmp_path):
    content, path, _ = broken_copy(tmp_path, "keyword-in-two-intents")
    with pytest.raises(ContentError, match="also belongs to door"):
        load_content(content, SETTINGS)


def test_app_refuses_to_start_on_invalid_content(make_app, tmp_path):
    content, path, key = broken_copy(tmp_path, "unknown-placeholder")
    with pytest.raises(ContentError, match=key):
        make_app(CONTENT_DIR=str(content))


def test_missing_content_folder_is_named(tmp_path):
    with pytest.raises(ContentError, match="content folder not found"):
        load_content(tmp_path / "nowhere", SETTINGS)


@pytest.mark.parametrize("word", ["no", "yes", "on"])
def test_bare_yaml_boolean_keyword_is_refused(tmp_path, word):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "es" / "keywords.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "\n  lawyer:\n", f"\n  lawyer:\n    - {word}\n", 1), encoding="utf-8")
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
    path = content / "es" / "keywords.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nweak:\n  rights: [x]\n",
                    encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(content, SETTINGS)
    assert str(path) in str(err.value) and "twice" in str(err.value)
