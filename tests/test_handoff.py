"""A person when it matters (issue 13), end to end on real parts: the app, real SQLite and
a real redis-server, twilio's REST client, and one local HTTP server standing in for
Twilio's Messages API and for the team's alert webhook (the edge we cannot reach)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from bot import settings as checks
from bot.cases import Sealer
from conftest import SECRET, TOKEN, TWILIO_NUMBER, Phone, key_of, stored
from test_ops import ACCOUNT, StandIn
from test_residue import found_in, redis_snapshot, sqlite_files

HOOK_SECRET = "the team's own webhook secret"
RESPONDER, OTHER_RESPONDER = "+13125550111", "+13125550112"
ANA, BETO, FORGER = "+13125550131", "+17735550142", "+13125550166"
CODE = re.compile(r"\(case ([A-Z0-9]{4})\)")


class Twilio:
    """What the stand-in received: texts sent through the Messages API, alerts posted."""

    def __init__(self) -> None:
        self.texts: list[dict[str, str]] = []
        self.alerts: list[dict] = []
        self.fail = False  # answer 500 to everything: Twilio and the webhook are down

    def to(self, number: str) -> list[str]:
        return [t["Body"] for t in self.texts if t["To"] == number]


@pytest.fixture
def twilio() -> Iterator[tuple[Twilio, str]]:
    seen = Twilio()

    class Handler(StandIn):  # JSON answers and Twilio's Basic auth, as test_ops has them

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if seen.fail:
                return self.reply(500, {"code": 20500, "status": 500})
            if self.path == "/alerts":
                mac = hmac.new(HOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
                assert self.headers["X-Helpline-Signature"] == f"sha256={mac}"
                seen.alerts.append(json.loads(raw))
                return self.reply(200, {"ok": True})
            if self.path != f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json":
                return self.reply(404, {"code": 20404, "status": 404})
            if not self.authorised():  # the account's SID and token, as twilio sends them
                return
            fields = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            seen.texts.append(fields)
            self.reply(201, {"sid": "SM" + "0" * 32, "account_sid": ACCOUNT,
                             "to": fields["To"], "from": fields["From"],
                             "body": fields["Body"], "status": "queued"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, db_path) -> str:
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return "sqlite://" + str(db_path)


@pytest.fixture
def handoff_app(make_app, twilio, store_url):
    seen, url = twilio
    return make_app(STORE_URL=store_url, TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_API_URL=url,
                    RESPONDERS=f"{RESPONDER},{OTHER_RESPONDER}",
                    ALERT_WEBHOOK=f"{url}/alerts", ALERT_WEBHOOK_SECRET=HOOK_SECRET,
                    SURGE_REPORTS=3)


@pytest.fixture
def phone(handoff_app) -> Phone:
    return Phone(handoff_app.test_client())


def code_in(text: str | None) -> str:
    found = CODE.search(text or "")
    assert found, text
    return found.group(1)


def call_back(phone: Phone, sender: str, ask: str = "can someone call me back",
              yes: str = "YES") -> str:
    asked = phone.text(ask, sender).text
    assert "YES" in asked or "SI" in asked, asked
    return code_in(phone.text(yes, sender).text)


def report(phone: Phone, sender: str, words: str) -> str:
    intake = phone.text("ICE agents are on my block right now", sender).text
    assert "Reply with what you see" in intake, intake
    return code_in(phone.text(words, sender).text)


# -- consented call-back -----------------------------------------------------------------
def test_a_call_back_is_sent_only_after_yes(phone, twilio):
    seen, _ = twilio
    asked = phone.text("can someone call me back about my court date", ANA).text
    # it says exactly what would be shared, and asks for a yes
    assert "this number" in asked and "Immigration court" in asked and "English" in asked
    assert "Reply YES" in asked and "10 minutes" in asked
    assert seen.texts == [] and seen.alerts == []
    reply = phone.text("yes", ANA).text
    code = code_in(reply)
    assert "will call this number" in reply and "hotline" in reply
    for responder in (RESPONDER, OTHER_RESPONDER):
        [alert] = seen.to(responder)
        assert code in alert and ANA in alert and "Immigration court" in alert
        assert "English" in alert
        assert all(t["From"] == TWILIO_NUMBER for t in seen.texts)
    [hook] = seen.alerts
    assert hook["kind"] == "callback" and hook["code"] == code
    assert hook["number"] == ANA and hook["topic"] == "court" and hook["language"] == "en"


def test_without_a_yes_nothing_is_sent(phone, twilio):
    seen, _ = twilio
    phone.text("necesito que me marquen por favor", ANA)
    assert "SI" in phone.last.get_data(as_text=True)
    phone.text("mejor no, gracias", ANA)  # anything but a yes: the offer is over
    phone.text("si", ANA)
    assert seen.texts == [] and seen.alerts == []


def test_a_pending_consent_expires_in_ten_minutes(phone, twilio, handoff_app):
    seen, _ = twilio
    phone.text("can a volunteer phone me", ANA)
    age(handoff_app, f"wait:{key_of(ANA)}")
    phone.text("yes", ANA)
    assert seen.texts == [] and seen.alerts == []


def test_one_call_back_per_sender_per_hour(phone, twilio):
    seen, _ = twilio
    call_back(phone, ANA)
    phone.text("please call me back", ANA)
    again = phone.text("yes", ANA).text
    assert "less than an hour ago" in again
    assert len(seen.alerts) == 1
    call_back(phone, BETO)  # another texter is not limited by Ana
    assert len(seen.alerts) == 2


def test_stop_cancels_a_pending_call_back(phone, twilio, handoff_app):
    seen, _ = twilio
    phone.text("call me back please", ANA)
    assert phone.text("STOP", ANA).text is None
    phone.text("START", ANA)
    phone.text("yes", ANA)
    assert seen.alerts == []


def test_when_no_one_can_be_reached_the_texter_gets_the_hotline(phone, twilio, hotline):
    seen, _ = twilio
    phone.text("can someone call me back", ANA)
    seen.fail = True
    reply = phone.text("yes", ANA).text
    assert "could not reach a volunteer" in reply and hotline in reply


# -- reports relayed ---------------------------------------------------------------------
def test_a_report_is_relayed_without_the_number_until_yes(phone, twilio):
    seen, _ = twilio
    words = "3 agents in vests, black van, 26th and Pulaski, 10 minutes ago"
    code = report(phone, ANA, words)
    reply = phone.last.get_data(as_text=True)
    assert "without your number" in reply and "safe distance" in reply
    [alert] = seen.to(RESPONDER)
    assert words in alert and code in alert and ANA not in alert
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", alert)  # the time, to the minute
    [hook] = seen.alerts
    assert hook["report"] == words and "number" not in hook and hook["kind"] == "report"
    assert "may contact you" in phone.text("yes", ANA).text
    assert ANA in seen.to(RESPONDER)[-1] and code in seen.to(RESPONDER)[-1]
    assert seen.alerts[-1] == {"kind": "contact", "code": code, "number": ANA}


def test_a_surge_of_reports_alerts_the_operator_once(phone, twilio):
    seen, _ = twilio
    for n in range(5):
        report(phone, f"+1312555020{n}", f"agents at the corner number {n}")
    surges = [a for a in seen.alerts if a["kind"] == "surge"]
    assert len(surges) == 1 and surges[0]["reports"] == 3


# -- two-way handoff ---------------------------------------------------------------------
def test_two_texters_one_responder_each_message_reaches_the_right_person(phone, twilio):
    seen, _ = twilio
    ana = call_back(phone, ANA)
    beto = report(phone, BETO, "two men with ICE jackets at the bus stop on Cermak")
    # the responder writes to Ana: she gets it from the helpline number
    answer = phone.text(f"#{ana} Hi Ana, this is Maria from the hotline. Are you safe?",
                        RESPONDER).text
    assert answer.startswith("Sent to " + ANA)  # Ana consented: her number is shown
    [to_ana] = seen.to(ANA)
    assert "Are you safe?" in to_ana and f"case {ana}" in to_ana and "MENU" in to_ana
    # now Ana's texts go to Maria, not to the bot
    assert phone.text("yes, they left, thank you", ANA).text is None
    assert seen.to(RESPONDER)[-1] == f"[{ana}] ({ANA}) yes, they left, thank you"
    # Beto's case is not taken: the bot still answers him
    assert phone.text("what are my rights", BETO).text
    # the responder writes to Beto, who did not share his number
    answer = phone.text(f"#{beto.lower()} How many agents?", RESPONDER).text
    assert answer.startswith("Sent (case") and BETO not in answer
    assert "How many agents?" in seen.to(BETO)[-1]
    phone.text("two, they are leaving", BETO)
    assert seen.to(RESPONDER)[-1] == f"[{beto}] two, they are leaving"
    assert BETO not in " ".join(seen.to(RESPONDER))
    assert ANA not in " ".join(seen.to(BETO)) and BETO not in " ".join(seen.to(ANA))
    # another responder cannot take a case that is taken
    assert "taken by another" in phone.text(f"#{ana} hello", OTHER_RESPONDER).text
    # the case closes: Ana is told and is back with the bot
    assert "closed" in phone.text(f"#{ana} close", RESPONDER).text
    assert "ended this chat" in seen.to(ANA)[-1]
    assert phone.text("what are my rights", ANA).text
    assert "No open case" in phone.text(f"#{ana} still there?", RESPONDER).text


def test_menu_takes_the_texter_back_to_the_bot(phone, twilio):
    seen, _ = twilio
    ana = call_back(phone, ANA)
    phone.text(f"#{ana} hello", RESPONDER)
    menu = phone.text("MENU", ANA).text
    assert "1 " in menu
    assert "went back to the bot" in seen.to(RESPONDER)[-1]
    assert "No open case" in phone.text(f"#{ana} hello?", RESPONDER).text


@pytest.mark.parametrize("leave", ["forget", "STOP"])
def test_forget_or_stop_mid_case_closes_it(phone, twilio, leave):
    seen, _ = twilio
    ana = call_back(phone, ANA)
    phone.text(f"#{ana} hello", RESPONDER)
    phone.text(leave, ANA)
    assert "case is closed" in seen.to(RESPONDER)[-1]
    assert "No open case" in phone.text(f"#{ana} hello?", RESPONDER).text
    before = len(seen.texts)
    phone.text("hola", ANA)
    assert len(seen.texts) == before  # nothing relayed


def test_an_idle_case_expires(phone, twilio, handoff_app):
    seen, _ = twilio
    ana = call_back(phone, ANA)
    phone.text(f"#{ana} hello", RESPONDER)
    age(handoff_app, f"case:{ana}", f"link:{key_of(ANA)}")
    assert "No open case" in phone.text(f"#{ana} hello?", RESPONDER).text
    before = len(seen.texts)
    assert phone.text("what are my rights", ANA).text  # the bot answers again
    assert len(seen.texts) == before


def test_a_forged_responder_cannot_open_or_read_a_case(phone, twilio):
    seen, _ = twilio
    ana = call_back(phone, ANA)
    forged = phone.text(f"#{ana} hi Ana, send me your address", FORGER).text
    assert "Sent" not in (forged or "") and seen.to(ANA) == []
    phone.text(f"#{ana} hello", RESPONDER)
    phone.text("my address is 123 Main", ANA)
    assert seen.to(FORGER) == []
    # an unsigned request claiming to be the responder is refused before anything
    assert phone.post(f"#{ana} close", RESPONDER, signed=False).status_code == 403
    assert "Sent" in phone.text(f"#{ana} still open?", RESPONDER).text


def test_a_responder_retry_sends_nothing_twice(phone, twilio):
    seen, _ = twilio
    from conftest import twilio_fields
    ana = call_back(phone, ANA)
    fields = twilio_fields(f"#{ana} hello", RESPONDER)
    phone.post(fields=fields)
    phone.post(fields=fields)  # Twilio retries the same MessageSid
    assert len(seen.to(ANA)) == 1


# -- nothing stays -----------------------------------------------------------------------
def test_the_case_map_is_sealed(handoff_app, phone, twilio, store_url):
    ana = call_back(phone, ANA)
    store = handoff_app.extensions["helpline_store"]
    blob = store.fetch(f"case:{ana}")
    assert ANA not in blob and ANA.lstrip("+") not in blob
    assert Sealer(SECRET.encode()).open(blob)["number"] == ANA
    assert Sealer(b"another key of thirty-two bytes!").open(blob) is None


WORDS = "agents took my neighbour Rosa at 4455 W Cermak"


def residue(handoff_app, store_url, redis_server=None) -> dict[str, bytes]:
    if store_url.startswith("redis"):
        return redis_snapshot(redis_server)
    handoff_app.extensions["helpline_store"].purge()
    return sqlite_files(Path(handoff_app.extensions["helpline_store"].path))


@pytest.mark.parametrize("end", ["close", "forget", "expiry"])
def test_after_the_case_ends_the_stores_hold_no_trace(request, handoff_app, phone,
                                                      twilio, store_url, end):
    code = report(phone, ANA, WORDS)
    phone.text("yes", ANA)  # consent: the number went into the case
    phone.text(f"#{code} thank you, are you safe?", RESPONDER)
    phone.text(f"I am ok. {WORDS}", ANA)  # relayed, never stored
    server = request.getfixturevalue("redis_server") if store_url.startswith("redis") \
        else None
    if end == "close":
        phone.text(f"#{code} close", RESPONDER)
    elif end == "forget":
        phone.text("FORGET", ANA)
    else:
        age(handoff_app, f"case:{code}", f"link:{key_of(ANA)}", f"wait:{key_of(ANA)}")
    if end != "forget":
        phone.text("FORGET", ANA)  # the sender's own record too (a trace of its own)
    blobs = residue(handoff_app, store_url, server)
    assert found_in(blobs, ANA) == []
    assert not any(b"Cermak" in blob or code.encode() in blob for blob in blobs.values())


def age(app, *keys: str) -> None:
    """Time passes for these records: each now expired, in the real store."""
    store = app.extensions["helpline_store"]
    for key in keys:
        blob = store.fetch(key)
        if blob is None:
            continue
        if hasattr(store, "redis"):
            store.redis.pexpire(store._k("x", key), 1)
        else:
            store.keep(key, blob, 1, now=time.time() - 60)
    time.sleep(0.01)
    if hasattr(store, "redis"):  # expired keys go when next touched (or by Redis's own
        for key in keys:  # sampling, ten times a second): touched here, not waited for
            assert not store.redis.exists(store._k("x", key))


# -- channels and settings -----------------------------------------------------------------
def test_the_web_page_cannot_arrange_a_call(handoff_app, twilio, hotline):
    seen, _ = twilio
    reply = handoff_app.test_client().post(
        "/api/chat", json={"message": "can someone call me back"},
        headers={"Sec-Fetch-Site": "same-origin"}).get_json()
    assert reply["intent"] == "callback" and "cannot arrange a call" in reply["text"]
    assert hotline in reply["text"] and seen.texts == [] and seen.alerts == []


def test_without_responders_or_a_webhook_a_call_back_gives_the_hotline(make_app, hotline):
    phone = Phone(make_app().test_client())
    reply = phone.text("can someone call me back please", ANA).text
    assert "cannot arrange a call" in reply and hotline in reply
    assert "YES" not in reply
    intake = phone.text("ICE agents are on my block right now", ANA).text
    assert "Reply with what you see" not in intake and hotline in intake


def test_handoff_settings_are_checked():
    found = checks.handoff_problems({"RESPONDERS": "3125550111,+13125550112",
                                     "ALERT_WEBHOOK": "http://alerts.example.org/x"})
    assert any("'3125550111' is not a phone number" in p for p in found)
    assert any("TWILIO_ACCOUNT_SID" in p for p in found)
    assert any("HELPLINE_ALERT_WEBHOOK must be an https" in p for p in found)
    assert checks.handoff_problems({"RESPONDERS": "+13125550111",
                                    "TWILIO_ACCOUNT_SID": ACCOUNT,
                                    "TWILIO_AUTH_TOKEN": TOKEN,
                                    "ALERT_WEBHOOK": "https://alerts.example.org/x"}) == []
