"""Load and validate the reviewed content (YAML) into frozen dataclasses.

Content is what advocates write and review: replies, sources, review dates, the words of the exact rules, labelled examples.
Everything is checked once at start-up; a problem names the file and the key.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from . import sms
from .decide import Thresholds

# The fixed intent ids: tests, tools and the eval set use them.
INTENTS = (
    "menu", "rights", "silent", "walk_away", "search", "door", "sign", "lawyer", "police",
    "record", "hotline", "callback", "report", "detained", "language", "stop", "start", "privacy",
    "forget", "thanks", "checkin", "phone", "plan", "court", "proof", "more", "unknown",
)
# Intents whose reply text is interface text (gettext catalogs), not reviewed content.
CATALOG_INTENTS = frozenset({"menu", "more", "language", "stop", "start", "forget",
                             "unknown", "callback"})
CONTENT_INTENTS = tuple(i for i in INTENTS if i not in CATALOG_INTENTS)
# Intents a whole-message command word may ask for (rules.yaml `commands`).
COMMAND_INTENTS = frozenset({"menu", "more", "stop", "start", "forget", "language"})
# Carrier opt-out and opt-in words: they act when they are the whole message. The opt-out
# words are the ones US carriers, the FCC's 2025 rule and Twilio's defaults count (REVOKE
# and OPTOUT included); two-word forms are written with one space, as normalised.
CARRIER_WORDS = MappingProxyType({
    "stop": "stop", "stopall": "stop", "unsubscribe": "stop", "cancel": "stop",
    "end": "stop", "quit": "stop", "revoke": "stop", "optout": "stop",
    "stop all": "stop", "opt out": "stop",
    "start": "start", "unstop": "start",
})
# Words that ask for the HELP reply (organisation, contact, rates, how to stop) when they
# are the whole message, as carriers test it; and the word that opts a sender back in
# only when they are opted out (Twilio's default: YES), so "yes" stays an ordinary word.
HELP_WORDS = frozenset({"help", "info"})
OPT_IN_IF_OPTED_OUT = frozenset({"yes"})


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (the C parser when libyaml is there) that refuses a key given twice in
    one mapping: YAML would silently keep the last, and a reviewer's edit would vanish."""

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
FACTS_FILE = "facts.yaml"
REPLIES_FILE = "replies.yaml"
RULES_FILE = "rules.yaml"
EXAMPLES_FILE = "examples.yaml"
HELDBACK_FILE = "heldback.yaml"
THRESHOLDS_FILE = "understanding.yaml"
VOICE_FILE = "voice.yaml"
# A spoken summary must be heard through before the call is put through: about 45
# seconds of speech, in sentences a frightened caller can follow.
VOICE_MAX_CHARS = 700
VOICE_MAX_WORDS = 20  # per sentence
_URL = re.compile(r"https?://|www\.|/|\b[\w-]+\.(?:org|gov|com|net|edu|us|info)\b", re.I)
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{6,}$")
_SAY_LANGUAGE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")


class ContentError(Exception):
    """Content that cannot be served; `problems` lists each as 'file: key: what'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid content:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Fact:
    value: str
    what: str
    source: str
    reviewed: dt.date


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
DAY_GROUPS = {"daily": DAYS, "weekdays": DAYS[:5], "weekends": DAYS[5:]}


@dataclass(frozen=True)
class Span:
    """When a person answers, on some days of the week: `start` to `end` local time
    (`end` None: until midnight)."""

    days: frozenset[int]  # 0 Monday ... 6 Sunday
    start: dt.time
    end: dt.time | None


@dataclass(frozen=True)
class Hours:
    """When people answer the hotline, per locale, in the hotline's time zone (facts.yaml
    `hotline_hours`). `confirmed`: the day the operator confirmed them with the hotline;
    None while they are only what the newest source said (`helpline check` warns)."""

    zone: ZoneInfo
    spans: Mapping[str, tuple[Span, ...]]
    confirmed: dt.date | None = None
    source: str = ""
    note: str = ""

    def local(self, now: dt.datetime) -> dt.datetime:
        if now.tzinfo is None:
            raise ValueError("the time must be aware (with a time zone)")
        return now.astimezone(self.zone)

    def always(self, locale: str) -> bool:
        """Open every minute of every day: only then may a reply promise a person now."""
        return any(s.days == frozenset(range(7)) and s.start == dt.time(0) and s.end is None
                   for s in self.spans.get(locale, ()))

    def open_at(self, locale: str, now: dt.datetime) -> bool:
        local = self.local(now)
        return any(local.weekday() in s.days and s.start <= local.time()
                   and (s.end is None or local.time() < s.end)
                   for s in self.spans.get(locale, ()))

    def closes(self, locale: str, now: dt.datetime) -> dt.datetime | None:
        """When the span open at `now` ends (None: open round the clock, or closed)."""
        local = self.local(now)
        for s in self.spans.get(locale, ()):
            if local.weekday() in s.days and s.start <= local.time() and \
                    (s.end is None or local.time() < s.end):
                if s.end is None:
                    return None if self.always(locale) else local.replace(
                        hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
                return local.replace(hour=s.end.hour, minute=s.end.minute, second=0,
                                     microsecond=0)
        return None

    def next_open(self, locale: str, now: dt.datetime) -> dt.datetime | None:
        """The next time a person answers, after `now` (local time); None: never."""
        local = self.local(now)
        for ahead in range(8):
            day = (local + dt.timedelta(days=ahead)).date()
            starts = sorted(s.start for s in self.spans.get(locale, ())
                            if day.weekday() in s.days)
            for start in starts:
                at = dt.datetime.combine(day, start, self.zone)
                if at > local:
                    return at
        return None


@dataclass(frozen=True)
class Text:
    """One intent's reviewed reply in one locale, placeholders already filled."""

    reply: str
    title: str | None
    sources: tuple[str, ...]
    reviewed: dt.date | None  # None: no person has reviewed this wording yet
    reviewer: str | None = None  # who reviewed it: a role ("immigration attorney")
    # When the reply tells people to call: what to do until a person answers the
    # hotline (the hours line comes before it). None: the reply names no call.
    when_closed: str | None = None
    note: str | None = None  # what a reviewer must know ("drafted from en and es ...")
    # `reply_when_redacting`, when given, replaces `reply` while the bot deletes Twilio's
    # copy of messages (HELPLINE_REDACT_MINUTES): the privacy reply says what is true.


class Example(NamedTuple):
    """A labelled text: `intents[0]` is what it means; in held-back texts, the others
    are acceptable too. `locale` None: the text alone does not tell ("4", "ok")."""

    text: str
    intents: tuple[str, ...]
    locale: str | None


@dataclass(frozen=True)
class Voice:
    """One locale's spoken summary for callers, phone numbers already in spoken form."""

    language: str  # what <Say language> takes: en-US, es-US
    voice: str  # a text-to-speech voice that speaks that language: Polly.Joanna
    summary: str
    sources: tuple[str, ...]
    reviewed: dt.date | None
    reviewer: str | None = None


@dataclass(frozen=True)
class LocaleContent:
    code: str
    service: str
    texts: Mapping[str, Text]
    commands: Mapping[str, tuple[str, ...]]  # whole-message command words: "menu", "borrar"
    fillers: tuple[str, ...]  # words that may stand beside a command or a language name
    abbreviations: Mapping[str, str]
    stopwords: frozenset[str]  # everyday words: they help tell the language
    language_names: tuple[str, ...]
    numbers: Mapping[str, str]  # number words for the menu: "uno" -> "1"
    negations: frozenset[str]  # "no", "not": "no hablo inglés" asks for no English
    menu_words: frozenset[str]  # words that may stand beside a menu digit: "opción 4"
    yes: tuple[str, ...] = ()  # a yes to a question the bot asked ("sí", "tak"): consent
    voice: Voice | None = None  # the spoken summary (voice.yaml); the loader requires it
    # replies.yaml `sms_encoding: gsm7`: this language is texted without its diacritics
    # (Polish as most Polish SMS are: "Nie otwieraj drzwi", 612 characters in 4 parts
    # instead of 268); the web page still shows them. "auto": as written.
    sms_encoding: str = "auto"


@dataclass(frozen=True)
class Content:
    directory: Path
    facts: Mapping[str, Fact]
    menu: Mapping[str, str]  # every digit: the first page's and the second's
    locales: Mapping[str, LocaleContent] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()  # what the model learns from
    heldback: tuple[Example, ...] = ()  # what measures it: never trained on
    thresholds: Thresholds = Thresholds()
    settings: Mapping[str, str] = field(default_factory=dict)  # {org_name}, {retention_days}
    more: tuple[str, ...] = ()  # the digits on the menu's second page ("more topics")
    hours: Hours | None = None  # when a person answers the hotline

    @property
    def values(self) -> dict[str, str]:
        """What a text may name in braces: the settings, then the facts."""
        return {**self.settings, **{name: fact.value for name, fact in self.facts.items()}}


class _Problems(list):
    def add(self, file: str, key: str, what: str) -> None:
        self.append(f"{file}: {key}: {what}")


def _read(path: Path, problems: _Problems) -> dict:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except FileNotFoundError:
        problems.add(str(path), "-", "file is missing")
        return {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        problems.add(str(path), "-", f"not valid YAML: {err}".replace("\n", " "))
        return {}
    if not isinstance(data, dict):
        problems.add(str(path), "-", "must be a mapping at the top level")
        return {}
    return data


def _date(value: object, file: str, key: str, problems: _Problems) -> dt.date:
    if isinstance(value, dt.date):
        return value
    problems.add(file, key, f"reviewed must be a date like 2026-11-28, not {value!r}")
    return dt.date.min


def _review(raw: Mapping, file: str, key: str, problems: _Problems
            ) -> tuple[dt.date | None, str | None]:
    """`reviewed` (a date, or null: no person has reviewed it yet) and `reviewer` (who
    did: a role, e.g. "immigration attorney, ICIRR partner")."""
    key = f"{key}." if key else ""
    if "reviewed" not in raw:
        problems.add(file, f"{key}reviewed", "say when a person last reviewed it (a date "
                     "like 2026-11-28), or null if nobody has yet")
        return None, None
    value, reviewer = raw.get("reviewed"), raw.get("reviewer")
    reviewer = str(reviewer).strip() if reviewer is not None else None
    if value is None:
        if reviewer:
            problems.add(file, f"{key}reviewer", "a reviewer without a date: give "
                         "`reviewed` the day they reviewed it")
        return None, None
    # A date with no reviewer recorded (older content) loads; `helpline check` asks who.
    return _date(value, file, f"{key}reviewed", problems), reviewer or None


def _time(value: object, file: str, key: str, problems: _Problems) -> dt.time | None:
    """'06:00' -> 6:00; '24:00' -> None (midnight, the end of the day)."""
    text = str(value or "")
    match = re.fullmatch(r"([01]?\d|2[0-4]):([0-5]\d)", text)
    if not match or (match[1] == "24" and match[2] != "00"):
        problems.add(file, key, f"a time like 06:00 or 21:30 (24:00 for midnight), "
                     f"not {value!r}: quote it")
        return dt.time(0)
    return None if match[1] == "24" else dt.time(int(match[1]), int(match[2]))


def _load_hours(raw: object, name: str, problems: _Problems) -> Hours | None:
    """facts.yaml `hotline_hours`: the time zone, and per locale the spans when a
    person answers."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add(name, "hotline_hours", "a mapping: time_zone, confirmed, languages")
        return None
    try:
        zone = ZoneInfo(str(raw.get("time_zone") or ""))
    except (ZoneInfoNotFoundError, ValueError):
        problems.add(name, "hotline_hours.time_zone", "an IANA time zone like "
                     f"America/Chicago, not {raw.get('time_zone')!r}")
        return None
    confirmed = raw.get("confirmed")
    if confirmed is not None and not isinstance(confirmed, dt.date):
        problems.add(name, "hotline_hours.confirmed", "the date the hotline confirmed these "
                     f"hours (2026-12-01), or null until then, not {confirmed!r}")
        confirmed = None
    spans: dict[str, tuple[Span, ...]] = {}
    for code, items in (raw.get("languages") or {}).items():
        out = []
        for i, item in enumerate(items if isinstance(items, list) else [items]):
            key = f"hotline_hours.languages.{code}[{i}]"
            if not isinstance(item, dict):
                problems.add(name, key, "a mapping: days, from, to")
                continue
            days = item.get("days")
            names = DAY_GROUPS.get(days, ()) if isinstance(days, str) else days or ()
            bad = [d for d in names if d not in DAYS]
            if not names or bad:
                problems.add(name, f"{key}.days", "daily, weekdays, weekends or a list of "
                             f"{', '.join(DAYS)}, not {days!r}")
            start = _time(item.get("from"), name, f"{key}.from", problems) or dt.time(0)
            end = _time(item.get("to"), name, f"{key}.to", problems)
            if end is not None and end <= start:
                problems.add(name, f"{key}.to", "must be later than `from` (24:00 for "
                             "midnight)")
            out.append(Span(frozenset(DAYS.index(d) for d in names if d in DAYS), start, end))
        spans[str(code)] = tuple(out)
    return Hours(zone, MappingProxyType(spans), confirmed, str(raw.get("source") or ""),
                 " ".join(str(raw.get("note") or "").split()))


def _load_facts(path: Path, problems: _Problems
                ) -> tuple[dict, dict, tuple[str, ...], Hours | None]:
    data, name = _read(path, problems), str(path)
    facts = {}
    for key, raw in (data.get("facts") or {}).items():
        if not isinstance(raw, dict) or not str(raw.get("value", "")).strip():
            problems.add(name, f"facts.{key}", "needs a value")
            continue
        if not raw.get("source"):
            problems.add(name, f"facts.{key}", "needs a source")
        reviewed = _date(raw.get("reviewed"), name, f"facts.{key}.reviewed", problems)
        facts[key] = Fact(str(raw["value"]), str(raw.get("what", "")),
                          str(raw.get("source", "")), reviewed)
    menu = {str(k): v for k, v in (data.get("menu") or {}).items()}
    more = {str(k): v for k, v in (data.get("more_topics") or {}).items()}
    for digit in set(menu) & set(more):
        problems.add(name, f"more_topics.{digit}", "this digit is on the first page too")
    for key, digits in (("menu", menu), ("more_topics", more)):
        for digit, intent in digits.items():
            if intent not in INTENTS:
                problems.add(name, f"{key}.{digit}", f"unknown intent {intent!r}")
            elif not digit.isdigit():
                problems.add(name, f"{key}.{digit}", "menu choices are digits")
    hours = _load_hours(data.get("hotline_hours"), name, problems)
    return facts, {**menu, **more}, tuple(more), hours


def placeholders(text: str) -> set[str]:
    """The {names} a reply or a translation uses."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


# replies.yaml `sms_encoding`: auto (as written; HELPLINE_SMS_ENCODING=gsm7 may fold
# it), gsm7 (always folded: Polish), ucs2 (never folded: a script GSM-7 has no letters
# for, such as Chinese, which folding would erase).
SMS_ENCODINGS = ("auto", "gsm7", "ucs2")


def sms_form(text: str, encoding: str) -> str:
    """A text as an SMS carries it: with `gsm7`, after the GSM-7 stand-ins."""
    return sms.to_gsm7(text) if encoding == "gsm7" else text


def folding_loses(text: str) -> bool:
    """GSM-7 folding would drop letters (not only emoji): Chinese, Arabic, Cyrillic."""
    folded = sms.to_gsm7(text)
    return sum(ch.isalpha() for ch in folded) < sum(ch.isalpha() for ch in text)


def _load_texts(path: Path, values: Mapping[str, str], menu_intents: set[str],
                problems: _Problems) -> tuple[str, dict[str, Text], str]:
    data, name = _read(path, problems), str(path)
    service = str(data.get("service") or "").strip()
    if not service:
        problems.add(name, "service", "the service's name is missing")
    encoding = str(data.get("sms_encoding") or "auto")
    if encoding not in SMS_ENCODINGS:
        problems.add(name, "sms_encoding", f"one of {', '.join(SMS_ENCODINGS)}, not "
                     f"{encoding!r}")
        encoding = "auto"
    raw_intents = data.get("intents") or {}
    texts: dict[str, Text] = {}
    for intent in CONTENT_INTENTS:
        raw, key = raw_intents.get(intent), f"intents.{intent}"
        if not isinstance(raw, dict) or not str(raw.get("reply") or "").strip():
            problems.add(name, key, "reply is missing")
            continue
        if raw.get("reply_when_redacting") is not None:
            # Both versions are checked; the one that is true as configured is served.
            _fill(str(raw["reply_when_redacting"]), values, name,
                  f"{key}.reply_when_redacting", problems, encoding)
            if values.get("redact_minutes"):
                raw = {**raw, "reply": raw["reply_when_redacting"]}
        if raw.get("reply_when_handoff") is not None:
            # Served when a person can be reached (HELPLINE_RESPONDERS or _ALERT_WEBHOOK):
            # the privacy reply then says the case map exists, and for how long.
            _fill(str(raw["reply_when_handoff"]), values, name,
                  f"{key}.reply_when_handoff", problems, encoding)
            if values.get("handoff"):
                raw = {**raw, "reply": raw["reply_when_handoff"]}
        try:
            unknown = placeholders(raw["reply"]) - set(values)
            reply = raw["reply"].strip().format_map(values)
        except (ValueError, IndexError) as err:
            problems.add(name, f"{key}.reply", f"braces are not a placeholder: {err}")
            continue
        except KeyError:
            unknown = placeholders(raw["reply"]) - set(values)
        if unknown:
            problems.add(name, f"{key}.reply", f"unknown fact(s) {sorted(unknown)}")
            continue
        if encoding != "ucs2" and folding_loses(reply):
            problems.add(name, "sms_encoding", f"intents.{intent}: GSM-7 has no letters "
                         "for this script (HELPLINE_SMS_ENCODING=gsm7 would erase them): "
                         "set `sms_encoding: ucs2`")
            encoding = "ucs2"
        segs = sms.segments(sms_form(reply, encoding))
        if segs.count > sms.MAX_SEGMENTS:
            problems.add(name, f"{key}.reply", f"{segs.count} SMS segments ({segs.units} "
                         f"{segs.encoding} units); the limit is {sms.MAX_SEGMENTS}")
        sources = tuple(raw.get("sources") or ())
        if not sources:
            problems.add(name, f"{key}.sources", "list at least one source")
        title = raw.get("title")
        if intent in menu_intents and not title:
            problems.add(name, f"{key}.title", "a menu entry needs a short title")
        reviewed, reviewer = _review(raw, name, key, problems)
        when_closed = None
        if raw.get("when_closed") is not None:
            when_closed = _fill(str(raw["when_closed"]), values, name, f"{key}.when_closed",
                                problems, encoding)
        note = str(raw.get("note") or "").strip() or None
        texts[intent] = Text(reply, title, sources, reviewed, reviewer, when_closed, note)
    for intent in set(raw_intents) - set(CONTENT_INTENTS):
        problems.add(name, f"intents.{intent}", "not an intent with reviewed content")
    return service, texts, encoding


def _fill(template: str, values: Mapping[str, str], file: str, key: str,
          problems: _Problems, encoding: str = "auto") -> str | None:
    """A text with its {placeholders} filled, checked against the segment budget."""
    try:
        unknown = placeholders(template) - set(values)
    except ValueError as err:
        problems.add(file, key, f"braces are not a placeholder: {err}")
        return None
    if unknown:
        problems.add(file, key, f"unknown fact(s) {sorted(unknown)}")
        return None
    text = template.strip().format_map(values)
    segs = sms.segments(sms_form(text, encoding))
    if segs.count > sms.MAX_SEGMENTS:
        problems.add(file, key, f"{segs.count} SMS segments ({segs.units} {segs.encoding} "
                     f"units); the limit is {sms.MAX_SEGMENTS}")
    return text


def spoken_number(value: str) -> str:
    """'1-855-435-7693' -> '1. 8, 5, 5. 4, 3, 5. 7, 6, 9, 3': one digit at a time, a
    pause between groups, so text-to-speech says it slowly and never as 'eight hundred'."""
    groups = [g for g in re.split(r"[^0-9]+", value) if g]
    return ". ".join(", ".join(group) for group in groups)


def spoken_facts(values: Mapping[str, str]) -> dict[str, str]:
    """The facts a voice text may name: phone numbers, in spoken form."""
    return {k: spoken_number(v) for k, v in values.items() if _PHONE.match(v)}


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def _load_voice(path: Path, values: Mapping[str, str], problems: _Problems) -> Voice | None:
    data, name, before = _read(path, problems), str(path), len(problems)
    if not data:
        return None
    language, voice = str(data.get("language") or ""), str(data.get("voice") or "")
    if not _SAY_LANGUAGE.match(language):
        problems.add(name, "language", f"a Twilio <Say> language like es-US, not {language!r}")
    if not voice:
        problems.add(name, "voice", "name a text-to-speech voice for the language, "
                     "e.g. Polly.Lupe for es-US")
    raw = " ".join(str(data.get("summary") or "").split())
    spoken = spoken_facts(values)
    try:
        unknown = placeholders(raw) - set(spoken)
    except ValueError as err:
        problems.add(name, "summary", f"braces are not a placeholder: {err}")
        return None
    if not raw:
        problems.add(name, "summary", "the spoken summary is missing")
    elif unknown:
        problems.add(name, "summary",
                     f"only phone-number facts can be spoken, not {sorted(unknown)}")
    else:
        summary = raw.format_map(spoken)
        if _URL.search(raw):
            problems.add(name, "summary", "no web addresses: a caller cannot click them")
        if len(summary) > VOICE_MAX_CHARS:
            problems.add(name, "summary", f"{len(summary)} characters spoken; the limit is "
                         f"{VOICE_MAX_CHARS} (about 45 seconds)")
        for sentence in _sentences(raw):
            if len(sentence.split()) > VOICE_MAX_WORDS:
                problems.add(name, "summary", f"sentence of {len(sentence.split())} words, "
                             f"the limit is {VOICE_MAX_WORDS}: {sentence[:40]!r}...")
    sources = tuple(data.get("sources") or ())
    if not sources:
        problems.add(name, "sources", "list at least one source")
    reviewed, reviewer = _review(data, name, "", problems)
    if len(problems) > before:
        return None
    return Voice(language, voice, raw.format_map(spoken), sources, reviewed, reviewer)


def normal_words(text: str) -> tuple[str, ...]:
    """Rules and examples are compared in the same normal form as messages."""
    from .text import normalise

    return tuple(normalise(text))


def _strings(value: object, file: str, key: str, problems: _Problems) -> list[str]:
    """A YAML list of words. YAML reads a bare `no`, `on` or `yes` as true/false, which
    would silently become the word "false": those must be quoted."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    out = []
    for item in items:
        if isinstance(item, bool) or item is None:
            problems.add(file, key, f"{item!r} is not a word: put quotes around it "
                         "('no', 'on', 'yes' need them in YAML)")
        else:
            out.append(str(item))
    return out


def _load_rules(path: Path, problems: _Problems) -> dict:
    """The words the exact rules and the normalising step use (rules.yaml)."""
    data, name = _read(path, problems), str(path)

    def words(key: str) -> frozenset[str]:
        return frozenset(w for s in _strings(data.get(key), name, key, problems)
                         for w in normal_words(s))

    commands: dict[str, tuple[str, ...]] = {}
    for intent, entries in (data.get("commands") or {}).items():
        if intent not in COMMAND_INTENTS:
            problems.add(name, f"commands.{intent}", "command words may only ask for "
                         + ", ".join(sorted(COMMAND_INTENTS)))
            continue
        kept = [" ".join(normal_words(e)) for e in
                _strings(entries, name, f"commands.{intent}", problems)]
        for entry in kept:
            if not entry:
                problems.add(name, f"commands.{intent}", "a command word has no letters")
            elif entry.replace(" ", "") in CARRIER_WORDS:
                problems.add(name, f"commands.{intent}", f"carrier word {entry!r} belongs "
                             "only to the carrier rules")
        commands[str(intent)] = tuple(e for e in kept if e)
    abbreviations = {str(k).lower(): str(v).lower()
                     for k, v in (data.get("abbreviations") or {}).items()}
    names = tuple(" ".join(normal_words(n))
                  for n in _strings(data.get("language_names"), name, "language_names", problems))
    numbers = {" ".join(normal_words(str(k))): str(v)
               for k, v in (data.get("numbers") or {}).items()}
    return {"commands": MappingProxyType(commands), "abbreviations": abbreviations,
            "stopwords": words("stopwords"), "negations": words("negations"),
            "menu_words": words("menu_words"), "language_names": names,
            "fillers": tuple(" ".join(normal_words(f)) for f in
                             _strings(data.get("fillers"), name, "fillers", problems)),
            "numbers": MappingProxyType(numbers),
            # A bare `yes:` key is YAML's true: read either spelling.
            "yes": tuple(" ".join(normal_words(y)) for y in
                         _strings(data.get("yes", data.get(True)), name, "yes", problems)
                         if normal_words(y))}


def _load_examples(path: Path, locale: str | None, heldback: bool,
                   problems: _Problems) -> list[Example]:
    """One examples.yaml or heldback.yaml: texts under the intent they mean. A held-back
    text may be a mapping `{text: ..., also: [other acceptable intents]}`."""
    if not path.exists() and heldback:
        return []
    data, name = _read(path, problems), str(path)
    out: list[Example] = []
    for intent, items in (data.get("intents") or {}).items():
        where = f"intents.{intent}"
        if intent not in INTENTS:
            problems.add(name, where, "unknown intent")
            continue
        for item in items or ():
            also: tuple[str, ...] = ()
            if isinstance(item, dict) and heldback:
                text = item.get("text")
                also = tuple(str(a) for a in item.get("also") or ())
                for other in set(also) - set(INTENTS):
                    problems.add(name, where, f"{text!r}: unknown intent {other!r} in also")
            else:
                text = item
            if isinstance(text, bool) or not isinstance(text, (str, int, float)) \
                    or not normal_words(str(text)):
                problems.add(name, where, f"{text!r} is not a text with letters or digits "
                             "(quote 'no', 'yes', 'on')")
                continue
            out.append(Example(str(text), (str(intent), *also), locale))
    return out


def _check_examples(directory: Path, examples: list[Example], heldback: list[Example],
                    codes: list[str], problems: _Problems) -> None:
    """No example labelled two ways; none that only the carrier rules may decide; every
    intent learnt in every locale; nothing held back is trained on."""
    owner: dict[tuple[str, ...], Example] = {}
    for ex in examples:
        words = normal_words(ex.text)
        where = _examples_file(directory, ex.locale, False)
        if "".join(words) in CARRIER_WORDS or " ".join(words) in CARRIER_WORDS:
            problems.add(where, f"intents.{ex.intents[0]}", f"{ex.text!r} is a carrier word: "
                         "the exact rules decide it, not examples")
        first = owner.setdefault(words, ex)
        if first.intents[0] != ex.intents[0]:
            problems.add(where, f"intents.{ex.intents[0]}", f"{ex.text!r} is also an example "
                         f"of {first.intents[0]} ({_examples_file(directory, first.locale, False)})")
    for code in codes:
        have = {ex.intents[0] for ex in examples if ex.locale == code}
        for intent in INTENTS:
            if intent not in have:
                problems.add(_examples_file(directory, code, False), f"intents.{intent}",
                             "no examples: every intent needs examples in every locale")
    for ex in heldback:
        if normal_words(ex.text) in owner:
            problems.add(_examples_file(directory, ex.locale, True), f"intents.{ex.intents[0]}",
                         f"{ex.text!r} is in the training examples too: held-back texts must "
                         "never be trained on")


def _examples_file(directory: Path, locale: str | None, heldback: bool) -> str:
    name = HELDBACK_FILE if heldback else EXAMPLES_FILE
    return str(directory / locale / name if locale else directory / name)


def _load_thresholds(path: Path, problems: _Problems) -> Thresholds:
    data, name = _read(path, problems), str(path)
    values: dict[str, float] = {}
    for key in ("urgent", "unknown"):
        value = data.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            problems.add(name, key, f"a probability between 0 and 1, not {value!r}")
            value = 0.5
        values[key] = float(value)
    urgent = frozenset(str(i) for i in data.get("urgent_intents") or ())
    least = {str(k): float(v) for k, v in (data.get("least") or {}).items()}
    for intent in (urgent | set(least)) - set(INTENTS):
        problems.add(name, "urgent_intents/least", f"unknown intent {intent!r}")
    if not urgent:
        problems.add(name, "urgent_intents", "list the urgent intents")
    return Thresholds(values["urgent"], values["unknown"], urgent, MappingProxyType(least))


REVIEW_MAX_DAYS = 180  # HELPLINE_REVIEW_MAX_DAYS: a review older than this is stale


def review_warnings(content: Content, today: dt.date,
                    max_days: int = REVIEW_MAX_DAYS) -> list[str]:
    """What `helpline check` warns about before going live: replies and voice scripts
    no person has reviewed (`reviewed: null`), reviews older than `max_days`, a review
    date with no reviewer recorded, and hotline hours nobody has confirmed."""
    out: list[str] = []
    items = [(f"{code}/{REPLIES_FILE}: intents.{intent}", t.reviewed, t.reviewer, t.note)
             for code, loc in content.locales.items() for intent, t in loc.texts.items()]
    items += [(f"{code}/{VOICE_FILE}", loc.voice.reviewed, loc.voice.reviewer, None)
              for code, loc in content.locales.items() if loc.voice]
    for where, reviewed, reviewer, note in items:
        if reviewed is None:
            out.append(f"{where}: never reviewed by a person (reviewed: null)"
                       + (f": {note}" if note else ""))
            continue
        age = (today - reviewed).days
        if age > max_days:
            out.append(f"{where}: last reviewed {reviewed} ({age} days ago, more than "
                       f"{max_days})")
        if not reviewer:
            out.append(f"{where}: reviewed {reviewed}, but by whom is not recorded "
                       "(reviewer: a role)")
    hours = content.hours
    if hours is not None and hours.confirmed is None:
        out.append(f"{FACTS_FILE}: hotline_hours: not confirmed with the hotline "
                   "(confirmed: null); replies say these hours to people")
    return out


def locale_codes(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()
                  if p.is_dir() and (p / REPLIES_FILE).exists())


def live_codes(directory: Path, wanted: Iterable[str]) -> tuple[list[str], list[str]]:
    """HELPLINE_LOCALES ('en,es,pl', 'zh-Hans' or 'zh_Hans') -> the folders to serve, in
    the order given (the order of the menu's switch lines and of the call's digits), and
    the problems: a code with no folder."""
    have, codes, problems = locale_codes(directory), [], []
    for raw in wanted:
        code = raw.strip().replace("-", "_")
        if not code:
            continue
        found = code if code in have else next(
            (c for c in have if c.lower() == code.lower()), None)
        if found is None:
            problems.append(f"HELPLINE_LOCALES: {raw.strip()!r} has no folder "
                            f"{directory / code}/{REPLIES_FILE} (there are: "
                            f"{', '.join(have)})")
        elif found not in codes:
            codes.append(found)
    return codes, problems


def load(directory: str | Path, settings: Mapping[str, object] | None = None,
         locales: Iterable[str] | None = None) -> Content:
    """Read and validate a content folder; raise ContentError naming every problem.

    `settings` are values replies may name besides the facts, so a promise such as
    "kept for {retention_days} days" stays true when the operator changes the setting.
    `locales` (HELPLINE_LOCALES): the locales to serve, and whose examples the model
    learns from; None: every locale folder (what `helpline check` validates)."""
    directory = Path(directory)
    problems = _Problems()
    if not directory.is_dir():
        raise ContentError([f"{directory}: -: content folder not found "
                            "(set HELPLINE_CONTENT_DIR)"])
    facts, menu, more, hours = _load_facts(directory / FACTS_FILE, problems)
    values = {**{k: str(v) for k, v in (settings or {}).items()},
              **{k: f.value for k, f in facts.items()}}
    locales_found = {}
    if locales is None:
        codes = locale_codes(directory)
    else:
        codes, wrong = live_codes(directory, locales)
        problems.extend(wrong)
    if not codes:
        problems.add(str(directory), "-", f"no locale folder with {REPLIES_FILE}")
    for code in codes:
        service, texts, encoding = _load_texts(directory / code / REPLIES_FILE, values,
                                               set(menu.values()) - {"menu", "more"},
                                               problems)
        rules = _load_rules(directory / code / RULES_FILE, problems)
        voice = _load_voice(directory / code / VOICE_FILE, values, problems)
        locales_found[code] = LocaleContent(code=code, service=service,
                                      texts=MappingProxyType(texts), voice=voice,
                                      sms_encoding=encoding, **rules)
    examples, heldback = [], []
    for code in (None, *codes):
        folder = directory / code if code else directory
        examples += _load_examples(folder / EXAMPLES_FILE, code, False, problems)
        heldback += _load_examples(folder / HELDBACK_FILE, code, True, problems)
    _check_examples(directory, examples, heldback, codes, problems)
    thresholds = _load_thresholds(directory / THRESHOLDS_FILE, problems)
    for code in codes:
        calls = [i for i, t in locales_found[code].texts.items() if t.when_closed is not None]
        if calls and (hours is None or not hours.spans.get(code)):
            problems.add(str(directory / FACTS_FILE), f"hotline_hours.languages.{code}",
                         f"replies that say call ({', '.join(calls)}) need the hours a "
                         f"person answers in {code}")
    if problems:
        raise ContentError(list(problems))
    return Content(directory, MappingProxyType(facts), MappingProxyType(menu),
                   MappingProxyType(locales_found), tuple(examples), tuple(heldback), thresholds,
                   MappingProxyType({k: str(v) for k, v in (settings or {}).items()}),
                   more, hours)
