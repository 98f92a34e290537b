"""The heart of the bot: `respond(text, state) -> Reply`, with no Flask and no Twilio.

A table of small handlers, one per intent that needs more than its reviewed reply.
Interface text (menu framing, fallback, confirmations) comes from the gettext catalog of
the reply's locale; rights content comes from the reviewed content files.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_time

from . import i18n, sms
from .content import (COMMAND_INTENTS, CONTENT_INTENTS, OPT_IN_IF_OPTED_OUT, Content,
                      folding_loses, sms_form)
from .intents import Match, Matcher, normalise
from .rules import HELP_RULE


# State, Reply and Match are NamedTuples, not frozen dataclasses: as immutable, and made
# three times faster (a frozen dataclass sets each field through object.__setattr__), which
# matters a few times per message (`make bench`).
class State(NamedTuple):
    """What is remembered about one sender: nothing more. The store keeps `locale` and
    `opted_out`; the adapter adds, from the sealed case records (bot.cases), what the
    bot waits for from them and their open case, for this one message."""

    locale: str | None = None
    opted_out: bool = False
    wait: str | None = None  # "callback:<topic>", "report", "contact": 10 minutes at most
    case: str | None = None  # the code of their open case, when a responder has taken it


class Action(NamedTuple):
    """Something only the adapter can do, that the reply asks for (bot.handoff does it):
    wait  (value: what to wait for, or None to stop waiting), callback (value: topic),
    report (value: the texter's words, relayed and never stored), contact, relay (value:
    the words, to the responder), leave (the texter goes back to the bot), forget."""

    kind: str
    value: str | None = None


# A texter's words passed to the responder who has their case (counted, never answered
# by the bot): the one reply intent the model does not know.
RELAY = "relay"


class Reply(NamedTuple):
    text: str | None  # None: send nothing (an empty <Response/>); "{code}": the case's
    intent: str
    locale: str
    state: State | None  # what to remember; None: forget the sender entirely
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Channel:
    """How one channel shows a reply: SMS and the web page plain, WhatsApp with *bold*
    command words and menu digits (WhatsApp's own light formatting)."""

    bold: str | None = None  # a template for emphasis, e.g. "*{}*"; None: plain text
    sms: bool = True  # the SMS encoding setting (HELPLINE_SMS_ENCODING) applies
    carrier: bool = True  # a phone carrier stands between: HELP and START get its reply


CHANNELS: Mapping[str, Channel] = {
    "sms": Channel(),
    "whatsapp": Channel(bold="*{}*", sms=False),
    "web": Channel(sms=False, carrier=False),
}
# A word in a reply that a rule reads as one of COMMAND_INTENTS ("Text MENU", "Envíe
# BORRAR") is a command the reader may send back, and is what WhatsApp shows bold.
# Twilio's Advanced Opt-Out names the keyword it acted on (OptOutType): authoritative.
OPT_OUT_TYPES: Mapping[str, str] = {"STOP": "stop", "START": "start", "HELP": "menu"}
CARRIER_MAX_CHARS = 24  # longer than any carrier word with spaces and punctuation
# An upper-case word of 3 letters or more, not part of "1-855-HELP-MY-FAMILY".
_CAPS = re.compile(r"(?<![\w-])([A-ZÁÉÍÓÚÜÑĄĆĘŁŃŚŹŻ]{3,})(?![\w-])")  # and Polish


class _Turn:
    """What a handler sees (`_` is the locale's gettext; `keep`, the language to
    remember: one the sender wrote in plainly, else the one remembered before)."""

    __slots__ = ("match", "locale", "state", "_", "keep", "carrier", "now", "text",
                 "handoff")

    def __init__(self, match: Match, locale: str, state: State, _: Callable[[str], str],
                 keep: str | None = None, carrier: bool = True,
                 now: dt.datetime | None = None, text: str = "", handoff: bool = False):
        self.match, self.locale, self.state, self._ = match, locale, state, _
        self.keep, self.carrier = keep, carrier
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.text = text
        self.handoff = handoff  # someone can be reached, and this channel has a number

    def kept(self, **changes: object) -> State:
        """The state to remember: the language kept, nothing waited for."""
        return State(self.keep, self.state.opted_out)._replace(**changes)


class Helpline:
    """Content, matcher and catalogs, loaded once; `respond` is pure."""

    def __init__(self, content: Content, locales_dir: Path, default_locale: str = "en",
                 encoding: str = "auto", model_cache: Path | None = None,
                 confirm_stop: bool = False, handoff: bool = False):
        self.content = content
        # Someone can be reached (HELPLINE_RESPONDERS or HELPLINE_ALERT_WEBHOOK): the bot
        # offers a call-back and relays reports; without, it gives the hotline's number.
        self.handoff = handoff
        # The carrier (or Twilio's Advanced Opt-Out) confirms STOP itself, unless the
        # number does not use Twilio's opt-out handling (HELPLINE_CONFIRM_STOP).
        self.confirm_stop = confirm_stop
        self.matcher = Matcher(content, model_cache)
        self.codes = tuple(content.locales)
        self.default = i18n.negotiate([default_locale], self.codes) or self.codes[0]
        self.catalogs: Mapping[str, gettext.NullTranslations] = i18n.load_catalogs(
            locales_dir, self.codes)
        self.gsm7 = encoding == "gsm7"
        self.yes = frozenset(" ".join(normalise(w)) for loc in content.locales.values()
                             for w in loc.yes) | OPT_IN_IF_OPTED_OUT
        # gsm7 folds these locales' texts; ucs2 locales are never folded.
        self.gsm7_locales = frozenset(code for code, loc in content.locales.items()
                                      if loc.sms_encoding == "gsm7" or self.gsm7
                                      and loc.sms_encoding == "auto")
        self.facts = content.values
        self.menus = {code: self._menu_text(code) for code in self.codes}  # built once
        self.mores = {code: self._more_text(code) for code in self.codes}
        self.commands = frozenset(  # the command words the replies mention: MENU, BORRAR...
            word for _, _, reply in self.all_replies() for word in _CAPS.findall(reply)
            if self.matcher.match(word).intent in COMMAND_INTENTS)
        self._digit_lines = re.compile(
            r"^(%s) " % "|".join(re.escape(d) for d in self.content.menu), re.MULTILINE)
        # One formatter per channel; the texts are few (reviewed replies, catalog
        # strings), so each formatted text is computed once and kept.
        self.formats: Mapping[str, Callable[[str], str]] = {
            name: functools.lru_cache(maxsize=1024)(functools.partial(self._format, channel))
            for name, channel in CHANNELS.items()}

    # -- the one entry point -------------------------------------------------------------
    def respond(self, text: str, state: State | None = None, channel: str = "sms",
                opt_out_type: str | None = None, now: dt.datetime | None = None) -> Reply:
        """The reply to one message; `channel` ("sms", "whatsapp", "web") only changes
        how the text is shown, never what it says. `opt_out_type` is Twilio's OptOutType
        (STOP, START, HELP): when given it decides, whatever the words. `now` (aware):
        the time, for replies that say when a person answers the hotline; the clock
        when not given (so the same text and `now` always get the same reply)."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; one of {sorted(CHANNELS)}")
        state = state or State()
        carrier = OPT_OUT_TYPES.get((opt_out_type or "").strip().upper())
        if not carrier and state.opted_out and len(text) <= CARRIER_MAX_CHARS and \
                " ".join(normalise(text)) in OPT_IN_IF_OPTED_OUT:
            carrier = "start"  # YES from an opted-out sender opts back in (Twilio does)
        if carrier:
            rule = HELP_RULE if carrier == "menu" else "carrier word"
            match = Match(carrier, None, rule=rule)
        else:
            match = self.matcher.match(text)
        if state.opted_out and match.intent != "start":
            # Nothing is sent until START; FORGET still deletes the record, silently.
            kept = None if match.intent == "forget" else state
            return Reply(None, match.intent, self.default, kept,
                         (Action("forget"),) if match.intent == "forget" and self.handoff
                         else ())
        remembered = state.locale if state.locale in self.catalogs else None
        locale = match.locale if match.locale in self.catalogs else None
        locale = locale or remembered or self.default
        if remembered and not match.sure:
            locale = remembered  # one borrowed word ("lawyer", "ok") does not switch
        # Only a language the sender wrote in is remembered, never the default given to
        # "4", "START" or an emoji; a plain one (two words or more) replaces the one
        # remembered, a clear single word ("hola", "DERECHOS", not "ok") only fills an
        # empty memory.
        written = match.locale if match.locale in self.catalogs else None
        keep = written if written and (match.sure or match.clear and not remembered) \
            else remembered
        turn = _Turn(match, locale, state, self.catalogs[locale].gettext, keep,
                     CHANNELS[channel].carrier, now, text,
                     self.handoff and CHANNELS[channel].carrier)
        reply = self._handoff(turn) if state.wait or state.case else None
        if reply is None:
            reply = HANDLERS.get(match.intent, _reviewed)(self, turn)
        if state.wait and not any(a.kind == "wait" for a in reply.actions):
            reply = reply._replace(actions=(*reply.actions, Action("wait")))  # over
        if reply.intent in ("stop", "forget") and self.handoff and \
                not any(a.kind == "forget" for a in reply.actions):
            reply = reply._replace(actions=(*reply.actions, Action("forget")))  # any case
        if opt_out_type and reply.intent == "stop":
            reply = reply._replace(text=None)  # Twilio's Advanced Opt-Out has confirmed it
        if reply.text is not None:
            reply = reply._replace(text=self.formats[channel](reply.text, reply.locale))
        return reply

    def _handoff(self, t: _Turn) -> Reply | None:
        """A message while a case is open with a responder, or while the bot waits for a
        yes or a report's details; None: answered as any message. STOP and FORGET always
        act; MENU (a command word) goes back to the bot."""
        match, state = t.match, t.state
        command = match.rule is not None and match.intent in COMMAND_INTENTS
        if match.intent in ("stop", "forget") and match.rule is not None:
            reply = HANDLERS[match.intent](self, t)
            return reply._replace(actions=(*reply.actions, Action("forget")))
        if state.case:
            if command and match.intent == "menu":
                reply = _menu(self, t)
                return reply._replace(actions=(Action("leave"),))
            return Reply(None, RELAY, t.locale, t.kept(), (Action("relay", t.text),))
        said_yes = " ".join(normalise(t.text)) in self.yes
        if state.wait.startswith("callback") and said_yes:
            topic = state.wait.partition(":")[2] or "general"
            text = t._("Sent (case {code}): a volunteer will call this number.")
            line, _ = self.hours_line(t.locale, t.now)
            text = self.fill(f"{text} {line} " + t._("Urgent? Call {hotline_name} "
                                                     "({hotline})."), code="{code}")
            return Reply(text, "callback", t.locale, t.kept(),
                         (Action("callback", topic), Action("wait")))
        if state.wait == "contact" and said_yes:
            text = t._("Thank you: a volunteer may contact you at this number (case "
                       "{code}).")
            return Reply(text, "report", t.locale, t.kept(),
                         (Action("contact"), Action("wait")))
        if state.wait == "report" and match.rule is None and not said_yes:
            text = t._("Thank you: sent to the rapid response team (case {code}), without "
                       "your number. Keep a safe distance. Do not share reports nobody has "
                       "checked. Reply YES if a volunteer may contact you at this number.")
            return Reply(text, "report", t.locale, t.kept(),
                         (Action("report", t.text), Action("wait", "contact")))
        return None

    def language_of(self, text: str) -> str:
        """The language a message is written in, from its own words alone (no store):
        for replies that must go out when nothing else can be read, such as faults."""
        locale = self.matcher.match(text).locale
        return locale if locale in self.catalogs else self.default

    def _format(self, channel: Channel, text: str, locale: str | None = None) -> str:
        if channel.bold:
            bold = channel.bold.format
            text = self._digit_lines.sub(lambda m: bold(m.group(1)) + " ", text)
            text = _CAPS.sub(lambda m: bold(m.group(1)) if m.group(1) in self.commands
                             else m.group(1), text)
        if channel.sms and (locale in self.gsm7_locales or self.gsm7 and locale is None):
            text = sms.to_gsm7(text)
        return text

    # -- texts every handler may need -------------------------------------------------
    def fill(self, template: str, **extra: str) -> str:
        return template.format(**self.facts, **extra)

    def menu(self, locale: str) -> str:
        return self.menus[locale]

    def more(self, locale: str) -> str:
        return self.mores[locale]

    def _topics(self, locale: str, digits: list[str]) -> list[str]:
        texts = self.content.locales[locale].texts
        return [f"{d} {texts[self.content.menu[d]].title}" for d in digits
                if self.content.menu[d] in texts and texts[self.content.menu[d]].title]

    def _menu_text(self, locale: str) -> str:
        _ = self.catalogs[locale].gettext
        loc = self.content.locales[locale]
        lines = [self.fill(_("{service}. Reply with a number:"), service=loc.service)]
        lines += self._topics(locale, [d for d in self.content.menu
                                       if d not in self.content.more])
        if self.content.more:
            lines.append(_("MORE: other topics"))
        lines.append(self.fill(_("Urgent? Call {hotline_name} ({hotline}).")))
        end = _("Text STOP to stop. Msg & data rates may apply.")
        return "\n".join(lines + self._menu_switches(locale, "\n".join(lines + [end]))
                         + [end])

    def _menu_switches(self, locale: str, menu: str) -> list[str]:
        """The other live languages' switch lines, each in its own words, as many as keep
        the menu in its encoding (one Chinese line would make an English menu UCS-2,
        half the characters per part) and within its budget; the rest behind one line in
        the menu's language: "Other languages: text LANGUAGE"."""
        encoding = self.content.locales[locale].sms_encoding
        plain = sms.is_gsm7(sms_form(menu, encoding))
        lines, left = [], []
        for line in self.switch_lines(exclude=locale):
            sent = sms_form(line, encoding)  # as it travels: Polish folds its diacritics
            if folding_loses(line) and sent != line:
                left.append(line)  # folding would erase it ("中文" -> "")
            elif sms.is_gsm7(sent) or not plain:
                lines.append(line)
            else:
                left.append(line)
        others = self._other_languages(locale)
        while True:
            shown = lines + ([others] if left and others else [])
            if sms.segments(sms_form("\n".join([menu, *shown]), encoding)
                            ).count <= sms.MAX_SEGMENTS:
                return shown
            if not lines:  # not even that line fits: LANGUAGE still works
                return []
            left.append(lines.pop())

    def _other_languages(self, locale: str) -> str | None:
        words = self.content.locales[locale].commands.get("language")
        if not words:
            return None
        return self.catalogs[locale].gettext("Other languages: text {keyword}").format(
            keyword=words[0].upper())

    def _more_text(self, locale: str) -> str:
        """The menu's second page: the topics on it, and the way back."""
        _ = self.catalogs[locale].gettext
        lines = [_("More topics. Reply with a number:")]
        lines += self._topics(locale, list(self.content.more))
        back = next((d for d, i in self.content.menu.items() if i == "menu"), None)
        if back:
            lines.append(_("{digit} The first topics").format(digit=back))
        lines.append(self.fill(_("Urgent? Call {hotline_name} ({hotline}).")))
        return "\n".join(lines)

    # -- when a person answers the hotline --------------------------------------------
    def hours_line(self, locale: str, now: dt.datetime) -> tuple[str, bool]:
        """What is true at `now` of the hotline's hours (facts.yaml), in the sender's
        language, and whether a person answers now. Never promises a person at an hour
        the hours do not give."""
        hours, _ = self.content.hours, self.catalogs[locale].gettext
        if hours is None or not hours.spans.get(locale):
            return "", False
        if hours.always(locale):
            return _("A person answers the hotline at any hour."), True
        if hours.open_at(locale, now):
            close = hours.closes(locale, now)
            return _("A person answers the hotline until {time}.").format(
                time=self._clock(close, locale)), True
        opens = hours.next_open(locale, now)
        if opens is None:
            return "", False
        today = hours.local(now).date()
        if opens.date() == today:
            day = _("today")
        elif opens.date() == today + dt.timedelta(days=1):
            day = _("tomorrow")
        else:
            day = _("on {weekday}").format(weekday=format_date(opens, "EEEE", locale=locale))
        return _("A person answers the hotline from {time} {day}.").format(
            time=self._clock(opens, locale), day=day), False

    @staticmethod
    def _clock(at: dt.datetime | None, locale: str) -> str:
        if at is None:
            return ""
        return format_time(at, "short", locale=locale).replace("\u202f", " ")

    def with_hours(self, text: str, locale: str, now: dt.datetime, until: str) -> str:
        """A reply that says "call", with when a person answers and, when nobody does
        now, what to do until then (`until`)."""
        line, answering = self.hours_line(locale, now)
        if not line:
            return text
        return f"{text}\n{line}" if answering else f"{text}\n{line} {until}".rstrip()

    def sample_times(self) -> list[dt.datetime]:
        """Every hour of one week: what `helpline check` measures hours-aware replies at."""
        start = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)  # a Monday
        return [start + dt.timedelta(minutes=30 * i) for i in range(7 * 48)]

    def help_text(self, locale: str) -> str:
        """The HELP reply carriers ask for: who runs the line and how to reach them, how
        often we text, that rates may apply, how to stop; and the hotline."""
        return self.fill(self.catalogs[locale].gettext(
            "{org_name}: Know Your Rights info. Support: {support_contact}. We reply only "
            "when you text (msg frequency varies). Msg & data rates may apply. Text MENU "
            "for topics, STOP to stop. Urgent? Call {hotline}."))

    def stop_text(self, locale: str) -> str:
        """The one opt-out confirmation, sent only under HELPLINE_CONFIRM_STOP."""
        return self.fill(self.catalogs[locale].gettext(
            "{org_name}: you are unsubscribed and will get no more messages. Text START "
            "to get replies again. Urgent? Call {hotline}."))

    def switch_lines(self, exclude: str | None = None) -> list[str]:
        """'Español: escriba ESPAÑOL', each in its own language, from CLDR names."""
        out = []
        for code in self.codes:
            if code != exclude:
                name = i18n.language_name(code)
                template = self.catalogs[code].gettext("{language}: reply {keyword}")
                out.append(template.format(language=name, keyword=name.upper()))
        return out

    def error_text(self, locale: str | None) -> str:
        """The apology sent when anything fails inside: always with the hotline."""
        _ = self.catalogs.get(locale or self.default, gettext.NullTranslations()).gettext
        return self.fill(_("Sorry, something went wrong. For help now, call "
                           "{hotline_name} ({hotline})."))

    def all_replies(self) -> list[tuple[str, str, str]]:
        """(name, locale, text) for every reply the bot can send: for `helpline check`."""
        out = []
        for code in self.codes:
            _ = self.catalogs[code].gettext
            for intent in CONTENT_INTENTS:
                out.append((intent, code, self._longest(
                    code, lambda now, i=intent: _reviewed(self, _Turn(
                        Match(i, code), code, State(code), _, now=now)).text or "")))
            for name, intent, target in (("menu", "menu", None), ("more", "more", None),
                                         ("unknown", "unknown", None),
                                         ("forget", "forget", None),
                                         ("language", "language", code),
                                         ("language?", "language", None)):
                match = Match(intent, code, target)
                out.append((name, code, self._longest(code, lambda now, m=match: HANDLERS[
                    m.intent](self, _Turn(m, code, State(code), _, now=now)).text or "")))
            out += [(name, code, text) for name, text in self._handoff_texts(code)]
            out.append(("help", code, self.help_text(code)))
            out.append(("stop", code, self.stop_text(code)))
            out.append(("error", code, self.error_text(code)))
        return out

    def _handoff_texts(self, code: str) -> list[tuple[str, str]]:
        """The call-back and report replies as they are with a handoff on (whether or not
        it is here), with the longest topic and a case code: for the segment budget."""
        _, out = self.catalogs[code].gettext, []
        texts = self.content.locales[code].texts
        longest = max((texts[i].title or "" for i in CONTENT_INTENTS if i in texts), key=len)
        for name, intent, wait, said in (
                ("callback?", "callback", None, "call me"),
                ("callback!", "callback", "callback", "yes"),
                ("report+", "report", None, "report"),
                ("report!", "report", "report", "agents"),
                ("contact!", "report", "contact", "yes")):
            def reply(now: dt.datetime, intent=intent, wait=wait, said=said) -> str:
                t = _Turn(Match(intent, code), code, State(code, wait=wait), _, code,
                          now=now, text=said, handoff=True)
                got = self._handoff(t) if wait else HANDLERS[intent](self, t)
                text = (got.text or "") if got else ""
                return text.replace(_("a call-back"), longest).replace("{code}", "XXXX")
            out.append((name, self._longest(code, reply)))
        return out

    def _longest(self, code: str, reply: Callable[[dt.datetime], str]) -> str:
        """The costliest of a reply's texts over a week (hours-aware replies differ)."""
        texts = {reply(now) for now in self.sample_times()}
        return max(sorted(texts), key=lambda t: (sms.segments(t).count,
                                                 sms.segments(t).units))


# -- handlers: one small function per intent that is more than its reviewed reply ------
def _reviewed(bot: Helpline, t: _Turn) -> Reply:
    entry = bot.content.locales[t.locale].texts[t.match.intent]
    text = entry.reply
    if entry.when_closed is not None:  # it says call: say when a person answers
        text = bot.with_hours(text, t.locale, t.now, entry.when_closed)
    return Reply(text, t.match.intent, t.locale, State(t.keep, t.state.opted_out))


def _menu(bot: Helpline, t: _Turn) -> Reply:
    # HELP or INFO as the whole message: counted as the menu, answered as carriers ask.
    help_reply = t.carrier and t.match.rule == HELP_RULE
    text = bot.help_text(t.locale) if help_reply else bot.menu(t.locale)
    return Reply(text, t.match.intent, t.locale, State(t.keep, t.state.opted_out))


def _more(bot: Helpline, t: _Turn) -> Reply:
    return Reply(bot.more(t.locale), "more", t.locale, State(t.keep, t.state.opted_out))


def _unknown(bot: Helpline, t: _Turn) -> Reply:
    text = bot.fill(t._("Sorry, I did not understand. Text MENU for the options, or call "
                        "{hotline_name} ({hotline})."))
    text = bot.with_hours(text, t.locale, t.now, t._("Until then, text MENU for what to "
                                                     "do now."))
    return Reply(text, "unknown", t.locale, State(t.keep, t.state.opted_out))


def _language(bot: Helpline, t: _Turn) -> Reply:
    target = t.match.target
    if target is None:  # "idioma?", "language": offer the choice, each in its own words
        text = "\n".join(bot.switch_lines())
        return Reply(text, "language", t.locale, t.state)
    _ = bot.catalogs[target].gettext
    text = bot.fill(_("OK, I will answer in {language}. Text MENU for the options."),
                    language=Locale.parse(target).get_language_name(target) or target)
    return Reply(text, "language", target, State(target, t.state.opted_out))


def _stop(bot: Helpline, t: _Turn) -> Reply:
    # The carrier (or Twilio) confirms the opt-out itself, so we send nothing, now or
    # later; a number without Twilio's opt-out handling gets our one confirmation. (An
    # opted-out sender's STOP never reaches here: nothing is sent to them but for START.)
    text = bot.stop_text(t.locale) if bot.confirm_stop else None
    return Reply(text, "stop", t.locale, State(t.state.locale, True))


def _start(bot: Helpline, t: _Turn) -> Reply:
    # The opt-in confirmation: the HELP reply (organisation, rates, how to stop); on the
    # web page, where no carrier stands between, the menu.
    text = bot.help_text(t.locale) if t.carrier else bot.menu(t.locale)
    return Reply(text, "start", t.locale, State(t.keep, False))


def _forget(bot: Helpline, t: _Turn) -> Reply:
    text = bot.fill(t._("Done: we deleted what this service kept about you (your language "
                        "choice). We never keep your messages. Hotline: {hotline}"))
    return Reply(text, "forget", t.locale, None)


def _callback(bot: Helpline, t: _Turn) -> Reply:
    """Asking to be phoned: what would be shared, and a yes asked for (10 minutes)."""
    if not t.handoff:  # nobody to alert, or no number to call back (the web page)
        text = bot.fill(t._("We cannot arrange a call from here. Please call "
                            "{hotline_name} ({hotline})."))
        text = bot.with_hours(text, t.locale, t.now, t._("Until then, text MENU for what "
                                                         "to do now."))
        return Reply(text, "callback", t.locale, t.kept())
    topic = bot.matcher.topic(t.text)
    texts = bot.content.locales[t.locale].texts
    name = texts[topic].title if topic in texts and texts[topic].title else None
    text = bot.fill(t._(
        "A hotline volunteer can call you back. We would share only this number, the topic "
        "({topic}) and your language ({language}). Reply YES to be called. Nothing is sent "
        "without it; this offer ends in 10 minutes."),
        topic=name or t._("a call-back"), language=i18n.language_name(t.locale))
    return Reply(text, "callback", t.locale, t.kept(),
                 (Action("wait", f"callback:{topic or 'general'}"),))


def _report(bot: Helpline, t: _Turn) -> Reply:
    """A report: the reviewed reply and, when someone can be reached, an intake: their
    next text is relayed to the rapid response team."""
    reply = _reviewed(bot, t)
    if not t.handoff:
        return reply
    text = reply.text + "\n" + t._("Reply with what you see, in one text: we pass it to "
                                   "the rapid response team, without your number.")
    return reply._replace(text=text, actions=(Action("wait", "report"),))


HANDLERS: dict[str, Callable[[Helpline, _Turn], Reply]] = {
    "callback": _callback,
    "report": _report,
    "menu": _menu,
    "more": _more,
    "unknown": _unknown,
    "language": _language,
    "stop": _stop,
    "start": _start,
    "forget": _forget,
}
