"""Load and validate the reviewed content (YAML) into frozen dataclasses.

Content is what advocates write and review: replies, sources, review dates, keywords.
Everything is checked once at start-up; a problem names the file and the key.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from . import sms

# The fixed intent ids: tests, tools and the eval set use them.
INTENTS = (
    "menu", "rights", "silent", "walk_away", "search", "door", "sign", "lawyer", "police",
    "record", "hotline", "report", "detained", "language", "stop", "start", "privacy",
    "forget", "thanks", "unknown",
)
# Intents whose reply text is interface text (gettext catalogs), not reviewed content.
CATALOG_INTENTS = frozenset({"menu", "language", "stop", "start", "forget", "unknown"})
CONTENT_INTENTS = tuple(i for i in INTENTS if i not in CATALOG_INTENTS)
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


def carrier_command(words: list[str]) -> str | None:
    """'stop', 'start' or 'help' when the whole (normalised) message is a carrier word:
    'STOP', 'Opt-Out', 'stop  all', 'OPTOUT!'; else None."""
    if not words or len(words) > 2:
        return None
    phrase = " ".join(words)
    joined = "".join(words)
    if phrase in CARRIER_WORDS or joined in CARRIER_WORDS:
        return CARRIER_WORDS.get(phrase) or CARRIER_WORDS[joined]
    return "help" if phrase in HELP_WORDS else None

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
KEYWORDS_FILE = "keywords.yaml"
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


@dataclass(frozen=True)
class Text:
    """One intent's reviewed reply in one locale, placeholders already filled."""

    reply: str
    title: str | None
    sources: tuple[str, ...]
    reviewed: dt.date
    # `reply_when_redacting`, when given, replaces `reply` while the bot deletes Twilio's
    # copy of messages (HELPLINE_REDACT_MINUTES): the privacy reply says what is true.


@dataclass(frozen=True)
class Voice:
    """One locale's spoken summary for callers, phone numbers already in spoken form."""

    language: str  # what <Say language> takes: en-US, es-US
    voice: str  # a text-to-speech voice that speaks that language: Polly.Joanna
    summary: str
    sources: tuple[str, ...]
    reviewed: dt.date


@dataclass(frozen=True)
class LocaleContent:
    code: str
    service: str
    texts: Mapping[str, Text]
    keywords: Mapping[str, tuple[str, ...]]
    weak: Mapping[str, tuple[str, ...]]  # count only when nothing specific matched
    abbreviations: Mapping[str, str]
    stopwords: frozenset[str]
    language_names: tuple[str, ...]
    classes: Mapping[str, frozenset[str]]  # word classes: "agent" -> {"migra", "ice", ...}
    numbers: Mapping[str, str]  # number words for the menu: "uno" -> "1"
    negations: frozenset[str]  # "no", "not": "no hablo inglés" asks for no English
    menu_words: frozenset[str]  # words that may stand beside a menu digit: "opción 4"
    voice: Voice | None = None  # the spoken summary (voice.yaml); the loader requires it


@dataclass(frozen=True)
class Content:
    directory: Path
    facts: Mapping[str, Fact]
    menu: Mapping[str, str]
    priority: tuple[str, ...]
    generic: frozenset[str]
    locales: Mapping[str, LocaleContent] = field(default_factory=dict)
    settings: Mapping[str, str] = field(default_factory=dict)  # {org_name}, {retention_days}

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


def _load_facts(path: Path, problems: _Problems) -> tuple[dict, dict, tuple, frozenset]:
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
    for digit, intent in menu.items():
        if intent not in INTENTS:
            problems.add(name, f"menu.{digit}", f"unknown intent {intent!r}")
    priority = tuple(data.get("priority") or ())
    for intent in set(INTENTS) - set(priority) - {"unknown"}:
        problems.add(name, "priority", f"intent {intent!r} is missing")
    generic = frozenset(data.get("generic") or ())
    for intent in (set(priority) | generic) - set(INTENTS):
        problems.add(name, "priority", f"unknown intent {intent!r}")
    return facts, menu, priority, generic


def placeholders(text: str) -> set[str]:
    """The {names} a reply or a translation uses."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def _load_texts(path: Path, values: Mapping[str, str], menu_intents: set[str],
                problems: _Problems) -> tuple[str, dict[str, Text]]:
    data, name = _read(path, problems), str(path)
    service = str(data.get("service") or "").strip()
    if not service:
        problems.add(name, "service", "the service's name is missing")
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
                  f"{key}.reply_when_redacting", problems)
            if values.get("redact_minutes"):
                raw = {**raw, "reply": raw["reply_when_redacting"]}
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
        segs = sms.segments(reply)
        if segs.count > sms.MAX_SEGMENTS:
            problems.add(name, f"{key}.reply", f"{segs.count} SMS segments ({segs.units} "
                         f"{segs.encoding} units); the limit is {sms.MAX_SEGMENTS}")
        sources = tuple(raw.get("sources") or ())
        if not sources:
            problems.add(name, f"{key}.sources", "list at least one source")
        title = raw.get("title")
        if intent in menu_intents and not title:
            problems.add(name, f"{key}.title", "a menu entry needs a short title")
        reviewed = _date(raw.get("reviewed"), name, f"{key}.reviewed", problems)
        texts[intent] = Text(reply, title, sources, reviewed)
    for intent in set(raw_intents) - set(CONTENT_INTENTS):
        problems.add(name, f"intents.{intent}", "not an intent with reviewed content")
    return service, texts


def _fill(template: str, values: Mapping[str, str], file: str, key: str,
          problems: _Problems) -> str | None:
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
    segs = sms.segments(text)
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
    reviewed = _date(data.get("reviewed"), name, "reviewed", problems)
    if len(problems) > before:
        return None
    return Voice(language, voice, raw.format_map(spoken), sources, reviewed)


def normal_words(text: str) -> tuple[str, ...]:
    """Keywords are compared in the same normal form as messages."""
    from .intents import normalise  # local: intents imports this module's constants

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


def _keyword_section(data: dict, section: str, classes: Mapping[str, frozenset[str]],
                     owner: dict[str, str], name: str,
                     problems: _Problems) -> dict[str, tuple[str, ...]]:
    """One section's keywords per intent, checked: `intents` needs every intent (but
    `unknown`); `weak` may name any."""
    raw = data.get(section) or {}
    keywords: dict[str, tuple[str, ...]] = {}
    for intent in INTENTS:
        where = f"{section}.{intent}"
        entries = _strings(raw.get(intent), name, where, problems)
        if not entries:
            if section == "intents" and intent != "unknown":
                problems.add(name, where, "no keywords")
            continue
        kept = []
        for entry in entries:
            words = _pattern(str(entry))
            if not words.replace("+", "").strip() or words.startswith("+") or words.endswith("+"):
                problems.add(name, where, f"keyword {entry!r} has no letters or a stray +")
                continue
            if words in owner and owner[words] != intent:
                problems.add(name, where, f"keyword {entry!r} also belongs to {owner[words]}")
            owner[words] = intent
            first = words.split()[0]
            if first.endswith("*") and len(first) < 4:
                problems.add(name, where, f"{entry!r}: a first word ending in * needs 3 "
                             "letters before the *")
            for word in words.replace("+", " ").split():
                if word.endswith("*") and len(word) < 3:
                    problems.add(name, where, f"{entry!r}: a word ending in * needs 2 "
                                 "letters before the *")
                if word.startswith("@") and word[1:] not in classes:
                    problems.add(name, where, f"{entry!r}: no class <{word[1:]}> under classes")
                target = CARRIER_WORDS.get(word.rstrip("*"))
                if target and target != intent:
                    problems.add(name, where, f"carrier word {word!r} belongs only to {target}")
            kept.append(words)
        keywords[intent] = tuple(dict.fromkeys(kept))
    for intent in set(raw) - set(INTENTS):
        problems.add(name, f"{section}.{intent}", "unknown intent")
    return keywords


def _load_keywords(path: Path, problems: _Problems) -> dict:
    data, name = _read(path, problems), str(path)
    classes = {}
    for cls, members in (data.get("classes") or {}).items():
        kept = frozenset(_pattern(m) for m in _strings(members, name, f"classes.{cls}", problems)
                         if _pattern(m))
        if not kept or any(" " in m or (m.endswith("*") and len(m) < 4) for m in kept):
            problems.add(name, f"classes.{cls}", "list single words (a trailing * is allowed "
                         "after 3 letters or more)")
        for member in sorted(kept):
            if member.rstrip("*") in CARRIER_WORDS:
                problems.add(name, f"classes.{cls}", f"carrier word {member!r} belongs only "
                             f"to {CARRIER_WORDS[member.rstrip('*')]}")
        classes[str(cls)] = kept
    owner: dict[str, str] = {}
    keywords = _keyword_section(data, "intents", classes, owner, name, problems)
    weak = _keyword_section(data, "weak", classes, owner, name, problems)
    abbreviations = {str(k).lower(): str(v).lower()
                     for k, v in (data.get("abbreviations") or {}).items()}
    def words(key: str) -> frozenset[str]:
        return frozenset(w for s in _strings(data.get(key), name, key, problems)
                         for w in normal_words(s))

    stopwords = words("stopwords")
    names = tuple(" ".join(normal_words(n))
                  for n in _strings(data.get("language_names"), name, "language_names", problems))
    numbers = {" ".join(normal_words(str(k))): str(v)
               for k, v in (data.get("numbers") or {}).items()}
    negations = words("negations")
    return {"keywords": keywords, "weak": weak, "abbreviations": abbreviations,
            "stopwords": stopwords,
            "negations": negations,
            "menu_words": words("menu_words"),
            "language_names": names, "classes": MappingProxyType(classes),
            "numbers": MappingProxyType(numbers)}


def _pattern(entry: str) -> str:
    """'Abogad*  de inmigración' -> 'abogad* de inmigracion'; '<agent> + esquina' ->
    '@agent + esquina':
    the normal form of messages, with stars, classes and plus signs left in place."""
    out = []
    for raw in entry.replace("+", " + ").split():
        if raw == "+":
            out.append(raw)
            continue
        if raw.startswith("<") and raw.endswith(">") and raw[1:-1].isidentifier():
            out.append("@" + raw[1:-1])  # a word class
            continue
        star = raw.endswith("*")
        words = normal_words(raw.rstrip("*"))
        if words:
            out.extend(words[:-1])
            out.append(words[-1] + ("*" if star else ""))
    return " ".join(out)


def locale_codes(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()
                  if p.is_dir() and (p / REPLIES_FILE).exists())


def load(directory: str | Path, settings: Mapping[str, object] | None = None) -> Content:
    """Read and validate a content folder; raise ContentError naming every problem.

    `settings` are values replies may name besides the facts, so a promise such as
    "kept for {retention_days} days" stays true when the operator changes the setting."""
    directory = Path(directory)
    problems = _Problems()
    if not directory.is_dir():
        raise ContentError([f"{directory}: -: content folder not found "
                            "(set HELPLINE_CONTENT_DIR)"])
    facts, menu, priority, generic = _load_facts(directory / FACTS_FILE, problems)
    values = {**{k: str(v) for k, v in (settings or {}).items()},
              **{k: f.value for k, f in facts.items()}}
    locales = {}
    codes = locale_codes(directory)
    if not codes:
        problems.add(str(directory), "-", f"no locale folder with {REPLIES_FILE}")
    for code in codes:
        service, texts = _load_texts(directory / code / REPLIES_FILE, values,
                                     set(menu.values()) - {"menu"}, problems)
        kw = _load_keywords(directory / code / KEYWORDS_FILE, problems)
        voice = _load_voice(directory / code / VOICE_FILE, values, problems)
        locales[code] = LocaleContent(code=code, service=service,
                                      texts=MappingProxyType(texts), voice=voice, **kw)
    if problems:
        raise ContentError(list(problems))
    return Content(directory, MappingProxyType(facts), MappingProxyType(menu), priority,
                   generic, MappingProxyType(locales),
                   MappingProxyType({k: str(v) for k, v in (settings or {}).items()}))
