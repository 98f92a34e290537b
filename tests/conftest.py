"""Fixtures in the Flask tutorial's shape (`app`, `client`, `runner`) plus a `Phone` that
texts the real app the way Twilio does: signed form posts, TwiML read back with ElementTree.

Nothing of our own is mocked: real SQLite files in tmp_path, real content and catalogs,
twilio's own RequestValidator to sign.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from bot import DEFAULTS, content_settings, create_app
from bot.content import load as load_content
from bot.conversation import Helpline
from bot.store import pseudonym

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"
LOCALES_DIR = ROOT / "locales"
DATA_DIR = Path(__file__).resolve().parent / "data"

TOKEN = "test-token"
SECRET = "test-secret-of-thirty-two-bytes!"  # the shortest key production accepts
ORG = {"ORG_NAME": "Chicago Rapid Response Network", "SUPPORT_CONTACT": "help@crrn.example.org"}
SENDER = "+13125550100"
TWILIO_NUMBER = "+13125550199"
LOCAL_URL = "http://localhost/sms"
LIVE = DEFAULTS["LOCALES"].split(",")  # the locales served by default: en, es
SETTINGS = content_settings({**DEFAULTS, "ORG_NAME": "Chicago Rapid Response Network",
                             "SUPPORT_CONTACT": "help@crrn.example.org"})  # {retention_days}


def fact(name: str) -> str:
    """A fact's value read straight from content/facts.yaml (never hard-coded here)."""
    data = yaml.safe_load((CONTENT_DIR / "facts.yaml").read_text(encoding="utf-8"))
    return str(data["facts"][name]["value"])


def sign(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def twilio_fields(body: str | None, sender: str | None, sid: str | None = None
                  ) -> dict[str, str]:
    """The form fields Twilio posts for an incoming SMS (a realistic subset); each call
    a new MessageSid unless one is given (a retry)."""
    n = int(sid[2:], 16) if sid else uuid.uuid4().int
    fields = {
        "ToCountry": "US", "ToState": "IL", "SmsMessageSid": f"SM{n:032x}",
        "NumMedia": "0", "ToCity": "CHICAGO", "FromZip": "60601", "SmsSid": f"SM{n:032x}",
        "FromState": "IL", "SmsStatus": "received", "FromCity": "CHICAGO",
        "FromCountry": "US", "To": TWILIO_NUMBER, "MessagingServiceSid": "MG" + "0" * 32,
        "ToZip": "60602", "NumSegments": "1", "MessageSid": f"SM{n:032x}",
        "AccountSid": "AC" + "1" * 32, "ApiVersion": "2010-04-01",
    }
    if body is not None:
        fields["Body"] = body
    if sender is not None:
        fields["From"] = sender
    return fields


def twiml_messages(response: TestResponse) -> list[str]:
    """The texts of the <Message> elements of a TwiML <Response>, parsed as XML."""
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    assert all(child.tag == "Message" for child in root)
    return [message.text or "" for message in root.findall("Message")]


class Sent(NamedTuple):
    status: int
    text: str | None  # the one <Message>'s text; None for an empty <Response/> or an error


class Phone:
    """Texts the app like Twilio: form fields, an X-Twilio-Signature over the URL and
    fields, and the reply read back from the TwiML."""

    def __init__(self, client: FlaskClient, token: str | None = TOKEN, url: str = LOCAL_URL,
                 sender: str = SENDER):
        self.client, self.token, self.url, self.sender = client, token, url, sender
        self.sent = 0
        self.last: TestResponse | None = None

    def post(self, body: str | None = "hola", sender: str | None = None, *,
             fields: dict[str, str] | None = None, signed: bool = True,
             sign_url: str | None = None, sign_fields: dict[str, str] | None = None,
             signature: str | None = None, path: str = "/sms",
             headers: dict[str, str] | None = None, **kwargs: object) -> TestResponse:
        self.sent += 1
        if fields is None:
            fields = twilio_fields(body, sender or self.sender)
        headers = dict(headers or {})
        if signature is None and signed and self.token:
            signature = sign(sign_url or self.url, sign_fields or fields, self.token)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        self.last = self.client.post(path, data=fields, headers=headers, **kwargs)
        return self.last

    def text(self, body: str | None, sender: str | None = None, **kwargs: object) -> Sent:
        response = self.post(body, sender, **kwargs)
        if response.status_code != 200:
            return Sent(response.status_code, None)
        messages = twiml_messages(response)
        assert len(messages) <= 1, messages
        return Sent(200, messages[0] if messages else None)


# -- isolation ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No HELPLINE_* or TWILIO_* setting leaks in, and the instance folder is tmp_path's."""
    for name in list(os.environ):
        if name.startswith(("HELPLINE_", "TWILIO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HELPLINE_INSTANCE_PATH", str(tmp_path / "instance"))


# -- the app -----------------------------------------------------------------------------
@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "h.sqlite3"


# Tests of other behaviour text one number many times a minute: the limits are lifted
# for them, and tests/test_limits.py puts the real defaults back (LIMITS).
UNLIMITED = {"RATE_PER_MINUTE": 10**6, "RATE_PER_DAY": 10**6, "LOOP_REPEATS": 10**6}
LIMITS = {name: DEFAULTS[name] for name in UNLIMITED}


@pytest.fixture
def settings(db_path: Path) -> dict[str, object]:
    return {"TESTING": True, "SECRET_KEY": SECRET, "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_URL": "http://localhost", "DATABASE": str(db_path), **ORG, **UNLIMITED}


@pytest.fixture
def make_app(settings: dict[str, object]) -> Iterator[Callable[..., Flask]]:
    """create_app with the test settings, some replaced: make_app(DEFAULT_LOCALE="es")."""
    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        app = create_app({**settings, **overrides})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["helpline_store"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def phone(client: FlaskClient) -> Phone:
    return Phone(client)


# -- the engine and the store, read directly ---------------------------------------------
@pytest.fixture(scope="session")
def engine() -> Helpline:
    """The engine the webhook uses, built the way bot.cli._engine builds it."""
    return Helpline(load_content(CONTENT_DIR, SETTINGS, LIVE), LOCALES_DIR, "en", "auto")


@pytest.fixture(scope="session")
def every() -> Helpline:
    """Every locale folder live at once, the drafts too (pl, zh_Hans): what `helpline
    check` validates, and what an operator gets with all of them in HELPLINE_LOCALES."""
    from bot.content import locale_codes

    return Helpline(load_content(CONTENT_DIR, SETTINGS, locale_codes(CONTENT_DIR)),
                    LOCALES_DIR, "en", "auto")


@pytest.fixture(scope="session")
def hotline() -> str:
    return fact("hotline")


def stored(db_path: Path) -> dict[str, tuple[str | None, int, int]]:
    """pseudonym -> (locale, opted_out, last_day), read with a connection of our own."""
    db = sqlite3.connect(db_path)
    try:
        return {row[0]: row[1:] for row in db.execute(
            "SELECT pseudonym, locale, opted_out, last_day FROM senders")}
    finally:
        db.close()


def key_of(sender: str = SENDER) -> str:
    return pseudonym(SECRET.encode(), sender)


# -- broken copies of the content (for the loader and `helpline check`) -------------------
def _drop_es_door_reply(content: Path) -> tuple[Path, dict, str]:
    path = content / "es" / "replies.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["intents"]["door"]["reply"]
    return path, data, "intents.door"


def _example_of_two_intents(content: Path) -> tuple[Path, dict, str]:
    path = content / "es" / "examples.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intents"]["lawyer"].append(data["intents"]["door"][0])
    return path, data, "intents.lawyer"


def _reply_of_1000_chars(content: Path) -> tuple[Path, dict, str]:
    path = content / "en" / "replies.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intents"]["thanks"]["reply"] = "Thanks! " * 125
    return path, data, "intents.thanks.reply"


def _unknown_placeholder(content: Path) -> tuple[Path, dict, str]:
    path = content / "en" / "replies.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intents"]["rights"]["reply"] += " Call {nope}."
    return path, data, "intents.rights.reply"


def _unknown_menu_intent(content: Path) -> tuple[Path, dict, str]:
    path = content / "facts.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["menu"]["5"] = "signing"
    return path, data, "menu.5"


def _unquoted_yaml_boolean(content: Path) -> tuple[Path, dict, str]:
    path = content / "en" / "examples.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intents"]["thanks"].append(True)  # what YAML makes of a bare `yes` or `on`
    return path, data, "intents.thanks"


def _carrier_word_as_an_example(content: Path) -> tuple[Path, dict, str]:
    path = content / "en" / "examples.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intents"]["stop"].append("Unsubscribe")  # the exact rules' word, not the model's
    return path, data, "intents.stop"


def _held_back_text_trained_on(content: Path) -> tuple[Path, dict, str]:
    path = content / "es" / "heldback.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    trained = yaml.safe_load((content / "es" / "examples.yaml").read_text(encoding="utf-8"))
    data["intents"]["door"].append(trained["intents"]["door"][0])
    return path, data, "intents.door"


def _intent_without_examples(content: Path) -> tuple[Path, dict, str]:
    path = content / "es" / "examples.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["intents"]["record"]
    return path, data, "intents.record"


def _command_word_for_a_topic(content: Path) -> tuple[Path, dict, str]:
    path = content / "en" / "rules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["commands"]["door"] = ["door"]  # topics are learnt, never a whole-message rule
    return path, data, "commands.door"


def _threshold_out_of_range(content: Path) -> tuple[Path, dict, str]:
    path = content / "understanding.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["urgent"] = 1.5
    return path, data, "urgent"


BREAKAGES = {
    "spanish-reply-missing": _drop_es_door_reply,
    "example-of-two-intents": _example_of_two_intents,
    "reply-of-1000-chars": _reply_of_1000_chars,
    "unknown-placeholder": _unknown_placeholder,
    "unknown-menu-intent": _unknown_menu_intent,
    "unquoted-yaml-boolean": _unquoted_yaml_boolean,
    "carrier-word-as-an-example": _carrier_word_as_an_example,
    "held-back-text-trained-on": _held_back_text_trained_on,
    "intent-without-examples": _intent_without_examples,
    "command-word-for-a-topic": _command_word_for_a_topic,
    "threshold-out-of-range": _threshold_out_of_range,
}


def broken_copy(tmp_path: Path, breakage: str) -> tuple[Path, Path, str]:
    """A copy of content/ with one thing broken: (folder, broken file, key)."""
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path, data, key = BREAKAGES[breakage](content)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return content, path, key


# -- a real Redis ------------------------------------------------------------------------
# Read now: `_isolated_env` removes HELPLINE_* variables around each test.
REQUIRE_REDIS = os.environ.get("HELPLINE_REQUIRE_REDIS") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None,
                  timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class RedisServer(NamedTuple):
    url: str
    dump: Path  # where SAVE writes the snapshot (uncompressed, so grep can see into it)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Debian's redis-server on a free loopback port, nothing persisted unless asked
    (SAVE). Missing: the Redis tests skip, or fail under HELPLINE_REQUIRE_REDIS=1 (CI)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if REQUIRE_REDIS:
            pytest.fail("redis-server is not installed, and HELPLINE_REQUIRE_REDIS=1")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--rdbcompression", "no", "--dir", str(folder),
         "--dbfilename", "dump.rdb", "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield RedisServer(f"redis://127.0.0.1:{port}/0", folder / "dump.rdb")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The server's URL, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


def reply_now(engine: Helpline, code: str, intent: str) -> str:
    """A reviewed reply as the bot sends it now: replies that say "call" end with when a
    person answers the hotline (tests/test_hours.py pins the time)."""
    from bot.conversation import State, _reviewed, _Turn
    from bot.intents import Match

    turn = _Turn(Match(intent, code), code, State(code), engine.catalogs[code].gettext)
    return _reviewed(engine, turn).text or ""
