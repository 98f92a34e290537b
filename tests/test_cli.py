"""The `helpline` command, through click's CliRunner (and one real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot import sms
from bot.cli import main
from bot.content import load as load_content, locale_codes
from bot.conversation import Helpline
from conftest import (CONTENT_DIR, LOCALES_DIR, ORG, ROOT, SETTINGS, broken_copy, free_port,
                      wait_for_port)


@pytest.fixture(autouse=True)
def _org(monkeypatch):
    """The organisation the `engine` fixture names (the HELP reply quotes it)."""
    for name, value in ORG.items():
        monkeypatch.setenv(f"HELPLINE_{name}", value)


def test_classify_writes_one_json_line_per_message(runner):
    result = runner.invoke(main, ["classify"], input="hola\nmy dad was picked up by ICE\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [{"intent": "menu", "locale": "es"},
                     {"intent": "detained", "locale": "en"}]


def _classify_process(text: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TWILIO_"))}
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "classify", *args],
        input=text.encode("utf-8"), capture_output=True, cwd=ROOT, env=env, timeout=60)


def test_classify_in_a_real_process():
    done = _classify_process("hola\nmy dad was picked up by ICE\n\xff\n")
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert lines[:2] == [{"intent": "menu", "locale": "es"},
                         {"intent": "detained", "locale": "en"}]
    assert len(lines) == 3


def test_classify_explain_shows_each_step():
    done = _classify_process("LAWYER!!\nSTOP\n", "--explain")
    assert done.returncode == 0, done.stderr.decode()
    lawyer, stop = [json.loads(x) for x in done.stdout.decode("utf-8").splitlines()]
    assert lawyer["intent"] == "lawyer" and lawyer["text"] == "LAWYER!!"
    assert lawyer["words"] == ["lawyer"] and lawyer["rule"] is None
    assert max(lawyer["top"], key=lawyer["top"].get) == "lawyer"
    assert 0.3 < lawyer["top"]["lawyer"] <= 1 and lawyer["decision"]
    assert lawyer["language"]["locale"] == "en"
    assert (stop["intent"], stop["rule"]) == ("stop", "carrier word")


def test_model_reports_cross_validated_and_held_back_figures(runner):
    result = runner.invoke(main, ["model", "--folds", "2", "--tune"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "cross-validated, 2 folds:" in out and "held back (never trained on):" in out
    assert "urgent recall" in out and "urgent false alarms" in out
    assert "most confused" in out and "recall per intent:" in out
    assert "chosen on" in out and "urgent:" in out


def _rows(output: str) -> list[list[str]]:
    lines = output.splitlines()
    assert lines[0].split() == ["reply", "locale", "chars", "encoding", "segments"]
    return [line.split() for line in lines[1:] if len(line.split()) == 5]


def test_check_prints_every_reply_and_exits_0(runner):
    """Every locale folder, drafts too, each reply as an SMS carries it."""
    every = Helpline(load_content(CONTENT_DIR, SETTINGS, locale_codes(CONTENT_DIR)),
                     LOCALES_DIR)
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    replies = every.all_replies()
    assert {(row[0], row[1]) for row in rows} == {(name, code) for name, code, _ in replies}
    assert len(rows) == len(replies)
    texts = {(name, code): every.formats["sms"](text, code) for name, code, text in replies}
    for name, code, chars, encoding, segments in rows:
        seg = sms.segments(texts[name, code])
        assert encoding in ("GSM-7", "UCS-2")
        assert (int(chars), encoding, int(segments)) == (
            len(texts[name, code]), seg.encoding, seg.count)
        assert 1 <= seg.count <= sms.MAX_SEGMENTS
    assert "ERROR" not in result.output
    assert result.stdout.rstrip().endswith("content and catalogs OK")
    for code in every.codes:
        mine = len([r for r in rows if r[1] == code])
        served = "(live)" if code in ("en", "es") else "(draft, not served"
        assert f"{code}: {mine} replies, median " in result.stdout
        assert any(line.startswith(f"{code}: ") and served in line
                   for line in result.stdout.splitlines())


@pytest.mark.parametrize("breakage", ["spanish-reply-missing", "example-of-two-intents"])
def test_check_on_broken_content_names_file_and_key(runner, tmp_path, breakage):
    content, path, key = broken_copy(tmp_path, breakage)
    result = runner.invoke(main, ["check"], env={"HELPLINE_CONTENT_DIR": str(content)})
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert any(str(path) in line and key in line for line in errors), result.stderr


def test_chat_answers_in_spanish(runner, engine):
    result = runner.invoke(main, ["chat"], input="hola\n4\n")
    assert result.exit_code == 0, result.output
    assert "[menu, es]" in result.stdout
    assert engine.menu("es") in result.stdout
    assert "[door, es]" in result.stdout
    assert engine.content.locales["es"].texts["door"].reply in result.stdout


def test_chat_starts_in_the_chosen_language(runner, engine):
    result = runner.invoke(main, ["chat", "--lang", "es-MX"], input="4\n")
    assert result.exit_code == 0, result.output
    assert engine.content.locales["es"].texts["door"].reply in result.stdout


def test_chat_after_stop_says_nothing_is_sent(runner):
    result = runner.invoke(main, ["chat"], input="STOP\nhola\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("(no reply: opted out until START)") == 2


def test_serve_dev_refuses_a_public_address(runner):
    result = runner.invoke(main, ["serve", "--dev", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "loopback" in result.output


def test_serve_dev_prints_the_web_chat_address_and_serves_it(tmp_path):
    """What `make run` shows a newcomer: the page's address, and the page answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TWILIO_"))}
    env["HELPLINE_INSTANCE_PATH"] = str(tmp_path / "instance")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("helpline")), "serve", "--dev", "--port",
         str(port), "--workers", "1"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    try:
        wait_for_port(port, server)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    finally:
        server.terminate()
        out = server.communicate(timeout=20)[0]
    assert f"open http://127.0.0.1:{port}/ in a browser" in out


def test_check_counts_segments_as_sent_in_gsm7_mode(runner, monkeypatch, engine):
    monkeypatch.setenv("HELPLINE_SMS_ENCODING", "gsm7")
    rows = _rows(runner.invoke(main, ["check"]).stdout)
    every = Helpline(load_content(CONTENT_DIR, SETTINGS, locale_codes(CONTENT_DIR)),
                     LOCALES_DIR, "en", "gsm7")  # as check measures: every folder
    texts = {(name, code): text for name, code, text in every.all_replies()}
    rows = [r for r in rows if r[1] != "zh_Hans"]  # Chinese is never folded (ucs2)
    assert {row[3] for row in rows} == {"GSM-7"}  # nothing left that needs UCS-2
    for name, code, chars, _, segments in rows:
        assert int(segments) == sms.segments(sms.to_gsm7(texts[name, code])).count
    es = sorted(int(r[4]) for r in rows if r[1] == "es")
    default = sorted(sms.segments(t).count for (_, c), t in texts.items() if c == "es")
    assert sum(es) < sum(default)  # cheaper: the point of the setting
