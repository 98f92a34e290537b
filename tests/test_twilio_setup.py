"""`helpline twilio configure | check` and the deletion `helpline serve` runs with
HELPLINE_REDACT_MINUTES, against a local HTTP server standing in for Twilio's REST API
(HELPLINE_TWILIO_API_URL), driven by the real twilio client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.cli import main
from bot.redact import Schedule, env_from
from conftest import TOKEN, TWILIO_NUMBER
from test_ops import ACCOUNT, FakeTwilio, StandIn, handler_for, stock

PUBLIC = "https://bot.example.org"
PN = "PN" + "a" * 32


class FakeNumbers:
    """IncomingPhoneNumbers: list filtered by PhoneNumber, update by POST, Basic auth."""

    def __init__(self) -> None:
        self.numbers = {PN: {
            "sid": PN, "account_sid": ACCOUNT, "phone_number": TWILIO_NUMBER,
            "friendly_name": "helpline", "sms_url": "https://demo.twilio.com/welcome/sms/reply",
            "sms_method": "GET", "voice_url": "", "voice_method": "POST",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers/{PN}.json"}}
        self.posts: list[dict[str, str]] = []


def numbers_handler(fake: FakeNumbers) -> type[BaseHTTPRequestHandler]:
    prefix = f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers"

    class Handler(StandIn):

        def do_GET(self) -> None:
            if not self.authorised():
                return
            url = urlsplit(self.path)
            if url.path != prefix + ".json":
                return self.reply(404, {"code": 20404, "status": 404})
            wanted = parse_qs(url.query).get("PhoneNumber", [None])[0]
            rows = [n for n in fake.numbers.values()
                    if wanted in (None, n["phone_number"])]
            self.reply(200, {"incoming_phone_numbers": rows, "page": 0, "page_size": 50,
                             "next_page_uri": None, "uri": self.path})

        def do_POST(self) -> None:
            if not self.authorised():
                return
            sid = self.path.rsplit("/", 1)[-1].removesuffix(".json")
            if sid not in fake.numbers:
                return self.reply(404, {"code": 20404, "status": 404})
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(
                int(self.headers["Content-Length"])).decode()).items()}
            fake.posts.append(form)
            names = {"SmsUrl": "sms_url", "SmsMethod": "sms_method",
                     "VoiceUrl": "voice_url", "VoiceMethod": "voice_method"}
            for key, value in form.items():
                fake.numbers[sid][names[key]] = value
            self.reply(200, fake.numbers[sid])

    return Handler


@pytest.fixture
def numbers_api(monkeypatch) -> Iterator[FakeNumbers]:
    fake = FakeNumbers()
    server = ThreadingHTTPServer(("127.0.0.1", 0), numbers_handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("HELPLINE_TWILIO_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("HELPLINE_TWILIO_NUMBERS", f"{TWILIO_NUMBER},whatsapp:{TWILIO_NUMBER}")
    monkeypatch.setenv("HELPLINE_PUBLIC_URL", PUBLIC)
    yield fake
    server.shutdown()
    server.server_close()


def test_configure_sets_both_webhooks_and_says_what_it_set(runner, numbers_api):
    result = runner.invoke(main, ["twilio", "configure"])
    assert result.exit_code == 0, result.output
    number = numbers_api.numbers[PN]
    assert (number["sms_url"], number["sms_method"]) == (f"{PUBLIC}/sms", "POST")
    assert (number["voice_url"], number["voice_method"]) == (f"{PUBLIC}/voice", "POST")
    assert (f"A message comes in: set HTTP POST {PUBLIC}/sms (was HTTP GET "
            "https://demo.twilio.com/welcome/sms/reply)") in result.output
    assert f"A call comes in: set HTTP POST {PUBLIC}/voice (was (not set))" in result.output
    assert len(numbers_api.posts) == 1  # one update per number; WhatsApp is not a number

    again = runner.invoke(main, ["twilio", "configure"])
    assert "already HTTP POST" in again.output and len(numbers_api.posts) == 1


def test_configure_dry_run_changes_nothing(runner, numbers_api):
    result = runner.invoke(main, ["twilio", "configure", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"would set HTTP POST {PUBLIC}/sms" in result.output
    assert numbers_api.posts == [] and numbers_api.numbers[PN]["sms_method"] == "GET"


def test_check_says_what_differs_then_ok_after_configure(runner, numbers_api):
    result = runner.invoke(main, ["twilio", "check"])
    assert result.exit_code == 1
    assert (f"A message comes in: DIFFERS: Twilio has HTTP GET "
            f"https://demo.twilio.com/welcome/sms/reply, the bot expects HTTP POST "
            f"{PUBLIC}/sms") in result.output
    assert "2 webhook(s) differ" in result.output
    runner.invoke(main, ["twilio", "configure"])
    result = runner.invoke(main, ["twilio", "check"])
    assert result.exit_code == 0 and "webhooks OK" in result.output
    assert numbers_api.posts == [{"SmsUrl": f"{PUBLIC}/sms", "SmsMethod": "POST",
                                  "VoiceUrl": f"{PUBLIC}/voice", "VoiceMethod": "POST"}]


@pytest.mark.parametrize("name, value, expected", [
    ("HELPLINE_PUBLIC_URL", "http://bot.example.org/sms", "HELPLINE_PUBLIC_URL"),
    ("HELPLINE_TWILIO_NUMBERS", "+13125550000", "is not a number of account"),
    ("TWILIO_AUTH_TOKEN", "wrong", "HTTP 401"),
    ("HELPLINE_TWILIO_NUMBERS", "", "HELPLINE_TWILIO_NUMBERS is not set"),
])
def test_configure_says_what_is_wrong(runner, numbers_api, monkeypatch, name, value,
                                      expected):
    monkeypatch.setenv(name, value)
    result = runner.invoke(main, ["twilio", "configure"])
    assert result.exit_code == 1
    assert expected in result.output
    assert numbers_api.posts == []


# -- HELPLINE_REDACT_MINUTES: the deletion helpline serve runs ---------------------------
@pytest.fixture
def messages_api() -> Iterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def redact_config(url: str, token: str = TOKEN) -> dict[str, object]:
    return {"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": token,
            "TWILIO_NUMBERS": f"{TWILIO_NUMBER},whatsapp:{TWILIO_NUMBER}",
            "TWILIO_API_URL": url, "REDACT_MINUTES": 10, "REDACT_EVERY_SECONDS": 0.05}


def test_schedule_deletes_the_helplines_old_messages_every_pass(messages_api):
    fake, url = messages_api
    stock(fake)
    schedule = Schedule.from_config(redact_config(url))
    thread = schedule.start()
    try:
        for _ in range(200):
            if schedule.passes >= 2:
                break
            threading.Event().wait(0.02)
    finally:
        schedule.stopped.set()
        thread.join(timeout=5)
    assert schedule.passes >= 2
    assert sorted(fake.deleted) == ["SM01", "SM02", "SM03", "SM04"]
    assert sorted(fake.messages) == ["SM05", "SM06", "SM07"]


def test_a_failed_pass_is_logged_and_the_next_one_runs(messages_api, caplog):
    fake, url = messages_api
    stock(fake)
    schedule = Schedule.from_config(redact_config(url, token="wrong"))
    assert schedule.run_once() is None
    assert "HTTP 401" in caplog.text and "+1312" not in caplog.text
    schedule.env = env_from(redact_config(url))
    assert schedule.run_once().deleted == 4
