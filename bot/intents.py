"""Understand a text: normalise it, tell its language, and match it to an intent.

Everything the matcher knows comes from the content files (keywords, phrases,
abbreviations, stopwords, priorities); this module holds only the mechanism:

1. normalise: case, accents, punctuation, emoji and letters repeated 3+ times go;
2. shorthand is expanded ("q" -> "que", "pls" -> "please");
3. a word no keyword knows is corrected to the nearest keyword word when one is a single
   edit away (two for long words) -- fuzzy matching runs only when exact matching misses;
4. every keyword or phrase found adds its length in words to its intent's score; the
   highest score wins, ties go to the higher priority, and generic intents (menu, thanks,
   language) count only when nothing specific matched.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from babel import Locale
from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

from .content import CARRIER_WORDS, Content

MAX_CHARS = 1600  # Twilio's own limit on a message body; longer input is cut first
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_APOSTROPHES = re.compile(r"(?<=[a-z])['\u2019](?=[a-z])")


def normalise(text: str) -> list[str]:
    """'¡¡Ayudaaa!! La MIGRA está aquí 🚨' -> ['ayuda', 'la', 'migra', 'esta', 'aqui'];
    "don't" -> ['dont']."""
    text = unicodedata.normalize("NFKD", text[:MAX_CHARS].casefold())
    text = _APOSTROPHES.sub("", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _REPEATS.sub(r"\1", text)
    return _NOT_WORD.sub(" ", text).split()


@dataclass(frozen=True)
class Match:
    intent: str
    locale: str | None  # the language the message is written in, if it tells
    target: str | None = None  # for `language`: the language asked for
    score: float = 0.0


@dataclass(frozen=True)
class _Pattern:
    intent: str
    words: tuple[str, ...]  # a trailing "*" on a word matches any ending

    @property
    def weight(self) -> int:
        return len(self.words)


def _word_matches(pattern: str, word: str) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return word == pattern


class Matcher:
    """Built once from the content; `match()` is pure and fast."""

    def __init__(self, content: Content):
        self.menu = dict(content.menu)
        self.rank = {intent: i for i, intent in enumerate(reversed(content.priority))}
        self.generic = content.generic
        self.abbreviations: dict[str, list[str]] = {}
        self.phrase_abbreviations: list[tuple[str, str]] = []
        self.lexicon: dict[str, set[str]] = {}
        self.names: dict[tuple[str, ...], str] = {}
        patterns: dict[_Pattern, None] = {}  # the same keyword in two locales counts once
        for code, loc in content.locales.items():
            for short, long in loc.abbreviations.items():
                if _NOT_WORD.search(short):
                    self.phrase_abbreviations.append((short, f" {long} "))
                else:
                    self.abbreviations[short] = long.split()
            words = set(loc.stopwords)
            for intent, entries in loc.keywords.items():
                for entry in entries:
                    pat = _Pattern(intent, tuple(entry.split()))
                    patterns[pat] = None
                    words.update(w for w in pat.words if not w.endswith("*"))
            for name in loc.language_names:
                self.names[tuple(name.split())] = code
            self.lexicon[code] = words
        for code in content.locales:
            for other in content.locales:  # CLDR: "español", "Spanish", "inglés", ...
                name = Locale.parse(code).get_display_name(other) or code
                self.names[tuple(normalise(name))] = code
        self._index(patterns)
        self._language_words()

    def _index(self, patterns: Iterable[_Pattern]) -> None:
        self.exact: dict[str, list[_Pattern]] = defaultdict(list)
        self.prefixes: dict[str, list[tuple[str, _Pattern]]] = defaultdict(list)
        self._corrections: dict[str, str] = {}
        for pat in patterns:
            first = pat.words[0]
            if first.endswith("*"):  # stems are at least 3 letters (content checks it)
                self.prefixes[first[:3]].append((first[:-1], pat))
            else:
                self.exact[first].append(pat)
        self.vocabulary = sorted({w for lex in self.lexicon.values() for w in lex}
                                 | {w for n in self.names for w in n})
        self.stems = sorted({s for group in self.prefixes.values() for s, _ in group
                             if len(s) >= 6})
        self.known = set(self.vocabulary)

    def _language_words(self) -> None:
        """Words that tell one language from the other: in one lexicon only."""
        counts: dict[str, int] = defaultdict(int)
        for words in self.lexicon.values():
            for w in words:
                counts[w] += 1
        self.telling = {code: {w for w in words if counts[w] == 1 and not w.isdigit()}
                        for code, words in self.lexicon.items()}

    # -- the steps ---------------------------------------------------------------------
    def words(self, text: str) -> list[str]:
        folded = " " + " ".join(text[:MAX_CHARS].casefold().split()) + " "
        for short, long in self.phrase_abbreviations:
            folded = folded.replace(f" {short} ", long)
        out: list[str] = []
        for word in normalise(folded):
            out.extend(self.abbreviations.get(word, (word,)))
        return [self._correct(w) for w in out]

    def _correct(self, word: str) -> str:
        cached = self._corrections.get(word)
        if cached is None:
            cached = self._corrections[word] = self._nearest(word)
            if len(self._corrections) > 50_000:  # bounded: texts can be anything
                self._corrections.clear()
        return cached

    def _nearest(self, word: str) -> str:
        if word in self.known or len(word) < 5 or word.isdigit() or self._prefixed(word):
            return word
        limit = 1 if len(word) < 9 else 2
        best = extractOne(word, self.vocabulary, scorer=OSA.distance, score_cutoff=limit)
        if best is not None:
            return best[0]
        for stem in self.stems:  # a typo inside a stem: "abogaod" -> "abogad" + "od"
            if OSA.distance(word[:len(stem)], stem) <= 1:
                return stem + word[len(stem):]
        return word

    def _prefixed(self, word: str) -> list[_Pattern]:
        return [p for stem, p in self.prefixes.get(word[:3], ()) if word.startswith(stem)]

    def locale_of(self, words: list[str]) -> str | None:
        votes = {code: sum(w in telling for w in words) for code, telling in self.telling.items()}
        best = max(votes.values(), default=0)
        winners = [code for code, n in votes.items() if n == best]
        return winners[0] if best and len(winners) == 1 else None

    def scores(self, words: list[str]) -> dict[str, float]:
        """Each intent's evidence. Longer phrases are taken first and use up their words,
        so "signed by a judge" (door) leaves nothing for "signed" (sign), and a phrase
        listed under `unknown` ("sign up") silences the words inside it. A specific
        intent adds up its phrases; a generic one counts only its longest."""
        hits = []
        for i, word in enumerate(words):
            for pat in self.exact.get(word, []) + self._prefixed(word):
                if self._phrase_at(pat.words, words, i):
                    hits.append((pat.weight, i, pat.intent))
        hits.sort(key=lambda hit: (-hit[0], hit[1]))
        used: set[int] = set()
        found: dict[str, float] = defaultdict(float)
        for weight, i, intent in hits:
            span = set(range(i, i + weight))
            if used & span:
                continue
            used |= span
            if intent in self.generic:
                found[intent] = max(found[intent], weight)
            elif intent != "unknown":
                found[intent] += weight
        return found

    @staticmethod
    def _phrase_at(pattern: tuple[str, ...], words: list[str], i: int) -> bool:
        if i + len(pattern) > len(words):
            return False
        return all(_word_matches(p, w) for p, w in zip(pattern, words[i:]))

    def target_language(self, words: list[str]) -> str | None:
        for i in range(len(words)):
            for name, code in self.names.items():
                if tuple(words[i:i + len(name)]) == name:
                    return code
        return None

    # -- the whole ---------------------------------------------------------------------
    def match(self, text: str) -> Match:
        words = self.words(text)
        locale = self.locale_of(words)
        if not words:
            return Match("menu", None)
        if len(words) == 1 and words[0] in CARRIER_WORDS:
            return Match(CARRIER_WORDS[words[0]], None)
        digit = self._menu_digit(words)
        if digit:
            return Match(digit, locale)
        found = self.scores(words)
        target = self.target_language(words)
        if target:
            found["language"] = max(found["language"], 1)
        specific = {i: s for i, s in found.items() if i not in self.generic}
        if words[0] in CARRIER_WORDS and len(words) <= 4 and not specific:
            return Match(CARRIER_WORDS[words[0]], locale)
        pool = self._pool(specific, {i: s for i, s in found.items() if i in self.generic})
        if not pool:
            return Match("unknown", locale)
        intent = max(pool, key=lambda i: (pool[i], self.rank.get(i, -1)))
        if intent == "language":
            return Match(intent, target or locale, target, pool[intent])
        return Match(intent, locale, None, pool[intent])

    @staticmethod
    def _pool(specific: dict[str, float], generic: dict[str, float]) -> dict[str, float]:
        """Specific intents win, unless a generic one has a phrase two words longer than
        all their evidence ("hey what is this number for" is the menu, not the hotline)."""
        if not specific:
            return generic
        best = max(specific.values())
        strong = {i: s for i, s in generic.items() if s >= best + 2}
        return strong or specific

    def _menu_digit(self, words: list[str]) -> str | None:
        digits = [w for w in words if w in self.menu]
        others = [w for w in words if w not in self.menu and not w.isdigit()]
        if len(digits) == 1 and len(others) <= 2 and len(words) <= 3:
            return self.menu[digits[0]]
        return None


def classify(matcher: Matcher, texts: Iterable[str]) -> Iterable[Mapping[str, object]]:
    for text in texts:
        m = matcher.match(text)
        yield {"intent": m.intent, "locale": m.locale}
