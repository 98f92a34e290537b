"""Settings that catch mistakes at start-up: each mistake says what to set instead, and
every problem is listed at once. Through create_app, as `helpline serve` builds the app."""

from __future__ import annotations

import logging

import pytest

from bot import ConfigError
from bot.cli import main
from bot.settings import problems, read_env_file, store_url_problems, webhook_urls
from conftest import SENDER, Phone


def refusal(make_app, **overrides) -> str:
    with pytest.raises(ConfigError) as err:
        make_app(**overrides)
    return str(err.value)


@pytest.mark.parametrize("url, expected", [
    (None, "HELPLINE_PUBLIC_URL is not set"),
    ("", "HELPLINE_PUBLIC_URL is not set"),
    ("https://bot.example.org/sms", "has a path: give only the origin, "
                                    "https://bot.example.org"),
    ("https://bot.example.org/helpline/", "has a path"),
    ("https://bot.example.org?x=1", "has a path"),
    ("http://bot.example.org", "set https://bot.example.org"),
    ("bot.example.org", "is not an address like https://bot.example.org"),
    ("ftp://bot.example.org", "is not an address like"),
])
def test_public_url_mistakes(make_app, url, expected):
    assert expected in refusal(make_app, PUBLIC_URL=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost",
                                 "http://[::1]:5000/", "https://bot.example.org",
                                 "https://bot.example.org:8443"])
def test_public_urls_that_are_accepted(make_app, url):
    assert make_app(PUBLIC_URL=url).config["PUBLIC_URL"] == url


@pytest.mark.parametrize("secret", ["short", "x" * 31, "é" * 15])  # é is 2 bytes: 30
def test_a_secret_key_under_32_bytes_is_refused(make_app, secret):
    assert "at least 32 are needed" in refusal(make_app, SECRET_KEY=secret)


def test_a_secret_key_of_32_bytes_is_accepted(make_app):
    make_app(SECRET_KEY="é" * 16)


@pytest.mark.parametrize("url, expected", [
    ("redis:/localhost", "not a Redis URL like redis://127.0.0.1:6379/0"),
    ("redis://", "not a Redis URL"),
    ("redis://localhost:notaport/0", "not a Redis URL"),
    ("redis://localhost:6379/zero", "not a Redis URL"),
    ("sqlite://var/lib/helpline.sqlite3", "three slashes and an absolute path"),
    ("sqlite:///", "not an absolute path to a file"),
    ("sqlite:///no/such/folder/helpline.sqlite3", "the folder /no/such/folder does not "
                                                   "exist"),
    ("postgres://db/helpline", "not one of the forms the bot knows"),
    ("/var/lib/helpline.sqlite3", "not one of the forms the bot knows"),
])
def test_store_url_mistakes_name_the_expected_form(make_app, url, expected):
    message = refusal(make_app, STORE_URL=url)
    assert expected in message


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "redis://redis.internal",
                                 "rediss://user:pw@redis.example.org:6380/2",
                                 "unix:///run/redis/redis.sock"])
def test_store_urls_of_the_known_forms_pass(url):
    assert store_url_problems(url) == []


def test_a_sqlite_url_in_an_existing_folder_is_used(make_app, tmp_path):
    app = make_app(STORE_URL=f"sqlite://{tmp_path}/state.sqlite3")
    assert (tmp_path / "state.sqlite3").exists()
    assert app.extensions["helpline_store"] is not None


def test_a_database_in_a_missing_folder_is_refused_not_created(make_app, tmp_path):
    missing = tmp_path / "nowhere" / "h.sqlite3"
    assert "does not exist" in refusal(make_app, DATABASE=str(missing))
    assert not missing.parent.exists()


def test_every_problem_is_listed_at_once(make_app):
    message = refusal(make_app, PUBLIC_URL="http://bot.example.org/sms", SECRET_KEY="short",
                      STORE_URL="redis:/x", ORG_NAME=None, TWILIO_AUTH_TOKEN=None,
                      RETENTION_DAYS="thirty")
    for part in ["HELPLINE_PUBLIC_URL", "HELPLINE_SECRET_KEY", "HELPLINE_STORE_URL",
                 "HELPLINE_ORG_NAME", "TWILIO_AUTH_TOKEN", "HELPLINE_RETENTION_DAYS"]:
        assert part in message, part
    assert message.startswith("7 setting(s) to fix")  # the URL is both http and has a path


@pytest.mark.parametrize("value, on", [("1", True), ("yes", True), ("On", True), (1, True),
                                       ("0", False), ("no", False), ("", False),
                                       (False, False)])
def test_confirm_stop_reads_on_and_off(make_app, value, on):
    assert make_app(CONFIRM_STOP=value).config["CONFIRM_STOP"] is on


def test_confirm_stop_refuses_anything_else(make_app):
    assert "HELPLINE_CONFIRM_STOP must be 1 or 0" in refusal(make_app, CONFIRM_STOP="sure")


def test_organisation_and_contact_are_required_in_production(make_app):
    message = refusal(make_app, ORG_NAME="", SUPPORT_CONTACT=None)
    assert "HELPLINE_ORG_NAME is not set" in message
    assert "HELPLINE_SUPPORT_CONTACT is not set" in message


def test_development_needs_none_of_the_production_settings(make_app):
    app = make_app(DEV=True, PUBLIC_URL=None, ORG_NAME=None, SUPPORT_CONTACT=None,
                   SECRET_KEY=None, TWILIO_AUTH_TOKEN=None)
    assert "[HELPLINE_ORG_NAME]" in app.extensions["helpline"].help_text("en")


def test_redact_minutes_needs_the_account_and_numbers(make_app):
    message = refusal(make_app, REDACT_MINUTES="10")
    assert "TWILIO_ACCOUNT_SID" in message and "HELPLINE_TWILIO_NUMBERS" in message


def test_problems_without_serving_ignore_twilio_settings():
    from bot import DEFAULTS

    assert problems(dict(DEFAULTS), serving=False) == []
    assert len(problems(dict(DEFAULTS), serving=True)) == 5  # key, token, URL, org, contact


# -- a refused signature says which URL was checked, never the parameters ----------------
def test_refused_signature_logs_the_url_checked_and_no_parameters(make_app, caplog):
    phone = Phone(make_app(PUBLIC_URL="https://bot.example.org").test_client(),
                  url="https://bot.example.org/sms")
    with caplog.at_level(logging.WARNING):
        status = phone.text("my secret words", sign_url="https://other.example.org/sms",
                            path="/sms?site=a").status
    assert status == 403
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "checked against https://bot.example.org/sms (+ query string)" in logged
    assert "secret words" not in logged and SENDER not in logged
    assert SENDER.lstrip("+") not in logged and "site=a" not in logged


# -- start-up says what to paste into the Twilio console ---------------------------------
def test_webhook_urls_from_the_public_url():
    assert webhook_urls("https://bot.example.org/") == {
        "sms": "https://bot.example.org/sms", "voice": "https://bot.example.org/voice"}


def test_serve_prints_the_webhook_urls_then_serves(monkeypatch, runner, settings):
    from bot import cli

    for name, value in {"SECRET_KEY": settings["SECRET_KEY"], "PUBLIC_URL":
                        "https://bot.example.org", "DATABASE": settings["DATABASE"],
                        "ORG_NAME": "Org", "SUPPORT_CONTACT": "help@example.org"}.items():
        monkeypatch.setenv(f"HELPLINE_{name}", str(value))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    served = []
    monkeypatch.setattr(cli, "run_server", lambda *args, **kwargs: served.append(args))
    result = runner.invoke(main, ["serve"])
    assert result.exit_code == 0, result.output
    assert "A message comes in: HTTP POST https://bot.example.org/sms" in result.output
    assert "A call comes in: HTTP POST https://bot.example.org/voice" in result.output
    assert served


def test_serve_lists_every_settings_problem(runner):
    result = runner.invoke(main, ["serve"])
    assert result.exit_code == 1
    for name in ["HELPLINE_SECRET_KEY", "TWILIO_AUTH_TOKEN", "HELPLINE_PUBLIC_URL",
                 "HELPLINE_ORG_NAME", "HELPLINE_SUPPORT_CONTACT"]:
        assert name in result.output


def test_check_with_settings_lists_the_settings_problems_too(runner, monkeypatch):
    monkeypatch.setenv("HELPLINE_PUBLIC_URL", "http://bot.example.org")
    result = runner.invoke(main, ["check", "--settings"])
    assert result.exit_code == 1
    assert "ERROR HELPLINE_PUBLIC_URL='http://bot.example.org' is http://" in result.output
    assert "ERROR HELPLINE_SECRET_KEY is not set" in result.output
    assert runner.invoke(main, ["check"]).exit_code == 0  # content alone is fine


# -- the environment file ----------------------------------------------------------------
def test_env_file_reads_what_systemd_reads(tmp_path):
    path = tmp_path / "helpline.env"
    path.write_text("# comment\n\nHELPLINE_ORG_NAME='Elgin Neighbours'\n"
                    'export TWILIO_AUTH_TOKEN="abc"\nHELPLINE_RETENTION_DAYS=30\n')
    assert read_env_file(path) == {"HELPLINE_ORG_NAME": "Elgin Neighbours",
                                   "TWILIO_AUTH_TOKEN": "abc", "HELPLINE_RETENTION_DAYS": "30"}
    path.write_text("not a setting\n")
    with pytest.raises(ValueError, match=":1: not NAME=value"):
        read_env_file(path)
