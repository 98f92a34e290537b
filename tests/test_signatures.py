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


# -- twilio's published validator vectors ------------------------------------------------
# From twilio-python's tests/unit/test_request_validator.py and twilio-node's
# spec/validation.spec.js: auth token "12345", this URL and these parameters.
VECTOR_TOKEN = "12345"
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
                 "From": "+14158675309", "To": "+18005551212"}
VECTOR_BODY = '{"property": "value", "boolean": true}'
VECTOR_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
VECTOR_BODY_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="


@pytest.fixture
def checks(make_app):
    """is_signed() for one request, the vector's /myapp.php taken as the path Twilio
    calls, with HELPLINE_PUBLIC_URL set to `public` (or none: the request's own)."""
    from bot.webhooks import is_signed

    def check(public: str | None, path: str, signature: str, base: str | None = None,
              **kwargs: object) -> bool:
        app = make_app(TWILIO_AUTH_TOKEN=VECTOR_TOKEN)
        # After start-up, which refuses http:// and no URL: the check itself is tested.
        app.config["PUBLIC_URL"] = public
        headers = {"X-Twilio-Signature": signature, **kwargs.pop("headers", {})}
        with app.test_request_context(path, base_url=base or public, method="POST",
                                      headers=headers, **kwargs):
            return is_signed()
    return check


def test_the_vectors_are_twilios():
    """The published values, recomputed with the twilio library we sign with."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(VECTOR_TOKEN)
    assert validator.compute_signature(VECTOR_URL, VECTOR_PARAMS) == \
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert validator.compute_hash(VECTOR_BODY) == VECTOR_BODY_HASH
    assert validator.validate(f"{VECTOR_URL}&bodySHA256={VECTOR_BODY_HASH}", VECTOR_BODY,
                              VECTOR_BODY_SIGNATURE)


PATH = "/myapp.php?foo=1&bar=2"


# (the public URL the operator configured, the signature Twilio sent): vectors of
# twilio-python's and twilio-node's tests, each a way Twilio may have written the URL.
@pytest.mark.parametrize("public, signature", [
    ("https://mycompany.com", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),  # the plain vector
    ("https://mycompany.com:1234", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),  # port removed
    ("https://mycompany.com", "kvajT1Ptam85bY51eRf/AJRuM3w="),  # :443 added
    ("http://mycompany.com", "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # :80 added
    ("http://mycompany.com:1234", "OyGYPqTF6ztdbRNCvuQO/oPvqQ4="),  # http, port removed
    ("https://user:pass@mycompany.com", "CukzLTc1tT5dXEDIHm/tKBanW10="),  # credentials
    ("https://user@mycompany.com", "2YRLlVAflCqxaNicjMpJcSTgzSs="),  # just a username
    ("https://user:pass@mycompany.com", "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="),  # ... and :443
])
def test_twilios_vectors_pass(checks, public, signature):
    assert checks(public, PATH, signature, data=VECTOR_PARAMS)
    assert not checks(public, PATH.replace("bar=2", "bar=3"), signature, data=VECTOR_PARAMS)
    assert not checks(public, PATH, signature, data={**VECTOR_PARAMS, "Digits": "1235"})


def test_twilios_vector_without_a_public_url_uses_the_request(checks):
    assert checks(None, PATH, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", base="https://mycompany.com",
                  data=VECTOR_PARAMS)


BODY_PATH = f"{PATH}&bodySHA256={VECTOR_BODY_HASH}"
JSON = {"content_type": "application/json"}


def test_a_json_body_under_its_hash_passes(checks):
    assert checks("https://mycompany.com", BODY_PATH, VECTOR_BODY_SIGNATURE,
                  data=VECTOR_BODY, **JSON)


@pytest.mark.parametrize("body", [
    '{"property": "value", "boolean": false}',  # another body under the same hash
    "", VECTOR_BODY + " ",
])
def test_a_json_body_that_does_not_match_its_hash_fails(checks, body):
    """twilio's validators refuse it; the signature alone covers only the URL."""
    assert not checks("https://mycompany.com", BODY_PATH, VECTOR_BODY_SIGNATURE,
                      data=body, **JSON)


def test_a_form_body_under_a_body_hash_is_checked_by_the_hash(checks):
    assert not checks("https://mycompany.com", BODY_PATH, VECTOR_BODY_SIGNATURE,
                      data=VECTOR_PARAMS)


@pytest.mark.parametrize("signed_query, sent_query", [
    ("name=O'Brien", "name=O%27Brien"),  # Node's URL parser escapes the apostrophe
    ("name=O%27Brien", "name=O'Brien"),  # ... older clients and proxies do not
])
def test_an_apostrophe_escaped_either_way_passes(checks, signed_query, sent_query):
    from twilio.request_validator import RequestValidator

    signed = f"https://mycompany.com/myapp.php?{signed_query}"
    signature = RequestValidator(VECTOR_TOKEN).compute_signature(signed, VECTOR_PARAMS)
    raw = {"RAW_URI": f"/myapp.php?{sent_query}", "REQUEST_URI": f"/myapp.php?{sent_query}"}
    assert checks("https://mycompany.com", f"/myapp.php?{sent_query}", signature,
                  data=VECTOR_PARAMS, environ_overrides=raw)
    other = {k: v.replace("Brien", "Brian") for k, v in raw.items()}
    assert not checks("https://mycompany.com", f"/myapp.php?{sent_query}", signature,
                      data=VECTOR_PARAMS, environ_overrides=other)


def test_an_absolute_form_request_target_passes(checks):
    """`POST https://mycompany.com/myapp.php?foo=1&bar=2 HTTP/1.1` (RFC 9112 3.2.2):
    the server must accept it, and what was signed is the same URL."""
    absolute = f"https://mycompany.com{PATH}"
    raw = {"RAW_URI": absolute, "REQUEST_URI": absolute}
    assert checks("https://mycompany.com", PATH, "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
                  data=VECTOR_PARAMS, environ_overrides=raw)


def test_an_unsigned_request_cannot_write_into_the_log(behind_proxy, caplog):
    """The signature-settings header is the sender's text: it never reaches a log."""
    caplog.set_level("DEBUG")
    forged = "key=k,algorithm=HMAC_MD5 refused; ADMIN LOGIN OK user=root"
    response = behind_proxy.post(headers={"X-Twilio-Webhooks-Signature-Settings": forged},
                                 signed=False, signature="x")
    assert response.status_code == 403
    assert caplog.records and not any("ADMIN" in r.getMessage() or "MD5" in r.getMessage()
                                      for r in caplog.records)
