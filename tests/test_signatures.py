"""Signature checks pass for what Twilio really sends (https behind a proxy, non-default
ports, query strings, parameters added over time) and fail for any change to the URL,
any parameter, or the signature. Signed with twilio's own RequestValidator."""

from __future__ import annotations

import pytest

from conftest import SENDER, Phone, sign, stored, twilio_fields

PUBLIC = "https://bot.example.org"


@pytest.fixture
def behind_proxy(make_app) -> Phone:
    """The app behind a TLS-terminating proxy: Twilio calls https://bot.example.org/sms,
    the proxy forwards plain http to the app on localhost."""
    return Phone(make_app(PUBLIC_URL=PUBLIC).test_client(), url=PUBLIC + "/sms")


def test_https_behind_a_proxy_passes(behind_proxy):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "54.172.60.1"}
    assert behind_proxy.text("hola", headers=headers, base_url="http://127.0.0.1:8000"
                             ).status == 200


@pytest.mark.parametrize("public, signed", [
    ("https://bot.example.org:8443", "https://bot.example.org:8443/sms"),
    ("https://bot.example.org:443", "https://bot.example.org/sms"),  # Twilio may drop it
    ("https://bot.example.org", "https://bot.example.org:443/sms"),  # ... or add it
])
def test_ports_in_the_public_url(make_app, public, signed):
    phone = Phone(make_app(PUBLIC_URL=public).test_client(), url=signed)
    assert phone.text("hola").status == 200


def test_non_default_port_without_a_public_url(make_app):
    # Only development runs without HELPLINE_PUBLIC_URL (production refuses to start).
    phone = Phone(make_app(DEV=True, PUBLIC_URL=None).test_client(),
                  url="http://localhost:8080/sms")
    assert phone.text("hola", base_url="http://localhost:8080").status == 200
    assert phone.text("hola", base_url="http://localhost:8081").status == 403


@pytest.mark.parametrize("extra", [
    {"ProfileName": "Ana", "WaId": "13125550100"},  # WhatsApp
    {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/m/ME1",
     "MediaContentType0": "image/jpeg"},
    {"AddOns": '{"status":"successful","results":{}}'},
    {"SomeFieldTwilioAddsNextYear": "x"},
])
def test_extra_parameters_twilio_may_add_pass(behind_proxy, extra):
    fields = {**twilio_fields("hola", SENDER), **extra}
    assert behind_proxy.text(None, fields=fields).status == 200


def test_query_string_behind_a_proxy_passes(make_app):
    url = PUBLIC + "/sms?site=chicago&lang=es"
    phone = Phone(make_app(PUBLIC_URL=PUBLIC).test_client(), url=url)
    assert phone.text("hola", path="/sms?site=chicago&lang=es").status == 200


# -- any change fails --------------------------------------------------------------------
@pytest.mark.parametrize("signed_url", [
    "http://bot.example.org/sms",      # scheme
    "https://bot.example.com/sms",     # host
    "https://bot.example.org:8443/sms",  # port
    "https://bot.example.org/SMS",     # path
    "https://bot.example.org/sms/",    # trailing slash
    "https://bot.example.org/sms?a=1",  # query added
])
def test_any_change_to_the_url_fails(behind_proxy, db_path, signed_url):
    assert behind_proxy.text("hola", sign_url=signed_url).status == 403
    assert stored(db_path) == {}


def test_any_change_to_the_query_fails(make_app):
    phone = Phone(make_app(PUBLIC_URL=PUBLIC).test_client(), url=PUBLIC + "/sms?site=a")
    assert phone.text("hola", path="/sms?site=b").status == 403
    assert phone.text("hola", path="/sms?site=a&x=1").status == 403
    assert phone.text("hola", path="/sms").status == 403


@pytest.mark.parametrize("name", sorted(twilio_fields("hola", SENDER)))
def test_any_change_to_any_parameter_fails(behind_proxy, db_path, name):
    fields = twilio_fields("hola", SENDER)
    signature = sign(PUBLIC + "/sms", fields)
    changed = {**fields, name: fields[name] + "0"}
    assert behind_proxy.text(None, fields=changed, signature=signature).status == 403
    assert stored(db_path) == {}


def test_an_added_or_removed_parameter_fails(behind_proxy):
    fields = twilio_fields("hola", SENDER)
    signature = sign(PUBLIC + "/sms", fields)
    added = {**fields, "Injected": "1"}
    removed = {k: v for k, v in fields.items() if k != "FromZip"}
    assert behind_proxy.text(None, fields=added, signature=signature).status == 403
    assert behind_proxy.text(None, fields=removed, signature=signature).status == 403


@pytest.mark.parametrize("position", [0, 5, 13, 27])
def test_any_change_to_the_signature_fails(behind_proxy, position):
    fields = twilio_fields("hola", SENDER)
    good = sign(PUBLIC + "/sms", fields)
    flipped = good[:position] + ("A" if good[position] != "A" else "B") + good[position + 1:]
    assert behind_proxy.text(None, fields=fields, signature=flipped).status == 403
    assert behind_proxy.text(None, fields=fields, signature=good[:-2]).status == 403
    assert behind_proxy.text(None, fields=fields, signature=good).status == 200
