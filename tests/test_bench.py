"""The benchmark's own consistency (no timing here): what `make bench` sends is what the
real app accepts and answers, and the bare endpoint it is compared with answers TwiML.
Otherwise the bench could silently measure 403s, duplicates or rate-limited replies."""

from __future__ import annotations

import statistics
import subprocess
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl

import pytest

from bench import bare, cost, load
from bench.engine import build
from bot import sms
from bot.content import locale_codes
from conftest import CONTENT_DIR

URL = "http://127.0.0.1:8123/sms"
TOKEN = "bench-token"


@pytest.fixture
def bench_app(make_app):
    """The real app as `make bench` configures it: signatures checked against the
    public URL the requests were signed for, limits and duplicate check at defaults."""
    return make_app(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_URL="http://127.0.0.1:8123")


def post(client, signature: str, body: str):
    return client.post("/sms", data=body, headers={
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded"})


def messages(response) -> list[str]:
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


def test_bare_endpoint_answers_one_twiml_message():
    client = bare.create_app().test_client()
    response = client.post("/sms", data={"Body": "hola", "From": "+13125550100"})
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert messages(response) == [bare.TEXT]
    assert client.get("/healthz").status_code == 200


def test_bench_requests_are_signed_as_the_real_app_checks_and_get_real_replies(bench_app):
    """The first requests of a bench run, sent once each: every one 200 with a reply."""
    client = bench_app.test_client()
    requests = load.signed_requests(URL, TOKEN, 40, batch=1)
    for signature, body in requests:
        response = post(client, signature, body)
        assert response.status_code == 200, body
        assert len(messages(response)) == 1, body  # not the limiter, not a duplicate


def test_a_changed_bench_request_is_refused(bench_app):
    """The check above can fail: a signature for another body gets 403."""
    (signature, _), (_, other_body) = load.signed_requests(URL, TOKEN, 2, batch=1)
    assert post(bench_app.test_client(), signature, other_body).status_code == 403


def test_bench_requests_never_repeat_a_message_id_and_stay_under_the_limits():
    requests = load.signed_requests(URL, TOKEN, 3000, batch=2)
    fields = [dict(parse_qsl(body, keep_blank_values=True)) for _, body in requests]
    sids = [f["MessageSid"] for f in fields]
    assert len(set(sids)) == len(sids)
    per_sender: dict[str, list[str]] = {}
    for f in fields:
        per_sender.setdefault(f["From"], []).append(f["Body"])
    assert max(len(b) for b in per_sender.values()) == 2
    assert all(len(set(b)) == len(b) for b in per_sender.values())  # no loop guard
    assert "\t" not in "".join(body for _, body in requests)  # the file's separator


def test_bench_requests_differ_between_batches():
    one = {b for _, b in load.signed_requests(URL, TOKEN, 50, batch=1)}
    two = {b for _, b in load.signed_requests(URL, TOKEN, 50, batch=2)}
    assert not one & two


def test_cost_totals_add_up_and_gsm7_sends_only_gsm7():
    measured = cost.measure()
    for encoding, result in measured.items():
        for code, total in result["totals"].items():
            rows = [r for r in result["replies"] if r["locale"] == code]
            assert total["segments"] == sum(r["segments"] for r in rows)
            assert total["median_segments"] == statistics.median(r["segments"] for r in rows)
    every = build(locales=locale_codes(CONTENT_DIR))
    never = {c for c, loc in every.content.locales.items() if loc.sms_encoding == "ucs2"}
    assert all(r["encoding"] == "GSM-7" for r in measured["gsm7"]["replies"]
               if r["locale"] not in never)


@pytest.mark.parametrize("text, expected", [
    ("á é í ó ú ñ Ñ ü ¿ ¡", "a é i o u ñ Ñ ü ¿ ¡"),
    ("“Hola” ‘sí’ don`t", "\"Hola\" 'si' don't"),
    ("a–b—c―d‒e", "a-b-c-d-e"),
    ("3\u00a0pm…", "3 pm..."),
    ("¼ milla", "1/4 milla"),
])
def test_gsm7_mode_replaces_like_twilio_smart_encoding(text, expected):
    assert sms.to_gsm7(text) == expected
    assert sms.is_gsm7(expected)


def test_bench_writes_outside_the_checkout_unless_recording():
    from bench import HERE, output_path

    ignored = subprocess.run(["git", "check-ignore", "-q", str(output_path(False))],
                             cwd=HERE.parent).returncode == 0
    assert ignored  # git does not see it: `make bench` leaves `git status` clean
    assert output_path(True) == HERE / "results.json"
