"""More languages as data (issue 14): live locales chosen by HELPLINE_LOCALES, drafts off,
Polish and Chinese held to everything English and Spanish are held to."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot import sms
from bot.content import ContentError, locale_codes
from bot.content import load as load_content
from bot.conversation import Helpline, State
from bot.i18n import negotiate
from conftest import CONTENT_DIR, DATA_DIR, LOCALES_DIR, SETTINGS

ALL = locale_codes(CONTENT_DIR)
DRAFTS = [c for c in ALL if c not in ("en", "es")]
CHICAGO = dt.timezone(dt.timedelta(hours=-6))  # December: CST


def test_polish_and_chinese_are_drafted():
    assert {"pl", "zh_Hans"} <= set(ALL)


def test_only_the_live_locales_are_served(make_app):
    assert make_app().extensions["helpline"].codes == ("en", "es")
    bot = make_app(LOCALES="en,es,zh-Hans,pl").extensions["helpline"]
    assert bot.codes == ("en", "es", "zh_Hans", "pl")  # in the order given


def test_a_locale_with_no_folder_is_refused_by_name():
    with pytest.raises(ContentError) as err:
        load_content(CONTENT_DIR, SETTINGS, ["en", "fr"])
    assert any("'fr' has no folder" in p for p in err.value.problems)


def test_drafts_are_never_learnt_from_while_off():
    live = load_content(CONTENT_DIR, SETTINGS, ["en", "es"])
    assert {ex.locale for ex in live.examples} <= {None, "en", "es"}


def test_with_en_es_live_nothing_changes_for_english_and_spanish(tmp_path, engine):
    """The same replies and menus as a content folder with no drafts in it at all, and
    the same answers to the team's dev set."""
    bare = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, bare, ignore=lambda d, names: [
        n for n in names if Path(d) == CONTENT_DIR and n in DRAFTS])
    assert locale_codes(bare) == ["en", "es"]
    without = Helpline(load_content(bare, SETTINGS), LOCALES_DIR)
    assert without.all_replies() == engine.all_replies()
    texts = [line.split('"text": "')[1].split('"')[0]
             for line in (DATA_DIR / "dev.jsonl").read_text().splitlines()[:80]]
    assert [without.matcher.match(t) for t in texts] == [engine.matcher.match(t)
                                                         for t in texts]


def test_every_reply_of_every_locale_fits_with_four_live(every):
    over = [(name, code, sms.segments(every.formats["sms"](text, code)).count)
            for name, code, text in every.all_replies()
            if sms.segments(every.formats["sms"](text, code)).count > sms.MAX_SEGMENTS]
    assert over == []


@pytest.mark.parametrize("code", ["en", "es", "pl"])
def test_menus_keep_their_encoding_with_chinese_live(every, engine, code):
    menu = every.formats["sms"](every.menu(code), code)
    alone = engine.menu(code) if code in engine.codes else menu.replace("中文", "")
    # en and pl stay GSM-7; es was UCS-2 (its accents) and stays so, within 4 parts
    assert sms.segments(menu).encoding == sms.segments(alone).encoding, menu
    assert code == "es" or sms.is_gsm7(menu)
    assert "中文" not in menu
    others = every.catalogs[code].gettext("Other languages: text {keyword}").split("{")[0]
    assert every.formats["sms"](others, code) in menu  # Chinese is one text away
    assert sms.segments(menu).count <= sms.MAX_SEGMENTS


def test_the_chinese_menu_offers_the_others(every):
    menu = every.menu("zh_Hans")
    assert sms.segments(menu).count <= sms.MAX_SEGMENTS
    assert sms.segments(menu).encoding == "UCS-2"


def test_chinese_replies_are_ucs2_and_polish_replies_travel_without_diacritics(every):
    for name, code, text in every.all_replies():
        sent = every.formats["sms"](text, code)
        if code == "zh_Hans" and name == "door":
            assert sms.segments(sent).encoding == "UCS-2"
        if code == "pl":
            assert sms.is_gsm7(sent), (name, sent)


@pytest.mark.parametrize("text, code", [
    ("nie otwieraj drzwi, co mam robic", "pl"),
    ("Agenci ICE stoją pod moim domem, co robić?", "pl"),
    ("ICE在我家门口怎么办", "zh_Hans"),
    ("我有court date，但是没有lawyer", "zh_Hans"),
    ("my cousin was taken by ICE", "en"),
    ("se llevaron a mi hermano", "es"),
])
def test_the_language_is_told_apart(every, text, code):
    assert every.matcher.match(text).locale == code


@pytest.mark.parametrize("text, target", [
    ("polski", "pl"), ("po polsku", "pl"), ("Polish please", "pl"),
    ("po angielsku prosze", "en"), ("po hiszpańsku", "es"),
    ("中文", "zh_Hans"), ("说中文", "zh_Hans"), ("Chinese", "zh_Hans"),
])
def test_switch_words_and_names_work(every, text, target):
    reply = every.respond(text, State("en"))
    assert (reply.intent, reply.locale) == ("language", target), reply
    assert reply.state.locale == target


@pytest.mark.parametrize("wanted", ["zh", "zh-CN", "zh-Hans-CN", "zh-TW", "zh-Hant"])
def test_chinese_browsers_get_simplified(wanted):
    assert negotiate([wanted], ALL) == "zh_Hans"


def test_calls_offer_only_the_live_languages(make_app):
    from test_voice import Call, says

    two = says(Call(make_app().test_client()).twiml("/voice"))
    four = says(Call(make_app(LOCALES="en,es,pl,zh_Hans").test_client()).twiml("/voice"))
    assert len(two) == 2 and len(four) == 4
    languages = [lang for lang, _ in four]
    assert languages[:2] == [lang for lang, _ in two]
    assert languages[2].startswith("pl") and languages[3].startswith(("cmn", "zh"))
    assert "3" in four[2][1] and "4" in four[3][1]


def test_a_polish_texter_out_of_polish_hours_is_told_when(every):
    evening = dt.datetime(2026, 12, 2, 18, 0, tzinfo=CHICAGO)  # a Wednesday, 6 p.m.
    reply = every.respond("ICE puka do drzwi, co robic?", State("pl"), now=evening)
    assert reply.locale == "pl" and reply.intent == "door"
    assert "9:00" in reply.text  # a Polish speaker answers from 9 tomorrow


def test_the_web_page_speaks_chinese_with_a_bcp47_lang(make_app):
    client = make_app(LOCALES="en,es,pl,zh_Hans").test_client()
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    html = page.get_data(as_text=True)
    assert '<html lang="zh-Hans"' in html


def test_drafted_replies_are_listed_by_check(runner):
    from bot.cli import main

    result = runner.invoke(main, ["check"])
    for code in DRAFTS:
        assert f"{code}/replies.yaml: intents.door: never reviewed" in result.output
        assert f"{code}: " in result.output and "draft, not served" in result.output
