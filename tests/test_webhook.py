"""The SMS webhook at the HTTP boundary: signatures, settings, sizes, TwiML."""

from __future__ import annotations

import sqlite3

import pytest
from twilio.request_validator import RequestValidator

from bot import ConfigError
from bot.conversation import State
from conftest import (LOCAL_URL, SECRET, SENDER, TOKEN, Phone, key_of, reply_now, sign,
                      stored, twilio_fields, twiml_messages)

PUBLIC = "https://bot.example.org"


def test_signed_text_gets_200_twiml_with_one_message(phone, engine):
    response = phone.post("hola")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    messages = twiml_messages(response)
    assert len(messages) == 1
    assert messages[0].strip()


def test_signed_text_remembers_the_sender_under_its_pseudonym(phone, db_path):
    assert phone.text("buenas tardes").status == 200
    assert stored(db_path)[key_of(SENDER)][0] == "es"


def test_missing_signature_is_refused_without_a_trace(phone, db_path):
    assert phone.text("buenas tardes", signed=False) == (403, None)
    assert key_of(SENDER) not in stored(db_path)
    assert stored(db_path) == {}


def test_wrong_signature_is_refused(phone, db_path):
    bad = sign(LOCAL_URL, twilio_fields("hola", SENDER), token="not-the-token")
    assert phone.text("hola", signature=bad).status == 403
    assert stored(db_path) == {}


@pytest.mark.parametrize("sign_url", [
    "http://localhost/other",
    "https://localhost/sms",
    "http://example.org/sms",
    "http://localhost/sms?extra=1",
], ids=["other-path", "other-scheme", "other-host", "extra-query"])
def test_signature_for_another_url_is_refused(phone, sign_url, db_path):
    assert phone.text("hola", sign_url=sign_url).status == 403
    assert stored(db_path) == {}


@pytest.mark.parametrize("field, value", [
    ("Body", "4"),                  # the text was changed in transit
    ("From", "+13125550111"),       # someone else's number: impersonation
    ("To", "+13125550112"),
])
def test_signature_over_other_fields_is_refused(phone, field, value, db_path):
    fields = twilio_fields("hola", SENDER)
    assert phone.text("hola", sign_fields={**fields, field: value}).status == 403
    assert stored(db_path) == {}


def test_signature_without_a_field_is_refused(phone):
    fields = twilio_fields("hola", SENDER)
    del fields["MessageSid"]
    assert phone.text("hola", sign_fields=fields).status == 403


def test_public_url_is_the_url_validated(make_app):
    phone = Phone(make_app(PUBLIC_URL=PUBLIC).test_client(), url=PUBLIC + "/sms")
    assert phone.text("hola").status == 200
    assert phone.text("hola", sign_url=LOCAL_URL).status == 403


@pytest.mark.parametrize("public", [PUBLIC + "/", PUBLIC])
def test_public_url_with_or_without_a_trailing_slash(make_app, public):
    phone = Phone(make_app(PUBLIC_URL=public).test_client(), url=PUBLIC + "/sms")
    assert phone.text("hola").status == 200


def test_public_url_from_the_environment(monkeypatch, db_path):
    from bot import create_app

    monkeypatch.setenv("HELPLINE_SECRET_KEY", SECRET)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("HELPLINE_DATABASE", str(db_path))
    monkeypatch.setenv("HELPLINE_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("HELPLINE_ORG_NAME", "Chicago Rapid Response Network")
    monkeypatch.setenv("HELPLINE_SUPPORT_CONTACT", "help@crrn.example.org")
    app = create_app()
    try:
        phone = Phone(app.test_client(), url=PUBLIC + "/sms")
        assert phone.text("hola").status == 200
        assert phone.text("hola", sign_url=LOCAL_URL).status == 403
        assert key_of(SENDER) in stored(db_path)
    finally:
        app.extensions["helpline_store"].close()


@pytest.mark.parametrize("query", ["?site=chicago", "?site=chicago&lang=es", "?x=a+b"])
def test_query_string_is_part_of_the_signed_url(phone, query):
    phone.url = LOCAL_URL + query
    assert phone.text("hola", path="/sms" + query).status == 200
    assert phone.text("hola", path="/sms" + query, sign_url=LOCAL_URL).status == 403


@pytest.mark.parametrize("query", ["?site=chicago", "?name=Caf%C3%A9&path=%2Fa%2Fb"])
def test_query_string_with_public_url(make_app, query):
    phone = Phone(make_app(PUBLIC_URL=PUBLIC).test_client(), url=PUBLIC + "/sms" + query)
    assert phone.text("hola", path="/sms" + query).status == 200


def test_percent_encoded_query_string_is_validated_as_sent(phone):
    """Twilio signs the URL as configured: %C3%A9 and %2F must not be decoded first."""
    query = "?name=Caf%C3%A9&path=%2Fa%2Fb"
    phone.url = LOCAL_URL + query
    assert phone.text("hola", path="/sms" + query).status == 200


@pytest.mark.parametrize("algorithm", ["HMAC_SHA1", "HMAC_SHA256"])
def test_signature_settings_header_selects_the_algorithm(phone, algorithm):
    fields = twilio_fields("hola", SENDER)
    signature = RequestValidator(TOKEN).compute_signature(LOCAL_URL, fields, algorithm)
    headers = {"X-Twilio-Webhooks-Signature-Settings": f"key=k1,algorithm={algorithm}"}
    assert phone.text("hola", fields=fields, signature=signature,
                      headers=headers).status == 200


def test_unsupported_signature_algorithm_is_refused(phone):
    headers = {"X-Twilio-Webhooks-Signature-Settings": "key=k1,algorithm=HMAC_MD5"}
    assert phone.text("hola", headers=headers).status == 403


def test_missing_from_is_a_bad_request(phone, db_path):
    fields = twilio_fields("hola", None)
    response = phone.post(fields=fields)
    assert response.status_code == 400
    assert stored(db_path) == {}


def test_blank_from_is_a_bad_request(phone):
    assert phone.text("hola", sender="   ").status == 400


def test_body_over_64_kib_is_too_large(phone, db_path):
    assert phone.text("a" * (64 * 1024 + 1)).status == 413
    assert stored(db_path) == {}


def test_body_just_under_the_size_limit_is_answered(phone):
    status, text = phone.text("a" * (60 * 1024))
    assert status == 200 and text


@pytest.mark.parametrize("body", ["", "   ", None], ids=["empty", "blank", "absent"])
def test_empty_body_gets_the_menu(phone, engine, body):
    assert phone.text(body) == (200, engine.menu("en"))


def test_body_over_1600_chars_is_answered_from_its_first_1600(phone, engine):
    head = "my door "
    body = head + "." * (1600 - len(head)) + " lawyer lawyer lawyer attorney"
    assert len(body) > 1600
    status, text = phone.text(body)
    assert status == 200
    assert text == reply_now(engine, "en", "door")


def test_whatsapp_sender_is_answered_and_remembered(phone, engine, db_path):
    sender = "whatsapp:" + SENDER
    assert phone.text("buenas tardes", sender=sender) == (
        200, engine.respond("buenas tardes", None, "whatsapp").text)
    assert phone.text("4", sender=sender) == (
        200, engine.respond("4", State("es"), "whatsapp").text)
    assert set(stored(db_path)) == {key_of(sender)}


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_sms_only_accepts_post(client):
    assert client.get("/sms").status_code == 405


# -- settings ----------------------------------------------------------------------------
def test_production_without_a_token_refuses_to_start(make_app):
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN is not set"):
        make_app(TWILIO_AUTH_TOKEN=None)


@pytest.mark.parametrize("remote", ["127.0.0.1", "::1"])
def test_dev_mode_without_token_accepts_unsigned_loopback(make_app, engine, remote):
    phone = Phone(make_app(DEV=True, TWILIO_AUTH_TOKEN=None).test_client(), token=None)
    assert phone.text("", environ_base={"REMOTE_ADDR": remote}) == (200, engine.menu("en"))


def test_dev_mode_without_token_refuses_other_addresses(make_app, db_path):
    phone = Phone(make_app(DEV=True, TWILIO_AUTH_TOKEN=None).test_client(), token=None)
    assert phone.text("hola", environ_base={"REMOTE_ADDR": "10.0.0.5"}).status == 403
    assert stored(db_path) == {}


@pytest.mark.parametrize("header", [{"X-Forwarded-For": "203.0.113.9"},
                                    {"Forwarded": "for=203.0.113.9"}])
def test_dev_mode_refuses_unsigned_requests_through_a_proxy_or_tunnel(make_app, db_path,
                                                                      header):
    phone = Phone(make_app(DEV=True, TWILIO_AUTH_TOKEN=None).test_client(), token=None)
    assert phone.text("hola", headers=header).status == 403
    assert stored(db_path) == {}


def test_dev_mode_with_a_token_still_checks_signatures(make_app):
    phone = Phone(make_app(DEV=True).test_client())
    assert phone.text("hola", signed=False).status == 403
    assert phone.text("hola").status == 200


def test_dev_mode_keeps_its_secret_key_in_the_instance_folder(make_app, tmp_path):
    app = make_app(DEV=True, SECRET_KEY=None)
    key_file = tmp_path / "instance" / "dev-secret-key"
    assert key_file.read_text().strip() == app.config["SECRET_KEY"]
    assert len(app.config["SECRET_KEY"]) >= 32
    assert make_app(DEV=True, SECRET_KEY=None).config["SECRET_KEY"] == app.config["SECRET_KEY"]


@pytest.mark.parametrize("secret", [None, ""])
def test_production_without_secret_key_refuses_to_start(make_app, secret):
    with pytest.raises(ConfigError, match="HELPLINE_SECRET_KEY"):
        make_app(SECRET_KEY=secret)


def test_unknown_sms_encoding_refuses_to_start(make_app):
    with pytest.raises(ConfigError, match="HELPLINE_SMS_ENCODING"):
        make_app(SMS_ENCODING="latin-1")


# -- failures inside still give the hotline ----------------------------------------------
def test_store_failure_still_gives_the_hotline(phone, db_path, hotline):
    db = sqlite3.connect(db_path)  # every write of a record fails (a dropped table would
    db.execute("CREATE TRIGGER broken BEFORE INSERT ON senders "  # be made again)
               "BEGIN SELECT RAISE(ABORT, 'broken'); END")
    db.commit()
    db.close()
    status, text = phone.text("4")
    assert status == 200
    assert hotline in text and text.startswith("Sorry")


def test_store_write_failure_apologises_in_the_senders_language(phone, db_path, engine,
                                                                 hotline):
    assert phone.text("buenas tardes").status == 200
    db = sqlite3.connect(db_path)
    db.execute("CREATE TRIGGER no_writes BEFORE INSERT ON senders "
                "BEGIN SELECT RAISE(ABORT, 'read-only'); END")
    db.close()
    status, text = phone.text("4")
    assert status == 200
    assert text == engine.error_text("es")
    assert hotline in text


# -- the TwiML is twilio's, byte for byte ------------------------------------------------
def test_twiml_is_what_twilios_messaging_response_writes(engine):
    from twilio.twiml.messaging_response import MessagingResponse

    from bot.webhooks import twiml_bytes

    texts = [text for _, _, text in engine.all_replies()]
    texts += [engine.respond(t, None, "whatsapp").text for t in ("hola", "4", "menu")]
    texts += ['a < b & "c" > d \'e\'', "¿Qué? — “sí” 🙏", None, ""]
    for text in texts:
        expected = MessagingResponse()
        if text:
            expected.message(text)
        assert twiml_bytes(text) == str(expected).encode(), text


def test_a_failure_half_way_changes_nothing_and_its_retry_is_answered(make_app, db_path,
                                                                       hotline, engine):
    app = make_app()
    phone = Phone(app.test_client())
    fields = twilio_fields("4", SENDER)
    db = sqlite3.connect(db_path)
    db.execute("CREATE TRIGGER no_count BEFORE INSERT ON stats "  # counting fails after
               "BEGIN SELECT RAISE(ABORT, 'full'); END")  # the put (a missing table would
    db.commit()  # be made again: the bot makes its tables in every process)
    status, text = phone.text(None, fields=fields)
    assert status == 200 and hotline in text and text.startswith("Sorry")
    assert stored(db_path) == {}  # the state written before the failure was rolled back
    db.execute("DROP TRIGGER no_count")
    db.commit()
    db.close()
    status, text = phone.text(None, fields=fields)  # Twilio's retry of the same message
    assert status == 200 and text == reply_now(engine, "en", "door")
    assert key_of() in stored(db_path)
