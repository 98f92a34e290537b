"""What operators run: `helpline purge`, `helpline stats` and /stats, and `helpline redact`
against a local HTTP server standing in for Twilio's REST API (the one edge we cannot
reach), driven by the real twilio client."""

from __future__ import annotations

import base64
import datetime
import email.utils
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from bot.cli import main
from bot.conversation import State
from bot.store import DAY, SqliteStore
from conftest import SECRET, TOKEN, TWILIO_NUMBER, Phone

ACCOUNT = "AC" + "1" * 32


@pytest.fixture
def operator_env(monkeypatch, db_path) -> Path:
    """The settings `helpline serve` would run with."""
    monkeypatch.setenv("HELPLINE_SECRET_KEY", SECRET)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("HELPLINE_DATABASE", str(db_path))
    return db_path


# -- purge -------------------------------------------------------------------------------
def test_purge_deletes_expired_records_now(runner, operator_env):
    store = SqliteStore(operator_env)
    store.put("old", State("es"), now=time.time() - 31 * DAY)
    store.put("new", State("en"))
    store.close()
    result = runner.invoke(main, ["purge"])
    assert result.exit_code == 0, result.output
    assert "purged 1 expired" in result.output
    store = SqliteStore(operator_env)
    assert store.get("new") == State("en")
    assert store._db().execute("SELECT count(*) FROM senders").fetchone()[0] == 1
    store.close()


def test_purge_and_stats_need_no_twilio_settings(runner, monkeypatch, db_path):
    monkeypatch.setenv("HELPLINE_DATABASE", str(db_path))
    for command in (["purge"], ["stats"]):
        result = runner.invoke(main, command)
        assert result.exit_code == 0, result.output


def test_purge_with_a_wrong_store_url_says_what_to_set(runner, monkeypatch):
    monkeypatch.setenv("HELPLINE_STORE_URL", "redis:/localhost")
    result = runner.invoke(main, ["purge"])
    assert result.exit_code == 1
    assert "redis://127.0.0.1:6379/0" in result.output


# -- stats -------------------------------------------------------------------------------
def fill_counts(store) -> None:
    for _ in range(7):
        store.bump("door", "es")
    for _ in range(2):
        store.bump("menu", "en")


def test_stats_shows_small_counts_as_under_five(runner, operator_env):
    store = SqliteStore(operator_env)
    fill_counts(store)
    store.close()
    result = runner.invoke(main, ["stats"])
    assert result.exit_code == 0, result.output
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    lines = result.output.splitlines()
    assert lines[0].split() == ["day", "intent", "locale", "count"]
    assert lines[1].split() == [today, "door", "es", "7"]
    assert lines[2].split() == [today, "menu", "en", "<5"]
    as_json = json.loads(runner.invoke(main, ["stats", "--json"]).output)
    assert as_json["rows"] == [
        {"day": today, "intent": "door", "locale": "es", "count": 7},
        {"day": today, "intent": "menu", "locale": "en", "count": "<5"}]


def test_stats_count_what_the_webhook_answered(make_app):
    app = make_app(STATS_TOKEN="stats-token")
    phone = Phone(app.test_client())
    for body in ["4", "4", "4", "4", "4", "hola"]:
        phone.text(body)
    rows = app.test_client().get(
        "/stats", headers={"Authorization": "Bearer stats-token"}).get_json()["rows"]
    # "4" gets the default language, which is not remembered: "hola" is then Spanish.
    assert {(r["intent"], r["locale"], r["count"]) for r in rows} == {
        ("door", "en", 5), ("menu", "es", "<5")}
    assert all(set(r) == {"day", "intent", "locale", "count"} for r in rows)


def test_stats_route_needs_the_bearer_token(make_app):
    client = make_app(STATS_TOKEN="stats-token").test_client()
    assert client.get("/stats").status_code == 401
    assert client.get("/stats").headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/stats", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/stats", headers={"Authorization": "stats-token"}).status_code == 401
    assert client.get("/stats", headers={"Authorization": "Bearer stats-token"}
                      ).status_code == 200


def test_without_a_stats_token_there_is_no_stats_route(client):
    assert client.get("/stats", headers={"Authorization": "Bearer "}).status_code == 404


# -- redact, against a stand-in for Twilio's REST API -------------------------------------
class FakeTwilio:
    """A small, stateful stand-in for api.twilio.com's Messages resource: Basic auth,
    To/From/DateSent< filters, paging two at a time, and DELETE only once complete."""

    def __init__(self) -> None:
        self.messages: dict[str, dict[str, object]] = {}
        self.deleted: list[str] = []
        self.requests: list[tuple[str, str]] = []

    def add(self, sid: str, to: str, from_: str, status: str, minutes_ago: float) -> None:
        sent = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
            minutes=minutes_ago)
        self.messages[sid] = {
            "sid": sid, "account_sid": ACCOUNT, "to": to, "from": from_, "status": status,
            "body": "words that must not stay", "direction": "inbound",
            "date_sent": email.utils.format_datetime(sent),
            "date_created": email.utils.format_datetime(sent),
            "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json"}


class StandIn(BaseHTTPRequestHandler):
    """What every stand-in for Twilio's REST API does: JSON answers, Basic auth with the
    account and the token (401 with Twilio's error code otherwise), no access log."""

    expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, status: int, payload: dict | None = None) -> None:
        body = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorised(self) -> bool:
        if self.headers.get("Authorization") == self.expected:
            return True
        self.reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        return False


def handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    prefix = f"/2010-04-01/Accounts/{ACCOUNT}/Messages"

    class Handler(StandIn):

        def do_GET(self) -> None:
            fake.requests.append(("GET", self.path))
            if not self.authorised():
                return
            url = urlsplit(self.path)
            if url.path != prefix + ".json":
                return self.reply(404, {"code": 20404, "status": 404})
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            day = query.get("DateSent<", "9999-12-31")[:10]
            rows = [m for m in fake.messages.values()
                    if query.get("To", m["to"]) == m["to"]
                    and query.get("From", m["from"]) == m["from"]
                    and email.utils.parsedate_to_datetime(m["date_sent"]).date().isoformat()
                    <= day]
            page = int(query.get("Page", 0))
            chunk = rows[page * 2:page * 2 + 2]
            more = len(rows) > page * 2 + 2
            next_query = urlencode({**query, "Page": page + 1})
            self.reply(200, {"messages": chunk, "page": page, "page_size": 2,
                             "next_page_uri": f"{url.path}?{next_query}" if more else None,
                             "uri": self.path})

        def do_DELETE(self) -> None:
            fake.requests.append(("DELETE", self.path))
            if not self.authorised():
                return
            sid = self.path.rsplit("/", 1)[-1].removesuffix(".json")
            message = fake.messages.get(sid)
            if message is None:
                return self.reply(404, {"code": 20404, "status": 404})
            if message["status"] in ("queued", "sending", "accepted"):
                return self.reply(400, {"code": 20009, "status": 400,
                                        "message": "Cannot delete a message in progress"})
            del fake.messages[sid]
            fake.deleted.append(sid)
            self.reply(204)

    return Handler


@pytest.fixture
def twilio_api() -> Iterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def redact_env(monkeypatch, twilio_api):
    fake, url = twilio_api
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("HELPLINE_TWILIO_API_URL", url)
    monkeypatch.setenv("HELPLINE_TWILIO_NUMBERS", f"{TWILIO_NUMBER}, whatsapp:{TWILIO_NUMBER}")
    return fake


def stock(fake: FakeTwilio) -> None:
    texter, other = "+13125550100", "+13125550000"
    fake.add("SM01", TWILIO_NUMBER, texter, "received", 30)  # in, complete, old
    fake.add("SM02", texter, TWILIO_NUMBER, "delivered", 30)  # our reply
    fake.add("SM03", texter, TWILIO_NUMBER, "undelivered", 20)
    fake.add("SM04", "whatsapp:" + texter, "whatsapp:" + TWILIO_NUMBER, "read", 15)
    fake.add("SM05", texter, TWILIO_NUMBER, "queued", 30)  # not complete yet
    fake.add("SM06", TWILIO_NUMBER, texter, "received", 2)  # too new
    fake.add("SM07", other, "+13125559999", "delivered", 60)  # another service's


def test_redact_deletes_complete_messages_of_the_helpline_only(runner, redact_env):
    stock(redact_env)
    result = runner.invoke(main, ["redact", "--older-than", "10"])
    assert result.exit_code == 0, result.output
    assert sorted(redact_env.deleted) == ["SM01", "SM02", "SM03", "SM04"]
    assert sorted(redact_env.messages) == ["SM05", "SM06", "SM07"]
    assert "deleted 4 message(s); left 1 not yet complete and 1 newer than 10 min" \
        in result.output
    assert any("Page=1" in path for _, path in redact_env.requests)  # it followed pages


def test_redact_dry_run_deletes_nothing(runner, redact_env):
    stock(redact_env)
    result = runner.invoke(main, ["redact", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would delete 4 message(s)" in result.output
    assert redact_env.deleted == [] and len(redact_env.messages) == 7
    assert not any(method == "DELETE" for method, _ in redact_env.requests)


def test_redact_with_a_wrong_token_says_so(runner, redact_env, monkeypatch):
    stock(redact_env)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong")
    result = runner.invoke(main, ["redact"])
    assert result.exit_code == 1
    assert "HTTP 401" in result.output and "TWILIO_AUTH_TOKEN" in result.output
    assert len(redact_env.messages) == 7


def test_redact_needs_the_helplines_numbers(runner, redact_env, monkeypatch):
    monkeypatch.delenv("HELPLINE_TWILIO_NUMBERS")
    result = runner.invoke(main, ["redact"])
    assert result.exit_code == 1 and "HELPLINE_TWILIO_NUMBERS is not set" in result.output
