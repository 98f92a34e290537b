"""Thin HTTP adapters: check the signature, call `respond`, wrap the reply in TwiML."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import time
import traceback
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import (HMAC_SHA1, HMAC_SHA256, RequestValidator, add_port,
                                      get_signature_algorithm, remove_port)

from .conversation import Helpline, State
from .guard import TAKEN, Answered, Guard
from .handoff import Handoff
from .intents import MAX_CHARS
from .store import Store, StoreDown, pseudonym

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)
LOOPBACK = frozenset({"127.0.0.1", "::1"})
ALGORITHMS = frozenset({HMAC_SHA1, HMAC_SHA256})


XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


@functools.lru_cache(maxsize=1024)
def twiml_bytes(text: str | None) -> bytes:
    """The TwiML twilio's MessagingResponse writes, byte for byte (a test compares them
    for every reply), built once per reply text: the texts are the few reviewed ones."""
    if not text:
        return (XML_HEAD + "<Response />").encode()
    return f"{XML_HEAD}<Response><Message>{escape(text)}</Message></Response>".encode()


def twiml(text: str | None) -> Response:
    return Response(twiml_bytes(text), mimetype="application/xml")


def signed_url() -> str:
    """The URL Twilio signed, exactly as it was sent (percent-escapes kept): the origin
    from HELPLINE_PUBLIC_URL when set (behind a proxy), else the request's own. A request
    target in absolute form (`POST https://host/sms HTTP/1.1`) counts by its path."""
    origin = (current_app.config["PUBLIC_URL"] or request.host_url).rstrip("/")
    path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if path and not path.startswith("/"):
        parts = urlsplit(path)  # absolute form: keep the path and query only
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not path:
        query = request.query_string.decode("latin-1")
        path = quote(request.script_root + request.path) + (f"?{query}" if query else "")
    return origin + path


def url_variants(url: str) -> list[str]:
    """The URL as sent, then as others may have written it: with and without the
    default port (twilio's validators try both) and with an apostrophe in the query
    escaped or not (`%27` against `'`: Node's URL parser escapes it, older ones do not,
    and twilio-node accepts either)."""
    out = []
    base, mark, query = url.partition("?")
    queries = [query]
    if "'" in query:
        queries.append(query.replace("'", "%27"))
    if "%27" in query:
        queries.append(query.replace("%27", "'"))
    for q in queries:
        out.append(base + mark + q)
        parsed = urlsplit(base + mark + q)
        try:
            out += [remove_port(parsed), add_port(parsed)]
        except ValueError:  # a port that is not a number (a forged Host): as sent only
            pass
    return list(dict.fromkeys(out))


def signature_algorithm() -> str | None:
    """HMAC_SHA1 or HMAC_SHA256 from X-Twilio-Webhooks-Signature-Settings; None for
    anything else (refused). The header's text is never logged: anyone can send it."""
    algorithm = get_signature_algorithm(
        request.headers.get("X-Twilio-Webhooks-Signature-Settings")).upper()
    return algorithm if algorithm in ALGORITHMS else None


def body_hash_matches(url: str) -> bool:
    """A URL with `bodySHA256=` signs the URL alone and vouches for the raw body through
    that hash (JSON webhooks): the body must hash to it, as twilio's validators insist."""
    claimed = parse_qs(urlsplit(url).query).get("bodySHA256", [""])[0]
    actual = hashlib.sha256(request.get_data(cache=True)).hexdigest()
    return hmac.compare_digest(actual.encode(), claimed.encode())


def is_signed() -> bool:
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    if not token:  # development only: this machine, not through a proxy or tunnel
        return (bool(current_app.config["DEV"]) and request.remote_addr in LOOPBACK
                and not {"X-Forwarded-For", "Forwarded"} & set(request.headers.keys()))
    signature = request.headers.get("X-Twilio-Signature", "").encode("utf-8", "replace")
    algorithm = signature_algorithm()
    if not signature or algorithm is None:
        return False
    validator, url = RequestValidator(token), signed_url()
    params: object = request.form
    if "bodySHA256=" in url:  # twilio's rule: the hash covers the body, the URL the rest
        if not body_hash_matches(url):
            return False
        params = {}
    for candidate in url_variants(url):  # the URL exactly as sent first: one HMAC
        expected = validator.compute_signature(candidate, params, algorithm)
        if hmac.compare_digest(expected.encode(), signature):  # bytes: any header
            return True
    return False


def refused(what: str) -> None:
    """403, logging the URL the signature was checked against (never the parameters,
    nor the query string, which a caller chooses), so an operator sees a mismatch with
    the URL in the Twilio console."""
    url = signed_url()
    shown = url.split("?", 1)[0] + (" (+ query string)" if "?" in url else "")
    log.warning("refused an unsigned or wrongly signed %s request (403); signature checked "
                "against %s", what, shown)
    abort(403)


@bp.post("/sms")
def sms() -> Response:
    """SMS and WhatsApp. Order matters: a retry of an answered message gets the same
    reply again and changes nothing; state changes (STOP above all) always apply; a reply
    goes out only within limits; anything failing still gives the hotline."""
    started = time.perf_counter()
    if not is_signed():
        refused("sms")
    sender = request.form.get("From", "").strip()
    if not sender:
        abort(400, "missing From")
    channel = "whatsapp" if sender.lower().startswith("whatsapp:") else "sms"
    bot: Helpline = current_app.extensions["helpline"]
    store: Store = current_app.extensions["helpline_store"]
    guard: Guard = current_app.extensions["helpline_guard"]
    body = request.form.get("Body", "")[:MAX_CHARS]
    sid = request.form.get("MessageSid", "")
    handoff: Handoff | None = current_app.extensions.get("helpline_handoff")
    state = None
    responder = None
    try:
        # One transaction: on SQLite one lock and one commit for all of it, on Redis one
        # MULTI for the writes; a failure half-way leaves nothing changed, and the claim
        # is answered with its memo or not at all.
        with store.transaction():
            if not guard.first_time(sid):
                how = guard.how_answered(sid, wait=RETRY_WAIT)
                if how != TAKEN:
                    return _again(bot, how, body, channel)
            key = pseudonym(current_app.config["SECRET_KEY"].encode(), sender)
            if handoff is not None and body.lstrip().startswith("#"):
                responder = handoff.responders.who(sender)  # by HMAC; forged: a texter
            if responder is not None:
                guard.answered(sid, Answered(State(), "responder"))  # a retry: nothing
            else:
                state = store.get(key)
                if handoff is not None:  # what the bot waits for, a case a person took
                    state = handoff.state(key, state)
                reply = bot.respond(body, state, channel, request.form.get("OptOutType"))
                if reply.state is None:
                    store.delete(key)
                else:
                    store.put(key, reply.state)
                guard.count(reply.intent, reply.locale)
                limited = guard.check(sender, reply.intent, reply.locale) if reply.text \
                    else None
                guard.answered(sid, Answered(state, limited))
        if responder is not None:  # after the commit: texts go out, no lock held
            log.info("sms from a responder ms=%.1f", (time.perf_counter() - started) * 1000)
            return twiml(handoff.from_responder(responder, body))  # type: ignore[union-attr]
        text = reply.text
        if reply.actions and handoff is not None:
            text = handoff.perform(reply, key, sender, request.form.get("To", ""))
    except Exception as err:  # the texter still gets the hotline number
        return _failed(bot, err, state, body)
    log.info("sms intent=%s locale=%s channel=%s ms=%.1f%s", reply.intent, reply.locale,
             channel, (time.perf_counter() - started) * 1000,
             f" limited={limited}" if limited else "")
    # Over a limit: 200 with nothing to send (a 429 would send Twilio to the fallback URL).
    return twiml(None if limited else text)


RETRY_WAIT = 3.0  # seconds a retry waits for another delivery still being answered


def _again(bot: Helpline, how: Answered | str | None, body: str, channel: str) -> Response:
    """A message already answered: Twilio retries only when it did not get the answer,
    so send the same reply again, worked out from the same words and the record as it
    was, changing nothing. (Only Twilio's own request makes Twilio send a text: a
    replayed request gets TwiML back, and no one is texted.)"""
    if how is None:  # another delivery is still at it: the hotline, in time
        log.warning("sms retry while its message is still being answered: the fallback")
        return twiml(bot.error_text(_language(bot, None, body)))
    if not isinstance(how, Answered):
        log.info("sms duplicate (answered before replies were kept: not answered again)")
        return twiml(None)
    reply = bot.respond(body, how.state, channel, request.form.get("OptOutType"))
    log.info("sms retry intent=%s locale=%s (answered again, nothing counted)",
             reply.intent, reply.locale)
    return twiml(None if how.limited else without_code(reply.text))


def without_code(text: str | None) -> str | None:
    """A reply that names a case code, answered again on a retry: the case was opened
    (or not) the first time, and nothing is sent twice, so the code is left out."""
    return text.replace(" (case {code})", "").replace("{code}", "-") if text else text


def _language(bot: Helpline, state: State | None, body: str) -> str:
    """The texter's language when the store may be what failed: the record's if it was
    read, else the message's own words."""
    if state is not None and state.locale in bot.codes:
        return state.locale
    try:
        return bot.language_of(body)
    except Exception:  # the matcher itself failed: the default language
        return bot.default


def _failed(bot: Helpline, err: Exception, state: State | None, body: str) -> Response:
    if isinstance(err, StoreDown):  # expected in an outage: one line, no traceback
        log.error("reply failed: the store is down (%s); sent the hotline", err.reason)
    else:  # the type and the code path only: an exception's message could quote input
        log.error("reply failed: %s\n%s", type(err).__name__,
                  "".join(traceback.format_tb(err.__traceback__)))
    return twiml(bot.error_text(_language(bot, state, body)))


@bp.get("/healthz")
def healthz() -> tuple[dict, int]:
    """For a load balancer or monitor: 200 when a text could be answered now, else 503
    with the reason (the store is asked, briefly: a write tried and rolled back)."""
    store: Store = current_app.extensions["helpline_store"]
    try:
        reason = store.health()
    except Exception as err:  # noqa: BLE001 - a health check reports, never raises
        reason = f"store error ({type(err).__name__})"
    if reason:
        log.warning("health: failing (%s)", reason)
        return {"status": "failing", "reason": reason}, 503
    return {"status": "ok"}, 200
