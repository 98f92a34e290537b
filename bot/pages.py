"""`GET /privacy` and `GET /terms`: the pages carriers ask for at registration, in every
locale, built from the settings and the content at start-up so they cannot drift from what
the bot does (change HELPLINE_RETENTION_DAYS and the page says so)."""

from __future__ import annotations

from collections.abc import Mapping

from babel import Locale
from flask import Blueprint, Flask, current_app, render_template, request

from .content import CARRIER_WORDS, HELP_WORDS, OPT_IN_IF_OPTED_OUT
from .conversation import Helpline

bp = Blueprint("pages", __name__)


def N_(msgid: str) -> str:
    """Marks page text for `make extract`; translated per locale when the page is built."""
    return msgid


# With a handoff on (HELPLINE_RESPONDERS or HELPLINE_ALERT_WEBHOOK), what a case keeps.
NEVER_KEPT = N_("We never keep the words of your messages or your phone number, and our "
                "logs never contain them. We do not sell or share anything about you.")
NEVER_KEPT_HANDOFF = N_(
    "We never keep the words of your messages, and our logs never contain them or your "
    "phone number. We do not sell or share anything about you.")
HANDOFF = (N_("When you ask for a person"), (
    N_("If you ask for a call, or send a report, we open a case: a short code, kept with "
       "your phone number, your language and the topic, encrypted. It is how a "
       "volunteer's answer reaches you. Volunteers see your number only if you said yes; "
       "otherwise they see the code and your words."),
    N_("The words you and the volunteer send each other are passed on and never stored. "
       "The case is deleted when it closes, when you text {forget} or STOP, or after "
       "{case_idle_hours} hours with no messages.")))


# (heading, paragraphs); a paragraph given as a pair is (without, with) Twilio deletion.
PRIVACY: tuple[tuple[str, tuple[str | tuple[str, str], ...]], ...] = (
    (N_("Who runs this service"), (
        N_("{org_name} runs {service}. To reach us: {support_contact}."),
        N_("We are not ICE, the police or any part of the government."))),
    (N_("What we keep"), (
        N_("For each phone number that texts us we keep only a scrambled code made from "
           "the number with a secret key (not the number itself), the language of the "
           "conversation, whether you opted out, and the day of your last message."),
        N_("This is deleted {retention_days} days after your last message, or at once "
           "when you text {forget}."),
        N_("We also count messages per day, topic and language, with no phone number, for "
           "{stats_days} days, to know how the service is used."))),
    (N_("What we never keep"), (
        NEVER_KEPT,
        N_("On the web page, the language and opt-out are kept only in a cookie in your "
           "browser. \"Leave quickly\" deletes it."))),
    (N_("What Twilio and your phone company keep"), (
        (N_("Texts reach us through Twilio, a messaging company. Twilio keeps a record of "
            "each message (the phone numbers and the words) until it is deleted. This "
            "service does not delete Twilio's records at present."),
         N_("Texts reach us through Twilio, a messaging company. Twilio keeps a record of "
            "each message (the phone numbers and the words); we have each one deleted "
            "about {redact_minutes} minutes after it is sent or received.")),
        N_("Your phone company keeps its own records of your texts, which we cannot "
           "delete. Texts are not private: do not send your immigration status, A-number "
           "or criminal history."))),
    (N_("How to stop"), (
        N_("Text {stop_words} to get no more messages. Text {start_words} to get replies "
           "again, and {help_words} for help."),)),
    (N_("Information, not legal advice"), (
        N_("This service gives general information about your rights, not legal advice, "
           "and it does not make us your lawyer. For advice on your case, talk to an "
           "immigration lawyer or a DOJ-accredited representative. Beware of notarios."),)),
)

def privacy_sections(handoff: bool) -> tuple:
    """The privacy page as it is true for this line: with a handoff, what a case keeps."""
    if not handoff:
        return PRIVACY
    out = []
    for heading, paragraphs in PRIVACY:
        out.append((heading, tuple(NEVER_KEPT_HANDOFF if p == NEVER_KEPT else p
                                   for p in paragraphs)))
        if heading == "What we keep":
            out.append(HANDOFF)
    return tuple(out)


TERMS: tuple[tuple[str, tuple[str | tuple[str, str], ...]], ...] = (
    (N_("The service"), (
        N_("{service} is a text-message service run by {org_name}. Text a question about "
           "your rights and we reply with reviewed information, or with the hotline, "
           "{hotline_name} ({hotline}), to talk to a person."),
        N_("You start the conversation: we reply only when you text us, at most once "
           "per message, so message frequency varies. We do not charge for it; message and "
           "data rates from your phone company may apply."))),
    (N_("Information, not legal advice"), (
        N_("The replies are general information, reviewed by our team (last review: "
           "{reviewed}). They are not legal advice and do not make us your lawyer. Laws "
           "change; for advice on your case, talk to an immigration lawyer or a "
           "DOJ-accredited representative."),)),
    (N_("Stopping and help"), (
        N_("Text {stop_words} to get no more messages. Text {start_words} to get replies "
           "again, and {help_words} for help."),
        N_("Support: {support_contact}."))),
    (N_("Delivery"), (
        N_("Carriers are not liable for delayed or undelivered messages. If a reply does "
           "not arrive and you need help, call {hotline_name} ({hotline})."),)),
    (N_("Privacy"), (
        N_("What we keep and for how long is on the privacy page."),)),
)
TITLES = {"privacy": N_("Privacy"), "terms": N_("Terms of use")}
OTHER = {"privacy": ("terms", N_("Terms of use")), "terms": ("privacy", N_("Privacy"))}


def init_app(app: Flask) -> None:
    refresh(app)
    app.register_blueprint(bp)


def refresh(app: Flask) -> None:
    """Build both pages in every locale (again after a content reload)."""
    bot: Helpline = app.extensions["helpline"]
    app.extensions["helpline_pages"] = {
        name: {code: build(bot, code, sections, app.config) for code in bot.codes}
        for name, sections in (("privacy", privacy_sections(bot.handoff)),
                               ("terms", TERMS))}


def _words(intent: str, extra: frozenset[str] = frozenset()) -> list[str]:
    """The carrier words in the table's order (STOP first), then any extra."""
    return [w.upper() for w, i in CARRIER_WORDS.items() if i == intent] + sorted(
        w.upper() for w in extra)


def _last_review(texts, _) -> str:  # type: ignore[no-untyped-def]
    """The latest day a person reviewed any reply, or that none has been yet."""
    dates = [t.reviewed for t in texts if t.reviewed is not None]
    return max(dates).isoformat() if dates else _("not yet")


def values(bot: Helpline, code: str, config: Mapping[str, object]) -> dict[str, str]:
    _ = bot.catalogs[code].gettext
    texts = bot.content.locales[code].texts.values()
    return {**bot.facts, "service": bot.content.locales[code].service,
            "stats_days": str(config["STATS_DAYS"]),
            # the forget command word in this language (rules.yaml): FORGET, BORRAR ...
            "forget": (bot.content.locales[code].commands.get("forget") or ("forget",))[
                0].upper(),
            "stop_words": ", ".join(_words("stop")),
            "start_words": ", ".join(_words("start", OPT_IN_IF_OPTED_OUT)),
            "help_words": _(" or ").join(sorted(w.upper() for w in HELP_WORDS)),
            "reviewed": _last_review(texts, _),
            "case_idle_hours": str(config.get("CASE_IDLE_HOURS") or 2)}


def build(bot: Helpline, code: str, sections: tuple, config: Mapping[str, object]
          ) -> list[tuple[str, list[str]]]:
    """The page's sections in one locale, every placeholder filled."""
    _ = bot.catalogs[code].gettext
    redacting = bool(config.get("REDACT_MINUTES"))
    filled = values(bot, code, config)
    out = []
    for heading, paragraphs in sections:
        texts = [_(p[1] if redacting else p[0]) if isinstance(p, tuple) else _(p)
                 for p in paragraphs]
        out.append((_(heading), [t.format(**filled) for t in texts]))
    return out


@bp.after_request
def _headers(response):  # type: ignore[no-untyped-def]
    from .web import SECURITY_HEADERS

    response.headers.update(SECURITY_HEADERS)
    return response


@bp.get("/privacy")
def privacy() -> str:
    return _page("privacy")


@bp.get("/terms")
def terms() -> str:
    return _page("terms")


def _page(name: str) -> str:
    from .web import _page_locale

    code = _page_locale()
    bot: Helpline = current_app.extensions["helpline"]
    _ = bot.catalogs[code].gettext
    other, label = OTHER[name]
    return render_template(
        "page.html", lang=code, dir=Locale.parse(code).text_direction,
        title=_(TITLES[name]), service=bot.content.locales[code].service,
        sections=current_app.extensions["helpline_pages"][name][code],
        other=other, other_label=_(label), back=_("Back to the chat"),
        languages=[(c, Locale.parse(c).get_language_name(c), c == code) for c in bot.codes],
        endpoint=request.endpoint)
