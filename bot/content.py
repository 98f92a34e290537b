"""Load and validate the reviewed content (YAML) into frozen dataclasses.

Content is what advocates write and review: replies, sources, review dates, the words of the exact rules, labelled examples.
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
from typing import NamedTuple

import yaml

from . import sms
from .decide import Thresholds

# The fixed intent ids: tests, tools and the eval set use them.
INTENTS = (
    "menu", "rights", "silent", "walk_away", "search", "door", "sign", "lawyer", "police",
    "record", "hotline", "report", "detained", "language", "stop", "start", "privacy",
    "forget", "thanks", "unknown",
)
# Intents whose reply text is interface text (gettext catalogs), not reviewed content.
CATALOG_INTENTS = frozenset({"menu", "language", "stop", "start", "forget", "unknown"})
CONTENT_INTENTS = tuple(i for i in INTENTS if i not in CATALOG_INTENTS)
# Intents a whole-message command word may ask for (rules.yaml `commands`).
COMMAND_INTENTS = frozenset({"menu", "stop", "start", "forget", "language"})
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


@dataclass(frozen=True)
class Text:
    """One intent's reviewed reply in one locale, placeholders already filled."""

    reply: str
    title: str | None
    sources: tuple[str, ...]
    reviewed: dt.date
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
    reviewed: dt.date


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
    voice: Voice | None = None  # the spoken summary (voice.yaml); the loader requires it


@dataclass(frozen=True)
class Content:
    directory: Path
    facts: Mapping[str, Fact]
    menu: Mapping[str, str]
    locales: Mapping[str, LocaleContent] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()  # what the model learns from
    heldback: tuple[Example, ...] = ()  # what measures it: never trained on
    thresholds: Thresholds = Thresholds()
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


def _load_facts(path: Path, problems: _Problems) -> tuple[dict, dict]:
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
    return facts, menu


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
            "numbers": MappingProxyType(numbers)}


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
    facts, menu = _load_facts(directory / FACTS_FILE, problems)
    values = {**{k: str(v) for k, v in (settings or {}).items()},
              **{k: f.value for k, f in facts.items()}}
    locales = {}
    codes = locale_codes(directory)
    if not codes:
        problems.add(str(directory), "-", f"no locale folder with {REPLIES_FILE}")
    for code in codes:
        service, texts = _load_texts(directory / code / REPLIES_FILE, values,
                                     set(menu.values()) - {"menu"}, problems)
        rules = _load_rules(directory / code / RULES_FILE, problems)
        voice = _load_voice(directory / code / VOICE_FILE, values, problems)
        locales[code] = LocaleContent(code=code, service=service,
                                      texts=MappingProxyType(texts), voice=voice, **rules)
    examples, heldback = [], []
    for code in (None, *codes):
        folder = directory / code if code else directory
        examples += _load_examples(folder / EXAMPLES_FILE, code, False, problems)
        heldback += _load_examples(folder / HELDBACK_FILE, code, True, problems)
    _check_examples(directory, examples, heldback, codes, problems)
    thresholds = _load_thresholds(directory / THRESHOLDS_FILE, problems)
    if problems:
        raise ContentError(list(problems))
    return Content(directory, MappingProxyType(facts), MappingProxyType(menu),
                   MappingProxyType(locales), tuple(examples), tuple(heldback), thresholds,
                   MappingProxyType({k: str(v) for k, v in (settings or {}).items()}))
