"""A person when it matters: the adapter side of call-backs, reports and two-way texts.

`respond()` decides (bot.conversation: a yes asked for, a report's details awaited, a
texter's words to relay) and returns Actions; this module does them, with the sealed case
records (bot.cases) and the senders (bot.alerts):

- callback: a case with the texter's consent; the responders get its code, the topic,
  the language and the number.
- report: the texter's words, relayed at once with a case code and the time to the
  minute, without their number; a later yes (contact) sends the number too. A surge of
  reports (HELPLINE_SURGE_REPORTS in 10 minutes) alerts the operator once.
- A responder (HELPLINE_RESPONDERS) texts `#CODE words` to the helpline number: the words
  go to the texter, and the texter's next texts go to that responder, until `#CODE
  close`, the texter's MENU, STOP or FORGET, or HELPLINE_CASE_IDLE_HOURS of quiet.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from . import i18n
from .alerts import Alert, Dispatch, SendError
from .cases import Case, Cases, Responders
from .conversation import Action, Helpline, Reply, State
from .store import Store

log = logging.getLogger(__name__)
SURGE_WINDOW = 10 * 60  # seconds
CALLBACK_EVERY = 60 * 60  # one call-back request per sender per hour
RESPONDER = re.compile(r"^\s*#\s*([A-Za-z0-9]{4})\b[\s:,.-]*(.*)$", re.DOTALL)
CLOSE_WORDS = frozenset({"close", "closed", "done", "end"})


class Outcome(NamedTuple):
    text: str | None  # what the texter gets back now
    state: State | None


@dataclass
class Handoff:
    bot: Helpline
    store: Store
    cases: Cases
    responders: Responders
    dispatch: Dispatch
    surge: int  # reports in SURGE_WINDOW that alert the operator once

    # -- before respond(): what the bot waits for, and a case a responder has taken ----
    def state(self, sender: str, state: State | None) -> State | None:
        waiting = self.cases.waiting(sender)
        case = self.cases.of_sender(sender)
        if not waiting and not (case and case.responder):
            return state
        return (state or State())._replace(
            wait=waiting.get("what") if waiting else None,
            case=case.code if case and case.responder else None)

    # -- after respond(): do what the reply asks -------------------------------------
    def perform(self, reply: Reply, sender: str, number: str, via: str,
                now: dt.datetime | None = None) -> str | None:
        """Do the reply's actions; the text to send the texter (the case code filled in,
        or, when no one could be reached, the hotline in their language)."""
        text, locale = reply.text, reply.locale
        now = now or dt.datetime.now(dt.timezone.utc)
        for action in reply.actions:
            kind = action.kind
            if kind == "wait":
                if action.value:
                    self.cases.wait(sender, {"what": action.value})
                else:
                    self.cases.stop_waiting(sender)
            elif kind == "forget":
                case = self.cases.forget(sender)
                if case and case.responder:
                    self._tell_responder(case, f"[{case.code}] The texter stopped; the "
                                         "case is closed and its number deleted.")
            elif kind == "callback":
                text = self._callback(sender, number, via, locale, action.value or "",
                                      text or "", now)
            elif kind == "report":
                text = self._report(sender, number, via, locale, action.value or "",
                                    text or "", now)
            elif kind == "contact":
                text = self._contact(sender, locale, text or "")
            elif kind == "relay":
                self._relay_from_texter(sender, action.value or "")
            elif kind == "leave":
                case = self.cases.of_sender(sender)
                if case is not None:
                    self._tell_responder(case, f"[{case.code}] The texter went back to the "
                                         "bot; the case is closed.")
                    self.cases.close(case)
        return text

    def _callback(self, sender: str, number: str, via: str, locale: str, topic: str,
                  text: str, now: dt.datetime) -> str:
        if self.store.hit(f"callback:{sender}", CALLBACK_EVERY) > 1:
            return self._say(locale, lambda _: _(
                "You asked for a call less than an hour ago: a volunteer has it. Urgent? "
                "Call {hotline_name} ({hotline})."))
        case = self.cases.open(number, via, sender, locale, topic, consent=True)
        alert = Alert("callback", case.code,
                      f"HELPLINE call-back {case.code}: please call {_bare(number)}. "
                      f"Topic: {self._topic(topic)}. Language: {_language(locale)}. "
                      f"Text #{case.code} <words> to text them, #{case.code} close to close.",
                      {"number": _bare(number), "topic": topic, "language": locale,
                       "at": self._minute(now)})
        return self._send(alert, via, case, locale, text)

    def _report(self, sender: str, number: str, via: str, locale: str, words: str,
                text: str, now: dt.datetime) -> str:
        case = self.cases.open(number, via, sender, locale, "report", consent=False)
        alert = Alert("report", case.code,
                      f"HELPLINE report {case.code} at {self._minute(now)}: \"{words.strip()}\" "
                      f"Language: {_language(locale)}. Number not shared. Text "
                      f"#{case.code} <words> to ask them.",
                      {"report": words.strip(), "language": locale, "at": self._minute(now)})
        text = self._send(alert, via, case, locale, text)
        if self.store.hit("reports", SURGE_WINDOW) == self.surge:
            try:
                self.dispatch.alert(Alert(
                    "surge", None, f"HELPLINE: {self.surge} reports in "
                    f"{SURGE_WINDOW // 60} minutes. Verify before acting or sharing: "
                    "false reports come in floods.",
                    {"reports": self.surge, "minutes": SURGE_WINDOW // 60}), via)
            except SendError:
                pass
        return text

    def _contact(self, sender: str, locale: str, text: str) -> str:
        case = self.cases.of_sender(sender)
        if case is None:
            return self._say(locale, lambda _: _(
                "Sorry, that report is closed. Urgent? Call {hotline_name} ({hotline})."))
        case = self.cases.update(case, consent=True)
        alert = Alert("contact", case.code,
                      f"HELPLINE report {case.code}: the reporter may be contacted at "
                      f"{_bare(case.number)}.", {"number": _bare(case.number)})
        return self._send(alert, case.via, case, locale, text)

    def _send(self, alert: Alert, via: str, case: Case, locale: str, text: str) -> str:
        try:
            self.dispatch.alert(alert, via)
        except SendError:
            self.cases.close(case)  # nobody has it: keep nothing
            return self._say(locale, lambda _: _(
                "Sorry, we could not reach a volunteer just now. Please call "
                "{hotline_name} ({hotline})."))
        return text.replace("{code}", case.code)

    def _say(self, locale: str, message: Callable[[Callable[[str], str]], str]) -> str:
        """Interface text in the texter's language (`message` calls `_` on a literal, so
        the extractor finds it)."""
        return self.bot.fill(message(self.bot.catalogs[locale].gettext))

    def _minute(self, now: dt.datetime) -> str:
        """The time to the minute, in the hotline's time zone (facts.yaml)."""
        hours = self.bot.content.hours
        local = hours.local(now) if hours is not None else now.astimezone(dt.timezone.utc)
        return local.strftime("%Y-%m-%d %H:%M %Z")

    def _topic(self, topic: str) -> str:
        texts = self.bot.content.locales[self.bot.default].texts
        return texts[topic].title or topic if topic in texts else "general"

    def _relay_from_texter(self, sender: str, words: str) -> None:
        case = self.cases.of_sender(sender)
        if case is None or not case.responder:
            return
        shown = f" ({_bare(case.number)})" if case.consent else ""
        self._tell_responder(case, f"[{case.code}]{shown} {words.strip()}")
        self.cases.touch(case)

    def _tell_responder(self, case: Case, body: str) -> None:
        number = self.responders.number(case.responder or "")
        if number:
            try:
                self.dispatch.text(number, body, case.via.removeprefix("whatsapp:"))
            except SendError as err:
                log.error("relay to a responder failed (%s)", err)

    # -- a responder's text ---------------------------------------------------------
    def from_responder(self, mark: str, body: str) -> str:
        """`#CODE words` or `#CODE close` from a responder: the reply to them."""
        found = RESPONDER.match(body)
        if not found:
            return ("To text a case: #CODE your words. To close it: #CODE close. "
                    "Codes come in the alerts.")
        code, words = found.group(1).upper(), found.group(2).strip()
        case = self.cases.get(code)
        if case is None:
            return f"No open case {code} (closed, expired or never opened)."
        if case.responder and case.responder != mark:
            return f"Case {code} is taken by another responder."
        _ = self.bot.catalogs.get(case.locale, self.bot.catalogs[self.bot.default]).gettext
        if words.lower().rstrip(".!") in CLOSE_WORDS:
            if case.responder:
                self._to_texter(case, self.bot.fill(_(
                    "The volunteer ended this chat. Text MENU for topics. Urgent? Call "
                    "{hotline_name} ({hotline}).")))
            self.cases.close(case)
            return f"Case {code} closed; its number is deleted."
        if not words:
            return f"Case {code}: add your words after the code."
        first = case.responder is None
        case = self.cases.update(case, responder=mark)
        if first:
            text = _("Volunteer (case {code}): {words}\nReply here to answer them. MENU: "
                     "back to the bot. STOP: no more texts.").format(code=code, words=words)
        else:
            text = _("Volunteer ({code}): {words}").format(code=code, words=words)
        if not self._to_texter(case, text):
            return f"Case {code}: the text could not be sent. Try again, or call them."
        shown = f" to {_bare(case.number)}" if case.consent else ""
        return f"Sent{shown} (case {code}, {_language(case.locale)})."

    def _to_texter(self, case: Case, text: str) -> bool:
        try:
            self.dispatch.text(case.number, self.bot.formats[
                "whatsapp" if case.number.startswith("whatsapp:") else "sms"](
                    text, case.locale), case.via)
            return True
        except SendError as err:
            log.error("relay to a texter failed (%s)", err)
            return False


def _bare(number: str) -> str:
    return number.removeprefix("whatsapp:")


def _language(code: str) -> str:
    return i18n.language_name(code, "en")

