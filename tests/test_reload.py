"""Content updates without downtime: `helpline reload` / SIGHUP checks the new content and
swaps it in only when valid; broken content is refused, and the bot keeps answering with
what it had. In-process through the app, then a real `helpline serve` given SIGHUP."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
import yaml

from bot import reload_content
from bot.cli import main
from conftest import (CONTENT_DIR, ORG, SECRET, TOKEN, Phone, free_port, sign, twilio_fields,
                      wait_for_port)

HELPLINE = str(Path(sys.executable).with_name("helpline"))


def edit_thanks(content: Path, reply: str | None) -> None:
    """Change the English thanks reply (None: delete it, which is invalid content)."""
    path = content / "en" / "replies.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if reply is None:
        del data["intents"]["thanks"]["reply"]
    else:
        data["intents"]["thanks"]["reply"] = reply
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, folder)
    return folder


def test_reload_swaps_valid_content_in(make_app, content):
    app = make_app(CONTENT_DIR=str(content))
    phone = Phone(app.test_client())
    old = phone.text("thank you").text
    edit_thanks(content, "You're welcome. Stay safe. Reply 0 for the menu.")
    assert phone.text("thank you").text == old  # nothing changes until reload
    assert reload_content(app) == []
    assert phone.text("thank you").text == "You're welcome. Stay safe. Reply 0 for the menu."


def test_reload_with_broken_content_keeps_the_old_content_and_answers(make_app, content):
    app = make_app(CONTENT_DIR=str(content))
    phone = Phone(app.test_client())
    old = phone.text("thank you").text
    edit_thanks(content, None)
    problems = reload_content(app)
    assert any("en/replies.yaml: intents.thanks" in p for p in problems), problems
    assert phone.text("thank you").text == old
    assert phone.text("4").status == 200
    assert app.test_client().get("/privacy").status_code == 200


def test_reload_refuses_a_catalog_that_would_break_replies(make_app, tmp_path):
    locales = tmp_path / "locales"
    shutil.copytree(CONTENT_DIR.parent / "locales", locales,
                    ignore=shutil.ignore_patterns("*.mo"))
    app = make_app(LOCALES_DIR=str(locales))
    phone = Phone(app.test_client())
    menu = phone.text("hola").text
    po = locales / "es" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text(encoding="utf-8").replace(
        'msgstr "{service}. Envíe un número:"', 'msgstr "{servicio}. Envíe un número:"'),
        encoding="utf-8")
    problems = reload_content(app)
    assert any("servicio" in p for p in problems), problems
    assert phone.text("hola").text == menu


def test_reload_command_refuses_broken_content_and_signals_nothing(runner, content,
                                                                   monkeypatch, tmp_path):
    monkeypatch.setenv("HELPLINE_CONTENT_DIR", str(content))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pid_file = tmp_path / "helpline.pid"
        pid_file.write_text(str(sleeper.pid))
        edit_thanks(content, None)
        result = runner.invoke(main, ["reload", "--pid-file", str(pid_file)])
        assert result.exit_code == 1
        assert "intents.thanks" in result.output and "keeps its current content" in result.output
        assert sleeper.poll() is None  # no SIGHUP was sent (it would have ended it)
        edit_thanks(content, "Take care.")
        result = runner.invoke(main, ["reload", "--pid-file", str(pid_file)])
        assert result.exit_code == 0, result.output
        assert sleeper.wait(timeout=10) == -signal.SIGHUP
    finally:
        sleeper.kill()
        sleeper.wait()


def test_reload_without_a_running_server_says_so(runner, tmp_path):
    result = runner.invoke(main, ["reload", "--pid-file", str(tmp_path / "none.pid")])
    assert result.exit_code == 1 and "is `helpline serve` running?" in result.output


# -- a real server -----------------------------------------------------------------------
def thanks(url: str) -> str | None:
    fields = twilio_fields("thank you", "+13125550100")
    response = requests.post(url + "/sms", data=fields, timeout=30,
                             headers={"X-Twilio-Signature": sign(url + "/sms", fields)})
    assert response.status_code == 200
    messages = [m.text for m in ET.fromstring(response.content).findall("Message")]
    return messages[0] if messages else None


def eventually(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_sighup_to_a_running_server(content, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    pid_file = tmp_path / "serve.pid"
    log_file = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TWILIO_"))}
    env.update(HELPLINE_SECRET_KEY=SECRET, TWILIO_AUTH_TOKEN=TOKEN, HELPLINE_PUBLIC_URL=url,
               HELPLINE_CONTENT_DIR=str(content), HELPLINE_DATABASE=str(tmp_path / "h.db"),
               HELPLINE_INSTANCE_PATH=str(tmp_path / "instance"),
               HELPLINE_ORG_NAME=ORG["ORG_NAME"], HELPLINE_SUPPORT_CONTACT=ORG["SUPPORT_CONTACT"],
               HELPLINE_RATE_PER_MINUTE="1000", HELPLINE_LOOP_REPEATS="1000")
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [HELPLINE, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--pid-file", str(pid_file)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
        old = thanks(url)
        edit_thanks(content, None)
        process.send_signal(signal.SIGHUP)
        assert eventually(lambda: b"content NOT reloaded" in log_file.read_bytes())
        assert b"intents.thanks" in log_file.read_bytes()
        assert thanks(url) == old and process.poll() is None

        edit_thanks(content, "Take care, and call the hotline if you need it.")
        assert subprocess.run([HELPLINE, "reload", "--pid-file", str(pid_file)],
                              env=env, capture_output=True).returncode == 0
        assert eventually(lambda: thanks(url) == "Take care, and call the hotline if you "
                                                 "need it.")
        assert process.poll() is None
    finally:
        process.terminate()
        process.wait(timeout=20)
