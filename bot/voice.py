"""Phone calls to the bot's number: one key for the language, the most urgent rights
spoken in it, then the call is put through to the hotline.

A thin adapter like /sms: the same signature check, TwiML built with twilio's
VoiceResponse. No step ends in silence: no key or a wrong key hears the choice once more,
then the default language; a hotline that does not answer is followed by its number,
said slowly, twice. Nothing about the caller is stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from babel import Locale
from flask import Blueprint, Flask, Response, current_app, request, url_for
from twilio.twiml.voice_response import Gather, VoiceResponse
from werkzeug.exceptions import InternalServerError

from .content import spoken_number
from .conversation import Helpline
from .webhooks import is_signed, refused

bp = Blueprint("voice", __name__, url_prefix="/voice")
log = logging.getLogger(__name__)

ATTEMPTS = 2  # the language choice is offered twice, then the default language is used
GATHER_SECONDS = 6  # how long to wait for a key
DIAL_SECONDS = 30  # how long the hotline may ring
# DialCallStatus values after which the caller has talked to the hotline.
REACHED = frozenset({"completed", "answered"})


@dataclass(frozen=True)
class Line:
    """What every call needs, worked out once when the app starts."""

    digits: Mapping[str, str]  # "1" -> "en": the content's locales, in order
    dial: str  # the hotline in E.164 form, for <Dial>
    number: str  # the hotline as it is spoken, digit by digit

    @classmethod
    def of(cls, bot: Helpline) -> Line:
        hotline = bot.facts["hotline"]
        return cls({str(n): code for n, code in enumerate(bot.codes, 1)},
                   e164(hotline), spoken_number(hotline))


def e164(number: str) -> str:
    """'1-855-435-7693' -> '+18554357693'. North American numbers only (the content's
    hotline); anything else stops the app from starting rather than failing mid-call."""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 10:
        digits = "1" + digits
    if len(digits) != 11 or not digits.startswith("1"):
        raise ValueError(f"facts.hotline: {number!r} is not a North American phone number")
    return "+" + digits


def init_app(app: Flask) -> None:
    refresh(app)
    app.register_blueprint(bp)


def refresh(app: Flask) -> None:
    """What callers hear, from the engine's content (again after a content reload)."""
    app.extensions["helpline_voice"] = Line.of(app.extensions["helpline"])


@bp.before_request
def _signed_only() -> None:
    if not is_signed():
        refused("voice")


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="application/xml")


def _bot() -> Helpline:
    return current_app.extensions["helpline"]


def _line() -> Line:
    return current_app.extensions["helpline_voice"]


def _say(response: VoiceResponse | Gather, code: str, text: str) -> None:
    voice = _bot().content.locales[code].voice
    assert voice is not None  # the loader requires a voice.yaml for every locale
    response.say(text, language=voice.language, voice=voice.voice)


# -- the steps of a call --------------------------------------------------------------
@bp.post("")
def answer() -> Response:
    """A call comes in: offer the languages."""
    log.info("voice step=answer")
    return _twiml(_choice(attempt=1, again=False))


@bp.post("/language")
def language() -> Response:
    """The key pressed (or none): the summary and the hotline, or the choice once more."""
    attempt = request.args.get("attempt", default=1, type=int)
    code = _line().digits.get(request.form.get("Digits", "").strip())
    if code is None and attempt < ATTEMPTS:
        log.info("voice step=language attempt=%d chosen=none", attempt)
        return _twiml(_choice(attempt + 1, again=True))
    code = code or _bot().default
    guard = current_app.extensions["helpline_guard"]
    # Limited like texts, per caller: a dialler calling again and again must not tie up
    # the hotline's people. A limited caller still hears the number, twice. With the
    # store down the limit cannot be asked: the caller is put through, in their language.
    caller = "call:" + request.form.get("From", "").strip()
    try:
        guard.count("call", code)
        allowed = guard.allow(caller, "call", code)
    except Exception as err:  # noqa: BLE001 - the store failing must not drop a call
        log.error("voice: the store failed (%s); putting the caller through",
                  getattr(err, "reason", type(err).__name__))
        allowed = True
    if not allowed:
        log.info("voice step=language attempt=%d locale=%s limited", attempt, code)
        return _twiml(_number_twice(code, reached=False))
    log.info("voice step=language attempt=%d locale=%s", attempt, code)
    return _twiml(_connect(code))


@bp.post("/dialed")
def dialed() -> Response:
    """After the hotline call: goodbye, or, when it was not reached, its number twice."""
    code = request.args.get("lang", "")
    code = code if code in _bot().codes else _bot().default
    status = request.form.get("DialCallStatus", "")
    log.info("voice step=dialed status=%s locale=%s", status or "-", code)
    return _twiml(_number_twice(code, reached=status in REACHED))


@bp.errorhandler(InternalServerError)
def failed(err: InternalServerError) -> Response:
    """Anything broken inside (a translator's typo in a placeholder ...): the caller is
    still put through to the hotline, in English words Twilio can always speak."""
    cause = err.original_exception or err
    log.error("voice step failed: %s", type(cause).__name__)
    response = VoiceResponse()
    response.say("Connecting you to the hotline. Please stay on the line.", language="en-US")
    response.dial(_line().dial, action=url_for("voice.dialed"), method="POST",
                  timeout=DIAL_SECONDS)
    return _twiml(response)


# -- TwiML pieces ------------------------------------------------------------------------
def _choice(attempt: int, again: bool) -> VoiceResponse:
    """<Gather> one key; each language offered in its own words and voice. With no key,
    Twilio goes on to the <Redirect>, which is answered like a wrong key."""
    response = VoiceResponse()
    target = url_for("voice.language", attempt=attempt)
    gather = response.gather(num_digits=1, action=target, method="POST",
                             timeout=GATHER_SECONDS)
    for digit, code in _line().digits.items():
        _ = _bot().catalogs[code].gettext
        name = Locale.parse(code).get_language_name(code) or code
        text = _("For {language}, press {digit}.").format(language=name, digit=digit)
        if again:
            text = _("Sorry, I did not get that.") + " " + text
        _say(gather, code, text)
    response.redirect(target, method="POST")
    return response


def _number_twice(code: str, reached: bool) -> VoiceResponse:
    """Goodbye after the hotline answered; else its number, slowly, twice."""
    _ = _bot().catalogs[code].gettext
    response = VoiceResponse()
    if reached:
        _say(response, code, _("Thank you for calling. Take care."))
    else:
        number = _line().number
        _say(response, code, _("We could not reach the hotline. Please call it yourself. "
                               "The number is: {number}.").format(number=number))
        response.pause(length=1)
        _say(response, code, _("Again, the number is: {number}.").format(number=number))
    response.hangup()
    return response


def _connect(code: str) -> VoiceResponse:
    _ = _bot().catalogs[code].gettext
    voice = _bot().content.locales[code].voice
    assert voice is not None
    response = VoiceResponse()
    _say(response, code, voice.summary)
    _say(response, code, _("Now we will connect you to the hotline. Please stay on the line."))
    response.dial(_line().dial, action=url_for("voice.dialed", lang=code), method="POST",
                  timeout=DIAL_SECONDS)
    return response
