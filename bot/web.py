"""The web chat page: `GET /` and `POST /api/chat`, a thin adapter around `respond`.

Privacy as on SMS: no account, no phone number, nothing kept on the server. What SMS keeps
per sender (language, opt-out) lives in Flask's signed session cookie (itsdangerous):
HttpOnly, SameSite=Strict, Secure outside development and tests, gone when the browser
closes. "Leave quickly" clears it (`POST /api/leave`) and the page replaces itself.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from babel import Locale
from flask import (Blueprint, Flask, Response, abort, current_app, jsonify, render_template,
                   request, session)

from . import i18n
from .conversation import Helpline, State
from .guard import Limits
from .store import DAY
from .intents import MAX_CHARS
from .voice import e164

bp = Blueprint("web", __name__)
log = logging.getLogger(__name__)
LEAVE_URL = "https://weather.com/"  # where "leave quickly" goes: HELPLINE_LEAVE_URL


def N_(msgid: str) -> str:
    """Marks page text for `make extract`; it is translated per request, per language."""
    return msgid


# The page's own words (the replies come from `respond`, like on SMS).
PAGE: Mapping[str, str] = {
    "intro": N_("Ask about your rights as you would in a text message. We do not ask who "
                "you are and we do not keep your messages. General information, not legal "
                "advice."),
    "urgent": N_("Urgent? Call {hotline_name} ({hotline})."),
    "label": N_("Your message"),
    "placeholder": N_("For example: hola, 4, or they are at my door"),
    "send": N_("Send"),
    "topics": N_("Topics"),
    "leave": N_("Leave quickly"),
    "leave_hint": N_("Closes this page and clears the conversation."),
    "language": N_("Language"),
    "you": N_("You"),
    "bot": N_("Helpline"),
    "noscript": N_("This chat needs JavaScript. For help now, call {hotline_name} "
                   "({hotline})."),
    "failed": N_("Sorry, something went wrong. For help now, call {hotline_name} "
                 "({hotline})."),
    "privacy": N_("Privacy"),
    "terms": N_("Terms of use"),
}
SILENT = N_("You will get no more replies here. Send START to begin again.")
# The menu's carrier line (bot.conversation): STOP and message rates mean nothing here.
CARRIER_LINE = "Text STOP to stop. Msg & data rates may apply."
NO_LOOP = 10**9  # the per-address ceiling counts replies only: many visitors ask the same
LIMITED = N_("Too many messages in a short time. Please wait a minute, or call "
             "{hotline_name} ({hotline}) now.")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self'; connect-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the neutral site never learns where we came from
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",  # no copy of the conversation in the browser's cache
}


def init_app(app: Flask) -> None:
    app.config.setdefault("LEAVE_URL", LEAVE_URL)
    app.config.setdefault("TRUSTED_PROXIES", 0)  # proxies in front that set X-Forwarded-For
    # Per visitor (the signed cookie) WEB_RATE_*; per address, for floods, a ceiling many
    # visitors behind one address (shared Wi-Fi, a carrier's NAT) never reach together.
    app.config.setdefault("WEB_ADDRESS_RATE_PER_MINUTE", 300)
    app.config.setdefault("WEB_ADDRESS_RATE_PER_DAY", 6000)
    for name in ("WEB_ADDRESS_RATE_PER_MINUTE", "WEB_ADDRESS_RATE_PER_DAY"):
        try:
            app.config[name] = int(str(app.config[name]))
            if app.config[name] < 1:
                raise ValueError
        except ValueError:
            from . import ConfigError

            raise ConfigError(f"HELPLINE_{name} must be a whole number of at least 1, "
                              f"not {app.config[name]!r}") from None
    app.extensions["helpline_web"] = _page_words(app.extensions["helpline"])
    app.extensions["helpline_web_limits"] = Limits.from_config(app.config, prefix="WEB_")
    app.extensions["helpline_web_ceiling"] = Limits(
        app.config["WEB_ADDRESS_RATE_PER_MINUTE"], app.config["WEB_ADDRESS_RATE_PER_DAY"],
        NO_LOOP, 1, DAY)
    app.config.update(
        SESSION_COOKIE_NAME="helpline",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=not (app.config["DEV"] or app.testing),
    )
    app.register_blueprint(bp)
    app.after_request(_headers)  # every response: static files, /healthz, errors too


def refresh(app: Flask) -> None:
    """After a content reload: the page's words from the new engine."""
    app.extensions["helpline_web"] = _page_words(app.extensions["helpline"])


def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _bot() -> Helpline:
    return current_app.extensions["helpline"]


def _text(code: str, msgid: str) -> str:
    return _bot().fill(_bot().catalogs[code].gettext(msgid))


def _page_words(bot: Helpline) -> dict[str, dict[str, str]]:
    """The page's words in every language, translated once: when the conversation
    changes language, the page follows (the API sends the new language's words)."""
    return {code: {"service": bot.content.locales[code].service,
                   **{key: bot.fill(bot.catalogs[code].gettext(msgid))
                      for key, msgid in PAGE.items()}}
            for code in bot.codes}


def _words(code: str) -> dict[str, str]:
    return current_app.extensions["helpline_web"][code]


def quick_replies(code: str) -> list[dict[str, str]]:
    """The menu entries, as buttons: what the visitor would text, and its title."""
    bot = _bot()
    texts = bot.content.locales[code].texts
    return [{"send": digit, "title": texts[intent].title}
            for digit, intent in bot.content.menu.items()
            if intent in texts and texts[intent].title]


def visitor() -> str:
    """Who the limits count: one visitor, by a random id in the signed session cookie
    (made on the first message, gone with the cookie). Several visitors behind one
    address are several visitors; a script dropping its cookie is held by the address's
    ceiling (`address`)."""
    if not isinstance(session.get("v"), str):
        session["v"] = secrets.token_urlsafe(16)
    return "web-visitor:" + session["v"]


def address() -> str:
    """The visitor's address, for the flood ceiling. Behind HELPLINE_TRUSTED_PROXIES
    proxies it is the address the outermost of them saw (each appends the one it saw to
    X-Forwarded-For); with none, the header is ignored, since anyone can send it."""
    hops = int(current_app.config["TRUSTED_PROXIES"])
    forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
    if hops and len(forwarded) >= hops and forwarded[-hops]:
        return "web:" + forwarded[-hops]
    return "web:" + (request.remote_addr or "-")


def _state() -> State:
    return State(locale=session.get("locale"), opted_out=bool(session.get("opted_out")))


def _page_locale() -> str:
    """?lang= (the switch), else the conversation's language, else Accept-Language."""
    codes = _bot().codes
    asked = request.args.get("lang")
    if asked in codes:
        return asked
    if session.get("locale") in codes:
        return session["locale"]
    return i18n.negotiate(request.accept_languages.values(), codes) or _bot().default


# -- the page ----------------------------------------------------------------------------
@bp.get("/")
def page() -> str:
    code = _page_locale()
    if request.args.get("lang") == code and session.get("locale") != code:
        session["locale"] = code  # the switch: the replies follow too, as "ESPAÑOL" does
    bot = _bot()
    languages = [{"code": c, "name": i18n.language_name(c), "current": c == code}
                 for c in bot.codes]
    return render_template(
        "chat.html", lang=code, dir=Locale.parse(code).text_direction,
        words=_words(code), languages=languages,
        quick=quick_replies(code), tel=e164(bot.facts["hotline"]), max_chars=MAX_CHARS,
        leave_url=current_app.config["LEAVE_URL"])


# -- the API -----------------------------------------------------------------------------
def _same_origin() -> bool:
    """Cross-site request forgery: refuse any request a page on another site could make.

    A JSON content type is required: an HTML form on another site cannot send one, and a
    script there can only with a CORS preflight, which this app never grants. On top of
    that the browser must say the request is same-origin: `Sec-Fetch-Site` (every current
    browser sends it), else `Origin` must be ours. The session cookie is SameSite=Strict
    as well, so another site's request would not carry the conversation anyway. A token
    per session would also work but needs state or a second cookie; these checks need
    neither. Clients that send neither header (curl) are not browsers, and a forged
    request needs a victim's browser."""
    if not request.is_json:
        return False
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    ours = urlsplit(current_app.config["PUBLIC_URL"] or request.host_url)
    theirs = urlsplit(origin)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


@bp.before_request
def _api_checks() -> None:
    if request.method == "POST" and not _same_origin():
        log.warning("web: refused a cross-site or non-JSON request (403)")
        abort(403)


@bp.post("/api/chat")
def chat() -> tuple[Response, int] | Response:
    started = time.perf_counter()
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # [[[[...]]]] deeper than Python's parser goes: not a message
        data = None
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, str):
        abort(400, "send JSON: {\"message\": \"...\"}")
    bot = _bot()
    state = _state()
    try:
        reply = bot.respond(message[:MAX_CHARS], state, channel="web")
        guard = current_app.extensions["helpline_guard"]
        guard.count(reply.intent, reply.locale)
        # Limited like SMS, per visitor (hashed inside the guard, never stored), and per
        # address only at a ceiling for floods.
        flood = reply.text is not None and not guard.allow(
            address(), reply.intent, reply.locale,
            current_app.extensions["helpline_web_ceiling"])
        limited = flood or reply.text is not None and not guard.allow(
            visitor(), reply.intent, reply.locale,
            current_app.extensions["helpline_web_limits"])
    except Exception as err:  # the visitor still gets the hotline number
        log.error("web reply failed: %s", getattr(err, "reason", type(err).__name__))
        code = state.locale if state.locale in bot.codes else _language_of(message)
        return jsonify(text=bot.error_text(code), locale=code, quick=quick_replies(code),
                       words=_words(code)), 500
    _remember(reply.state)
    log.info("web intent=%s locale=%s ms=%.1f%s", reply.intent, reply.locale,
             (time.perf_counter() - started) * 1000, " limited" if limited else "")
    if limited:  # the hotline still; 429 only for a flood from one address
        return jsonify(text=_text(reply.locale, LIMITED), locale=reply.locale,
                       hotline=bot.facts["hotline"], quick=quick_replies(reply.locale),
                       words=_words(reply.locale), limited=True), 429 if flood else 200
    text = _for_the_page(reply.text, reply.locale) if reply.text is not None else \
        _text(reply.locale, SILENT)
    return jsonify(text=text, intent=reply.intent, locale=reply.locale,
                   quick=quick_replies(reply.locale), words=_words(reply.locale))


def _for_the_page(text: str, code: str) -> str:
    """A reply as the page shows it: without the menu's carrier line (STOP, message
    rates), which only means something on a phone's texts."""
    carrier = _bot().catalogs[code].gettext(CARRIER_LINE)
    return "\n".join(line for line in text.split("\n") if line.strip() != carrier)


def _language_of(message: str) -> str:
    try:
        return _bot().language_of(message)
    except Exception:  # the matcher itself failed: the default language
        return _bot().default


def _remember(state: State | None) -> None:
    """What SMS keeps in its store, kept in the signed cookie; None forgets everything."""
    if state is None:
        session.clear()  # the visitor id too: FORGET leaves nothing
        return
    session["locale"] = state.locale
    session["opted_out"] = state.opted_out


@bp.post("/api/leave")
def leave() -> Response:
    """Forget the conversation: the cookie is deleted (Flask sends an expired one)."""
    session.clear()
    log.info("web leave")
    return jsonify(left=True)
