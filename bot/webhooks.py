"""Thin HTTP adapters: check the signature, call `respond`, wrap the reply in TwiML."""

from __future__ import annotations

import functools
import hmac
import logging
import time
import traceback
from urllib.parse import quote
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator, get_signature_algorithm

from .conversation import Helpline
from .guard import Guard
from .intents import MAX_CHARS
from .store import Store, pseudonym

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)
LOOPBACK = frozenset({"127.0.0.1", "::1"})


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
    from HELPLINE_PUBLIC_URL when set (behind a proxy), else the request's own."""
    origin = (current_app.config["PUBLIC_URL"] or request.host_url).rstrip("/")
    path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not path:
        query = request.query_string.decode("latin-1")
        path = quote(request.script_root + request.path) + (f"?{query}" if query else "")
    return origin + path


def is_signed() -> bool:
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    if not token:  # development only: this machine, not through a proxy or tunnel
        return (bool(current_app.config["DEV"]) and request.remote_addr in LOOPBACK
                and not {"X-Forwarded-For", "Forwarded"} & set(request.headers.keys()))
    signature = request.headers.get("X-Twilio-Signature", "")
    algorithm = get_signature_algorithm(
        request.headers.get("X-Twilio-Webhooks-Signature-Settings"))
    if not signature:
        return False
    validator, url = RequestValidator(token), signed_url()
    try:  # the URL exactly as sent: one HMAC, where validate() computes two
        expected = validator.compute_signature(url, request.form, algorithm)
        if hmac.compare_digest(expected.encode(), signature.encode()):  # bytes: any header
            return True
    except ValueError:  # an algorithm twilio does not know: validate() logs and refuses
        pass
    return validator.validate(url, request.form, signature, algorithm)  # port variants


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
    """SMS and WhatsApp. Order matters: a retry of an answered message is dropped first;
    state changes (STOP above all) always apply; a reply goes out only within limits."""
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
    locale = None
    try:
        # One transaction: on SQLite one lock and one commit for all of it, and a
        # failure half-way leaves nothing changed (a retry of it is then answered).
        with store.transaction():
            if not guard.first_time(request.form.get("MessageSid", "")):
                log.info("sms duplicate channel=%s (a retry: not answered again)", channel)
                return twiml(None)
            key = pseudonym(current_app.config["SECRET_KEY"].encode(), sender)
            state = store.get(key)
            locale = state.locale if state else None
            reply = bot.respond(request.form.get("Body", "")[:MAX_CHARS], state, channel,
                                request.form.get("OptOutType"))
            if reply.state is None:
                store.delete(key)
            else:
                store.put(key, reply.state)
            guard.count(reply.intent, reply.locale)
            limited = reply.text and guard.check(sender, reply.intent, reply.locale)
    except Exception as err:  # the texter still gets the hotline number
        # The type and the code path only: an exception's message could quote input.
        log.error("reply failed: %s\n%s", type(err).__name__,
                  "".join(traceback.format_tb(err.__traceback__)))
        return twiml(bot.error_text(locale))
    log.info("sms intent=%s locale=%s channel=%s ms=%.1f%s", reply.intent, reply.locale,
             channel, (time.perf_counter() - started) * 1000,
             f" limited={limited}" if limited else "")
    # Over a limit: 200 with nothing to send (a 429 would send Twilio to the fallback URL).
    return twiml(None if limited else reply.text)


@bp.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}
