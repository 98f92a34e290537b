"""Review metadata: who reviewed each reply and when; `helpline check` warns about
replies no person has reviewed, stale reviews and unconfirmed hotline hours."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.content import ContentError, review_warnings
from bot.content import load as load_content
from conftest import CONTENT_DIR, SETTINGS

TODAY = dt.date(2026, 12, 2)


def _copy(tmp_path, code, intent, **fields):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / code / "replies.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intents"][intent].update(fields)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return content


def test_a_reply_nobody_has_reviewed_loads_and_is_listed(engine):
    assert engine.content.locales["en"].texts["checkin"].reviewed is None
    warnings = review_warnings(engine.content, TODAY)
    assert "en/replies.yaml: intents.checkin: never reviewed by a person " \
        "(reviewed: null)" in warnings


@pytest.mark.parametrize("code", ["en", "es"])
@pytest.mark.parametrize("intent", ["checkin", "phone", "plan", "court", "proof",
                                    "police", "privacy", "door"])
def test_new_and_corrected_replies_await_a_reviewer(engine, code, intent):
    text = engine.content.locales[code].texts[intent]
    assert (text.reviewed, text.reviewer) == (None, None)


def test_a_signed_review_records_date_and_role(tmp_path):
    content = _copy(tmp_path, "en", "sign", reviewed=dt.date(2026, 11, 30),
                    reviewer="immigration attorney, ICIRR partner")
    text = load_content(content, SETTINGS).locales["en"].texts["sign"]
    assert (text.reviewed, text.reviewer) == (dt.date(2026, 11, 30),
                                              "immigration attorney, ICIRR partner")
    assert not [w for w in review_warnings(load_content(content, SETTINGS), TODAY)
                if "en/replies.yaml: intents.sign:" in w]


def test_a_review_older_than_the_setting_is_warned_about(tmp_path):
    content = _copy(tmp_path, "en", "sign", reviewed=dt.date(2026, 1, 5),
                    reviewer="immigration attorney")
    loaded = load_content(content, SETTINGS)
    assert any("intents.sign: last reviewed 2026-01-05 (331 days ago, more than 180)" in w
               for w in review_warnings(loaded, TODAY))
    assert not any("en/replies.yaml: intents.sign:" in w
               for w in review_warnings(loaded, TODAY, 400))


def test_a_date_without_a_reviewer_is_warned_about(engine):
    assert "en/replies.yaml: intents.thanks: reviewed 2026-11-28, but by whom is not " \
        "recorded (reviewer: a role)" in review_warnings(engine.content, TODAY)


def test_a_reviewer_without_a_date_is_refused(tmp_path):
    content = _copy(tmp_path, "es", "sign", reviewed=None, reviewer="abogada")
    with pytest.raises(ContentError) as err:
        load_content(content, SETTINGS)
    assert any("es/replies.yaml: intents.sign.reviewer: a reviewer without a date" in p
               for p in err.value.problems)


def test_a_reply_that_does_not_say_whether_it_was_reviewed_is_refused(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "en" / "replies.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["intents"]["sign"]["reviewed"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(content, SETTINGS)
    assert any("intents.sign.reviewed: say when a person last reviewed it" in p
               for p in err.value.problems)


def test_unconfirmed_hotline_hours_are_warned_about(engine):
    assert engine.content.hours.confirmed is None
    assert any(w.startswith("facts.yaml: hotline_hours: not confirmed")
               for w in review_warnings(engine.content, TODAY))
    confirmed = dataclasses.replace(engine.content,
                                    hours=dataclasses.replace(engine.content.hours,
                                                              confirmed=TODAY))
    assert not any("hotline_hours" in w for w in review_warnings(confirmed, TODAY))


def test_check_prints_the_warnings_and_still_passes():
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "WARNING es/replies.yaml: intents.court: never reviewed by a person" in \
        result.output
    assert "do not go live with replies no person has reviewed" in result.output


def test_check_reads_the_review_age_setting(monkeypatch):
    monkeypatch.setenv("HELPLINE_REVIEW_MAX_DAYS", "1")
    result = CliRunner().invoke(main, ["check"])
    assert "intents.thanks: last reviewed 2026-11-28" in result.output
