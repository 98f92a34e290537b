"""Properties over any input (hypothesis): understanding never raises and always names a
known intent; the webhook answers any form data with 200 TwiML, 400, 403 or 413, never
a 500."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from flask import Flask

from bot import create_app
from bot.content import INTENTS
from bot.conversation import RELAY, State
from bot.intents import normalise
from conftest import ORG, SECRET, TOKEN, UNLIMITED, sign

KNOWN = set(INTENTS) | {RELAY}
# Any Unicode, plus the shapes texts really take: words of the keyword lists, digits,
# emoji, accents, and control characters.
words = st.sampled_from(["hola", "ICE", "abogado", "stop", "4", "la migra", "ayuda", "no",
                         "puerta", "🙏", "señor", "qué", "STOP", "español", "borrar"])
texts = st.one_of(st.text(), st.lists(st.one_of(words, st.text(max_size=5)), max_size=12)
                  .map(" ".join), st.binary().map(lambda b: b.decode("latin-1")))
states = st.one_of(st.none(), st.builds(
    State, st.one_of(st.none(), st.sampled_from(["en", "es", "pt", ""])), st.booleans()))
RELAXED = settings(max_examples=300, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])


@RELAXED
@given(texts)
def test_normalise_never_raises_and_returns_plain_words(text):
    words = normalise(text)
    assert all(isinstance(w, str) and w and not any(c.isspace() for c in w) for w in words)


@RELAXED
@given(texts)
def test_matching_always_names_a_known_intent(engine, text):
    match = engine.matcher.match(text)
    assert match.intent in KNOWN
    assert match.locale in (None, *engine.codes)


@RELAXED
@given(texts, states, st.sampled_from(["sms", "whatsapp", "web"]))
def test_respond_always_gives_a_known_intent_and_a_reply_or_deliberate_silence(
        engine, text, state, channel):
    reply = engine.respond(text, state, channel)
    assert reply.intent in KNOWN and reply.locale in engine.codes
    if reply.text is None:  # silence only for STOP, while opted out, and words relayed
        assert reply.intent in ("stop", RELAY) or (state and state.opted_out)
        assert reply.intent != RELAY or state.case  # to a responder, in a case
    else:
        assert reply.text.strip()


# -- the webhook -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app({"TESTING": True, "SECRET_KEY": SECRET, "TWILIO_AUTH_TOKEN": TOKEN,
                      "PUBLIC_URL": "http://localhost", **ORG,
                      "DATABASE": str(folder / "fuzz.sqlite3"), **UNLIMITED})
    yield app
    app.extensions["helpline_store"].close()


field_names = st.one_of(st.sampled_from(["From", "Body", "MessageSid", "To", "NumMedia"]),
                        st.text(min_size=1, max_size=20))
forms = st.dictionaries(field_names, st.text(max_size=200), max_size=8)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(form=forms, signed=st.booleans(), big=st.booleans())
def test_webhook_answers_any_form_without_a_500(fuzz_app, form, signed, big):
    if big:
        form = {**form, "Body": "x" * (70 * 1024)}
    headers = {"X-Twilio-Signature": sign("http://localhost/sms", form)} if signed else {}
    response = fuzz_app.test_client().post("/sms", data=form, headers=headers)
    assert response.status_code in (200, 400, 403, 413)
    if response.status_code == 200:
        root = ET.fromstring(response.get_data())
        assert root.tag == "Response" and all(m.tag == "Message" for m in root)
    if big:  # an unsigned body is refused before it is even read
        assert response.status_code == (413 if signed else 403)
    elif signed and form.get("From", "").strip():
        assert response.status_code == 200


headers_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255),
                       max_size=60)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(signature=headers_text, settings_header=st.one_of(st.none(), headers_text))
def test_any_signature_header_is_refused_without_a_500(fuzz_app, signature,
                                                        settings_header):
    """Headers arrive as Latin-1 text: é or ÿ in a forged signature must not crash the
    comparison."""
    headers = {"X-Twilio-Signature": signature}
    if settings_header is not None:
        headers["X-Twilio-Webhooks-Signature-Settings"] = settings_header
    response = fuzz_app.test_client().post("/sms", data={"From": "+1312", "Body": "hola"},
                                           headers=headers)
    assert response.status_code == 403
