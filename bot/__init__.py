"""The helpline bot: `create_app()` is the only place where things are wired together."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask

from . import settings as checks
from .content import load as load_content
from .conversation import Helpline
from .guard import Guard, Limits
from .sms import MAX_SEGMENTS, segments
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
    # The locales served, in this order (menu switch lines, the call's digits). A locale
    # folder not listed is a draft: validated by `helpline check`, never served.
    "LOCALES": "en,es",
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
    "TWILIO_ACCOUNT_SID": None,  # for `helpline twilio`, `redact` and REDACT_MINUTES
    "TWILIO_NUMBERS": None,  # the helpline's own numbers, comma-separated
    "TWILIO_API_URL": None,  # another Twilio edge, or a stand-in server in tests
    "ORG_NAME": None,  # who runs the line, as registered with carriers (HELP names it)
    "SUPPORT_CONTACT": None,  # a phone or e-mail to reach them (HELP gives it)
    "CONFIRM_STOP": False,  # send our own STOP confirmation (numbers without Twilio's)
    "REDACT_MINUTES": None,  # delete Twilio's copy of messages this old, from `serve`
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "REVIEW_MAX_DAYS": 180,  # `helpline check` warns about reviews older than this
    # A person when it matters (bot/handoff.py): either turns on call-backs, relayed
    # reports and two-way texts.
    "RESPONDERS": None,  # on-call responders' numbers, comma-separated (+13125550123,...)
    "ALERT_WEBHOOK": None,  # an https URL that gets each alert as JSON
    "ALERT_WEBHOOK_SECRET": None,  # signs each alert: X-Helpline-Signature: sha256=HMAC
    "CASE_IDLE_HOURS": 2,  # a case closes (and its number is deleted) after this quiet
    "SURGE_REPORTS": 10,  # this many reports in 10 minutes alert the operator once
}
# Settings read without the HELPLINE_ prefix, as Twilio's own tools name them.
TWILIO_ENV = ("TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID")


def create_app(test_config: dict | None = None, *, serving: bool = True) -> Flask:
    """Build the app: settings from HELPLINE_* variables (or `test_config`), content,
    catalogs and store loaded once, webhooks registered. `serving=False` (purge, stats)
    checks only what the store needs."""
    app = Flask(__name__, instance_path=instance_path())
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_prefixed_env("HELPLINE")
        for name in TWILIO_ENV:
            app.config[name] = os.environ.get(name)
    else:
        app.config.from_mapping(test_config)
    _check_settings(app, serving=serving)

    app.extensions["helpline"] = build_engine(app.config, model_cache(app))
    store = open_store(store_url(app), int(app.config["RETENTION_DAYS"]),
                       int(app.config["STATS_DAYS"]))
    app.extensions["helpline_store"] = store
    app.extensions["helpline_guard"] = Guard(store, app.config["SECRET_KEY"].encode(),
                                             Limits.from_config(app.config))
    app.extensions["helpline_handoff"] = build_handoff(app.config, app.extensions[
        "helpline"], store)

    from . import stats, webhooks

    app.register_blueprint(webhooks.bp)
    from . import pages, voice, web

    # A locale folder is named as gettext names it (zh_Hans); HTML wants BCP 47 (zh-Hans).
    app.add_template_filter(lambda code: str(code).replace("_", "-"), "bcp47")
    voice.init_app(app)  # /voice: calls go to the hotline
    web.init_app(app)  # /: the web chat page
    pages.init_app(app)  # /privacy and /terms, from the settings and the content
    if app.config["STATS_TOKEN"]:  # no token: the route does not exist
        app.register_blueprint(stats.bp)
    return app


def instance_path() -> str:
    """Where the bot keeps its files (the SQLite store, the fitted model's cache)."""
    return os.environ.get("HELPLINE_INSTANCE_PATH") or str(ROOT / "instance")


def model_cache(app: Flask) -> Path:
    return Path(app.instance_path) / "models"


def build_engine(config: dict, cache: Path | None = None) -> Helpline:
    """The engine from the content folder and the settings; ContentError or ConfigError
    when either cannot be served (start-up, and `reload` before it swaps anything).
    `cache`: where the fitted model is kept, keyed by the examples' hash."""
    bot = Helpline(load_content(config["CONTENT_DIR"], content_settings(config),
                                live_locales(config)),
                   Path(config["LOCALES_DIR"]), config["DEFAULT_LOCALE"],
                   config["SMS_ENCODING"], cache, bool(config["CONFIRM_STOP"]),
                   handoff_on(config))
    too_long = [f"{code}: {segments(bot.help_text(code)).count} segments"
                for code in bot.codes if segments(bot.help_text(code)).count > MAX_SEGMENTS]
    if too_long:
        raise ConfigError(f"the HELP reply with HELPLINE_ORG_NAME and "
                          f"HELPLINE_SUPPORT_CONTACT is over {MAX_SEGMENTS} SMS segments "
                          f"({', '.join(too_long)}): shorten them (a short name, or the "
                          "acronym carriers know you by)")
    return bot


def handoff_on(config: dict) -> bool:
    """Someone can be reached: responders to text, or a team's webhook."""
    return bool(checks.responder_numbers(config) or config.get("ALERT_WEBHOOK"))


def build_handoff(config: dict, bot: Helpline, store: object) -> object | None:
    """The handoff (bot/handoff.py) when it is on; None when it is not."""
    if not handoff_on(config):
        return None
    from .alerts import Dispatch
    from .cases import Cases, Responders, Sealer
    from .handoff import Handoff

    secret = str(config["SECRET_KEY"]).encode()
    numbers = checks.responder_numbers(config)
    dispatch = Dispatch(config.get("TWILIO_ACCOUNT_SID"), config.get("TWILIO_AUTH_TOKEN"),
                        numbers, config.get("ALERT_WEBHOOK"), config.get("TWILIO_API_URL"),
                        config.get("ALERT_WEBHOOK_SECRET"))
    idle = int(float(config["CASE_IDLE_HOURS"]) * 3600)
    return Handoff(bot, store, Cases(store, Sealer(secret), idle),  # type: ignore[arg-type]
                   Responders(numbers, secret), dispatch, int(config["SURGE_REPORTS"]))


def live_locales(config: dict) -> list[str]:
    """HELPLINE_LOCALES as a list: 'en,es,pl' (or a list, in a test's config)."""
    value = config.get("LOCALES") or DEFAULTS["LOCALES"]
    return str(value).split(",") if isinstance(value, str) else [str(v) for v in value]


def reload_content(app: Flask) -> list[str]:
    """Validate the content folder and, only when it is valid, serve it from now on.
    Returns the problems (nothing changed) or [] (swapped). Never raises: a running bot
    is never taken down by a content edit."""
    from .content import ContentError
    from .i18n import catalog_problems

    try:
        bot = build_engine(app.config, model_cache(app))
        problems = catalog_problems(Path(app.config["LOCALES_DIR"]), bot.codes)
        if problems:  # e.g. a translation naming a placeholder that does not exist
            return problems
    except ContentError as err:
        return list(err.problems)
    except Exception as err:  # noqa: BLE001 - e.g. a catalog that does not parse
        return [f"{type(err).__name__}: {err}"]
    from . import pages, voice, web

    app.extensions["helpline"] = bot  # one assignment each: a request sees old or new
    web.refresh(app)
    voice.refresh(app)
    pages.refresh(app)
    return []


def store_url(app: Flask) -> str:
    if app.config["STORE_URL"]:
        return str(app.config["STORE_URL"])
    database = app.config["DATABASE"] or os.path.join(app.instance_path, "helpline.sqlite3")
    return "sqlite://" + os.path.abspath(database)


def content_settings(config: dict) -> dict[str, object]:
    """The settings replies and interface text may quote: {retention_days}, {org_name},
    {support_contact}, {redact_minutes} (empty when Twilio's copy is not deleted).
    Unset (development, `helpline chat`), the names show where they would go."""
    return {"retention_days": int(config["RETENTION_DAYS"]),
            "org_name": str(config.get("ORG_NAME") or "").strip() or "[HELPLINE_ORG_NAME]",
            "support_contact": str(config.get("SUPPORT_CONTACT") or "").strip()
            or "[HELPLINE_SUPPORT_CONTACT]",
            "redact_minutes": str(config.get("REDACT_MINUTES") or ""),
            "handoff": "1" if handoff_on(config) else "",
            "case_idle_hours": str(config.get("CASE_IDLE_HOURS") or 2)}


def _check_settings(app: Flask, serving: bool = True) -> None:
    """Every problem at once (see bot/settings.py), or none."""
    cfg = app.config
    problems = checks.problems(cfg, serving=serving)
    if problems:
        raise ConfigError(f"{len(problems)} setting(s) to fix:\n  - "
                          + "\n  - ".join(problems))
    if cfg["DEV"]:
        if not cfg["SECRET_KEY"]:
            cfg["SECRET_KEY"] = _dev_secret(Path(app.instance_path))
        if not cfg["TWILIO_AUTH_TOKEN"]:
            log.warning("DEVELOPMENT MODE: no TWILIO_AUTH_TOKEN, so unsigned requests from "
                        "this machine (loopback) are accepted. Never expose this server.")
    elif not serving and not cfg["SECRET_KEY"]:
        cfg["SECRET_KEY"] = "-"  # purge and stats never make a pseudonym


def _dev_secret(instance: Path) -> str:
    """A random development key kept in the instance folder, so memory survives restarts."""
    path = instance / "dev-secret-key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
