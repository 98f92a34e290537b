"""What carriers review: the privacy reply, `/privacy` and `/terms` (built from the settings
and the content, so they cannot drift) and `helpline registration` (the real replies)."""

from __future__ import annotations

import pytest

from bot.cli import main
from conftest import ORG, Phone, fact

REDACTING = {"REDACT_MINUTES": 15, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
             "TWILIO_NUMBERS": "+13125550199"}


# -- the privacy reply is true as deployed -----------------------------------------------
@pytest.mark.parametrize("greeting, locale", [("hello", "en"), ("hola", "es")])
def test_privacy_reply_says_twilio_keeps_records_when_nothing_deletes_them(
        phone, greeting, locale):
    phone.text(greeting)
    text = phone.text("privacy" if locale == "en" else "privacidad").text
    assert "Twilio" in text and "30" in text
    assert "15" not in text
    assert ("records of texts" if locale == "en" else "guardan registros") in text


@pytest.mark.parametrize("greeting, locale", [("hello", "en"), ("hola", "es")])
def test_privacy_reply_says_when_twilios_copy_is_deleted(make_app, greeting, locale):
    phone = Phone(make_app(**REDACTING).test_client())
    phone.text(greeting)
    text = phone.text("privacy" if locale == "en" else "privacidad").text
    assert ("deleted after about 15 minutes" if locale == "en"
            else "Twilio borra su copia en 15 min") in text


def test_privacy_reply_follows_the_retention_setting(make_app):
    phone = Phone(make_app(RETENTION_DAYS=7).test_client())
    assert "for up to 7 days" in phone.text("privacy").text


# -- /privacy and /terms -----------------------------------------------------------------
def page(client, path: str, lang: str) -> str:
    response = client.get(path, query_string={"lang": lang})
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    return response.get_data(as_text=True)


@pytest.mark.parametrize("lang, kept, forget", [("en", "30 days after your last message",
                                                 "FORGET"),
                                                ("es", "30 días después de su último mensaje",
                                                 "BORRAR")])
def test_privacy_page_in_each_locale(client, lang, kept, forget):
    html = page(client, "/privacy", lang)
    assert f'<html lang="{lang}"' in html
    for part in [kept, forget, ORG["ORG_NAME"], ORG["SUPPORT_CONTACT"], "Twilio", "REVOKE",
                 "OPTOUT", "STOP", "START"]:
        assert part in html, part
    assert ("does not delete Twilio" if lang == "en" else "no borra los registros de Twilio"
            ) in html.replace("&#39;", "'")


def test_privacy_page_follows_the_settings(make_app):
    before = page(make_app().test_client(), "/privacy", "en")
    after = page(make_app(RETENTION_DAYS=7, STATS_DAYS=90, **REDACTING).test_client(),
                 "/privacy", "en")
    assert "30 days after" in before and "7 days after" not in before
    assert "7 days after your last message" in after and "for 90 days" in after
    assert "deleted about 15 minutes after" in after and "does not delete" not in after


@pytest.mark.parametrize("lang, words", [
    ("en", ["not legal advice", "message frequency varies", "rates", "not liable"]),
    ("es", ["No son asesoría legal", "la frecuencia de los mensajes varía", "tarifas",
            "no son responsables"]),
])
def test_terms_page_in_each_locale(client, lang, words):
    html = page(client, "/terms", lang)
    for part in words + [ORG["ORG_NAME"], ORG["SUPPORT_CONTACT"], fact("hotline"), "STOP",
                         'href="/privacy?lang=' + lang]:
        assert part in html, part


def test_the_web_page_links_both(client):
    html = client.get("/", query_string={"lang": "es"}).get_data(as_text=True)
    assert 'href="/privacy?lang=es"' in html and 'href="/terms?lang=es"' in html
    assert ">Privacidad<" in html and ">Condiciones de uso<" in html


# -- helpline registration ---------------------------------------------------------------
@pytest.fixture
def registration_env(monkeypatch):
    for name, value in {**ORG, "PUBLIC_URL": "https://bot.example.org"}.items():
        monkeypatch.setenv(f"HELPLINE_{name}", value)


def test_registration_prints_the_real_replies(runner, registration_env, engine):
    result = runner.invoke(main, ["registration"])
    assert result.exit_code == 0, result.output
    out = result.output
    en = engine.content.locales["en"].texts
    assert engine.help_text("en") in out  # the opt-in and HELP messages, as sent
    for intent in ("door", "silent"):
        assert "  " + en[intent].reply.replace("\n", "\n  ") in out
    assert engine.content.locales["es"].texts["door"].reply.split("\n")[0] in out
    for part in ["Charity", "texting the number first", "REVOKE, OPTOUT",
                 "Help keywords: HELP, INFO", "Privacy policy URL: https://bot.example.org/privacy",
                 "Terms and conditions URL: https://bot.example.org/terms",
                 "Embedded links: Yes", fact("locator"), "Embedded phone numbers: Yes",
                 fact("hotline"), "Opt-in type: Via Text", "sent by Twilio"]:
        assert part in out, part


def test_registration_with_confirm_stop_prints_our_confirmation(runner, registration_env,
                                                               monkeypatch):
    monkeypatch.setenv("HELPLINE_CONFIRM_STOP", "1")
    out = runner.invoke(main, ["registration"]).output
    assert "you are unsubscribed and will get no more messages" in out
