"""The helpline bot: `create_app()` is the only place where things are wired together."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask

from .content import load as load_content
from .conversation import Helpline
from .guard import Guard, Limits
from .store import open_store

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A setting is missing or wrong; the message says which and what to do."""


DEFAULTS = {
    "CONTENT_DIR": str(ROOT / "content"),
    "LOCALES_DIR": str(ROOT / "locales"),
    "STORE_URL": None,  # sqlite:///path or redis://host:6379/0; default: DATABASE
    "DATABASE": None,  # the SQLite file; default: <instance folder>/helpline.sqlite3
    "DEFAULT_LOCALE": "en",
    "RETENTION_DAYS": 30,
    "STATS_DAYS": 400,  # how long the per-day counts (no senders in them) are kept
    "STATS_TOKEN": None,  # set it to serve /stats to `Authorization: Bearer <token>`
    "RATE_PER_MINUTE": 5,  # replies to one sender within a minute
    "RATE_PER_DAY": 60,
    "WEB_RATE_PER_MINUTE": 30,  # the web page's replies per visitor address
    "WEB_RATE_PER_DAY": 600,
    "LOOP_REPEATS": 3,  # the same reply at most this often, each within LOOP_SECONDS
    "LOOP_SECONDS": 60,
    "PUBLIC_URL": None,  # the URL Twilio calls, e.g. https://bot.example.org
    "SMS_ENCODING": "auto",  # or "gsm7": replace á, “, – ... with GSM-7 characters
    "DEV": False,  # local development: unsigned requests from loopback are accepted
    "SECRET_KEY": None,
    "TWILIO_AUTH_TOKEN": None,
    "MAX_CONTENT_LENGTH": 64 * 1024,
}


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: settings from HELPLINE_* variables (or `test_config`), content,
    catalogs and store loaded once, webhooks registered."""
    app = Flask(__name__, instance_path=instance_path())
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_prefixed_env("HELPLINE")
        app.config["TWILIO_AUTH_TOKEN"] = os.environ.get("TWILIO_AUTH_TOKEN")
    else:
        app.config.from_mapping(test_config)
    _check_settings(app)

    app.extensions["helpline"] = Helpline(
        load_content(app.config["CONTENT_DIR"], content_settings(app.config)),
        Path(app.config["LOCALES_DIR"]),
        app.config["DEFAULT_LOCALE"], app.config["SMS_ENCODING"],
        model_cache=Path(app.instance_path) / "models")
    store = open_store(store_url(app), int(app.config["RETENTION_DAYS"]),
                       int(app.config["STATS_DAYS"]))
    app.extensions["helpline_store"] = store
    app.extensions["helpline_guard"] = Guard(store, app.config["SECRET_KEY"].encode(),
                                             Limits.from_config(app.config))

    from . import stats, webhooks

    app.register_blueprint(webhooks.bp)
    from . import voice, web

    voice.init_app(app)  # /voice: calls go to the hotline
    web.init_app(app)  # /: the web chat page
    if app.config["STATS_TOKEN"]:  # no token: the route does not exist
        app.register_blueprint(stats.bp)
    return app


def instance_path() -> str:
    """Where the bot keeps its files (the SQLite store, the fitted model's cache)."""
    return os.environ.get("HELPLINE_INSTANCE_PATH") or str(ROOT / "instance")


def store_url(app: Flask) -> str:
    if app.config["STORE_URL"]:
        return str(app.config["STORE_URL"])
    database = app.config["DATABASE"] or os.path.join(app.instance_path, "helpline.sqlite3")
    return "sqlite://" + os.path.abspath(database)


def content_settings(config: dict) -> dict[str, object]:
    """The settings replies may quote: {retention_days}."""
    return {"retention_days": int(config["RETENTION_DAYS"])}


def _check_settings(app: Flask) -> None:
    cfg = app.config
    if cfg["SMS_ENCODING"] not in ("auto", "gsm7"):
        raise ConfigError("HELPLINE_SMS_ENCODING must be 'auto' or 'gsm7'")
    for name in ("RETENTION_DAYS", "STATS_DAYS", "RATE_PER_MINUTE", "RATE_PER_DAY",
                 "WEB_RATE_PER_MINUTE", "WEB_RATE_PER_DAY", "LOOP_REPEATS", "LOOP_SECONDS"):
        try:
            cfg[name] = int(str(cfg[name]))
            if cfg[name] < 1:
                raise ValueError
        except ValueError:
            raise ConfigError(f"HELPLINE_{name} must be a whole number of at least 1, "
                              f"not {cfg[name]!r}") from None
    if cfg["DEV"]:
        if not cfg["SECRET_KEY"]:
            cfg["SECRET_KEY"] = _dev_secret(Path(app.instance_path))
        if not cfg["TWILIO_AUTH_TOKEN"]:
            log.warning("DEVELOPMENT MODE: no TWILIO_AUTH_TOKEN, so unsigned requests from "
                        "this machine (loopback) are accepted. Never expose this server.")
        return
    if not cfg["SECRET_KEY"]:
        raise ConfigError("HELPLINE_SECRET_KEY is not set. It keys the pseudonyms of phone "
                          "numbers; set it to a long random value, e.g. "
                          "`python3 -c 'import secrets; print(secrets.token_hex(32))'`, "
                          "and keep it secret. (For local development: HELPLINE_DEV=1.)")
    if not cfg["TWILIO_AUTH_TOKEN"]:
        raise ConfigError("TWILIO_AUTH_TOKEN is not set. Without it no request from Twilio "
                          "can be verified; copy the Auth Token from the Twilio console "
                          "(Account > API keys & tokens). (For local development: "
                          "HELPLINE_DEV=1.)")


def _dev_secret(instance: Path) -> str:
    """A random development key kept in the instance folder, so memory survives restarts."""
    path = instance / "dev-secret-key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
