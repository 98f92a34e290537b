"""Understand a text: normalise it, tell its language, and match it to an intent.

Everything the matcher knows comes from the content files (keywords, phrases, word
classes, abbreviations, stopwords, priorities); this module holds only the mechanism:

1. normalise: case, accents, apostrophes, punctuation, emoji and letters repeated three
   or more times go ("¡¡AYUDAAA!!" -> "ayuda");
2. texting shorthand is expanded ("q" -> "que", "pls" -> "please");
3. a word no keyword knows is corrected to the nearest known word when one is a single
   edit away (two for long words): fuzzy matching runs only when exact matching misses;
4. keywords are found: a word, a word start (`abogad*`), a class of words (`@agent`), a
   phrase of those in order, or parts joined by `+` that may stand anywhere;
5. the heaviest matches are taken first and use up their words (a word weighs 1, a
   stopword 0.2, a class 0.5); each intent adds up its phrases and its best +-match; the
   highest wins, ties go to the higher priority, and generic intents (menu, thanks,
   language) win only when nothing specific matched or they found much more.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from babel import Locale
from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

from .content import CARRIER_WORDS, Content, LocaleContent

MAX_CHARS = 1600  # Twilio's own limit on a message body; longer input is cut first
STOPWORD_WEIGHT = 0.2
CLASS_WEIGHT = 0.5
GENERIC_MARGIN = 2.0
WORD_CACHE = 65_536
TOKEN_CACHED = 40  # longer tokens (rare, and unbounded in size) are never kept
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_MARKS = re.compile(r"[\u0300-\u036f]")  # combining accents, after NFKD
_APOSTROPHES = re.compile(r"(?<=[a-z])['\u2019](?=[a-z])")


def normalise(text: str) -> list[str]:
    """'¡¡Ayudaaa!! La MIGRA está aquí 🚨' -> ['ayuda', 'la', 'migra', 'esta', 'aqui'];
    "don't" -> ['dont']."""
    text = text[:MAX_CHARS].casefold()
    if not text.isascii():  # most texts are: no accents to take off
        text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    text = _APOSTROPHES.sub("", text)
    text = _REPEATS.sub(r"\1", text)
    return _NOT_WORD.sub(" ", text).split()


class Match(NamedTuple):
    intent: str
    locale: str | None  # the language the message is written in, if it tells
    target: str | None = None  # for `language`: the language asked for
    score: float = 0.0
    sure: bool = False  # the language is plain (two words or more say so), not a guess


@dataclass(frozen=True, eq=False)
class _Pattern:
    intent: str
    parts: tuple[tuple[str, ...], ...]  # one part: a phrase; several: all, anywhere
    weight: float
    weak: bool = False  # from `weak:`: counts only when nothing else specific matched
    needs: frozenset[str] = frozenset()  # every test in it: a quick "could it match?"
    rank: tuple[bool, float, int, int] = (False, 0.0, 0, 0)  # heaviest first, see scores()
    single: bool = False  # its first part is one test: found wherever that test is


# The patterns one test begins: those needing nothing more, the other tests they are
# grouped by (their anchors), and the patterns of each anchor.
_Starting = tuple[tuple[_Pattern, ...], frozenset[str], dict[str, tuple[_Pattern, ...]]]


class _Words:
    """One message's words and, for each, the keyword tests it passes: the word itself,
    its word classes ("@agent") and the stems it starts with ("abogad*")."""

    def __init__(self, words: list[str], tests: list[frozenset[str]],
                 starts: list[tuple[_Starting, ...]] | None = None):
        self.words = words
        self.tests = tests
        self.starts = starts or [()] * len(words)  # per word: the patterns its tests start
        self.present = frozenset().union(*tests)
        self.shadowed: set[int] = set()  # positions an `unknown` phrase took

    def phrase_at(self, phrase: tuple[str, ...], i: int) -> bool:
        return i + len(phrase) <= len(self.words) and all(
            test in self.tests[i + k] for k, test in enumerate(phrase))

    def find(self, phrase: tuple[str, ...], avoid: set[int]) -> set[int] | None:
        """The first place the phrase stands on words not in `avoid`."""
        first, size = phrase[0], len(phrase)
        for i in range(len(self.words) - size + 1):
            if first in self.tests[i] and self.phrase_at(phrase, i):
                span = set(range(i, i + size))
                if avoid.isdisjoint(span):
                    return span
        return None


class _Letters:
    """Character trigrams of each language, learnt from its own reviewed content: they
    tell the language of words no keyword list knows ("vendo tamales" is Spanish)."""

    def __init__(self, texts: Mapping[str, Iterable[str]]):
        self.logp: dict[str, dict[str, float]] = {}
        self.floor: dict[str, float] = {}
        for code, words in texts.items():
            counts: dict[str, int] = defaultdict(int)
            for word in words:
                for gram in self.grams(word):
                    counts[gram] += 1
            total, kinds = sum(counts.values()), len(counts) + 1
            self.logp[code] = {g: math.log((n + 1) / (total + kinds)) for g, n in counts.items()}
            self.floor[code] = math.log(1 / (total + kinds))

    @staticmethod
    def grams(word: str) -> list[str]:
        padded = f" {word} "
        return [padded[i:i + 3] for i in range(len(padded) - 2)]

    def guess(self, words: Iterable[str], margin: float = 1.0) -> str | None:
        grams = [g for w in words if not w.isdigit() for g in self.grams(w)]
        if len(grams) < 4:
            return None
        score = {code: sum(lp.get(g, self.floor[code]) for g in grams) / len(grams)
                 for code, lp in self.logp.items()}
        ranked = sorted(score, key=score.__getitem__, reverse=True)
        if len(ranked) > 1 and score[ranked[0]] - score[ranked[1]] < margin / len(grams) ** 0.5:
            return None
        return ranked[0]


class Matcher:
    """Built once from the content; `match()` is pure."""

    def __init__(self, content: Content):
        self.menu = dict(content.menu)
        self.rank = {intent: i for i, intent in enumerate(reversed(content.priority))}
        self.generic = content.generic
        self.abbreviations: dict[str, list[str]] = {}
        self.phrase_abbreviations: list[tuple[str, str]] = []
        self.numbers: dict[str, str] = {}
        self.menu_words: set[str] = set()
        self.names: dict[tuple[str, ...], str] = {}  # language names -> locale
        self.class_words: dict[str, set[str]] = defaultdict(set)  # "@agent" -> {"migra", ...}
        self.lexicon: dict[str, set[str]] = {}  # locale -> exact words and stems* it knows
        entries: dict[tuple[str, str, bool], None] = {}  # in two locales: counted once
        for code, loc in content.locales.items():
            self._read_locale(code, loc, entries)
        self._read_language_names(content)
        self.stopwords = frozenset().union(*(loc.stopwords for loc in content.locales.values()))
        self.negations = frozenset().union(*(loc.negations for loc in content.locales.values()))
        self.letters = _Letters({
            code: [w for t in loc.texts.values() for w in normalise(t.reply)]
            + [w.strip("*") for w in self.lexicon[code] if w[0] != "@"]
            for code, loc in content.locales.items()})
        self.patterns = [self._pattern(intent, entry, weak, n)
                         for n, (intent, entry, weak) in enumerate(entries)]
        self._index()

    def _read_locale(self, code: str, loc: LocaleContent,
                     entries: dict[tuple[str, str, bool], None]) -> None:
        for short, long in loc.abbreviations.items():
            if _NOT_WORD.search(short):
                self.phrase_abbreviations.append((f" {short} ", f" {long} "))
            else:
                self.abbreviations[short] = long.split()
        self.numbers.update(loc.numbers)
        self.menu_words.update(loc.menu_words)
        lexicon = set(loc.stopwords) | set(loc.numbers)
        for name, members in loc.classes.items():
            self.class_words["@" + name].update(members)
            lexicon |= members
        for weak, section in ((False, loc.keywords), (True, loc.weak)):
            for intent, keywords in section.items():
                for entry in keywords:
                    entries[(intent, entry, weak)] = None
                    lexicon.update(t for t in entry.replace("+", " ").split() if t[0] != "@")
        for name in loc.language_names:
            self.names[tuple(name.split())] = code
        self.lexicon[code] = lexicon

    def _read_language_names(self, content: Content) -> None:
        """CLDR's names of every locale in every locale: "español", "Spanish", "inglés"."""
        self.names_by_first: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for code in content.locales:
            for other in content.locales:
                name = Locale.parse(code).get_display_name(other) or code
                self.names[tuple(normalise(name))] = code
                self.lexicon[other].update(normalise(name))  # "inglés" is a Spanish word
        for name, code in self.names.items():
            self.names_by_first[name[0]].append((name, code))

    def _pattern(self, intent: str, entry: str, weak: bool = False, order: int = 0) -> _Pattern:
        """What a keyword weighs: each literal word 1 (a stopword 0.2), each word class
        0.5 (a class is broad by nature), all parts joined by + together."""
        parts = tuple(tuple(part.split()) for part in entry.split("+"))
        weight = sum(CLASS_WEIGHT if t[0] == "@" else
                     STOPWORD_WEIGHT if t in self.stopwords else 1.0
                     for part in parts for t in part)
        return _Pattern(intent, parts, weight, weak,
                        frozenset(test for part in parts for test in part),
                        (weak, -weight, -self._tie_rank(intent), order), len(parts[0]) == 1)

    def _index(self) -> None:
        self.by_first: dict[str, list[_Pattern]] = defaultdict(list)  # word, @class, stem*
        for pat in self.patterns:
            self.by_first[pat.parts[0][0]].append(pat)
        self._anchor_index()
        everything = set().union(*self.lexicon.values()) | set(CARRIER_WORDS)
        self.known = {w for w in everything if not w.endswith("*")}
        self.stems = sorted({w[:-1] for w in everything if w.endswith("*") and len(w) > 5})
        self.vocabulary = sorted(self.known)
        self.keyword_words = {t for p in self.patterns for part in p.parts for t in part
                              if t[0] != "@" and not t.endswith("*")} - self.stopwords
        # Word-level work is done once per distinct word; bounded, as texts hold anything.
        self._recognised = functools.lru_cache(maxsize=WORD_CACHE)(self._recognised_now)
        self._correct = functools.lru_cache(maxsize=WORD_CACHE)(self._nearest)
        self._tests_of = functools.lru_cache(maxsize=WORD_CACHE)(self._tests_now)
        self.stem_index: dict[str, set[str]] = defaultdict(set)  # "ab" -> {"abogad*"}
        for test in everything:  # keyword and class stems alike
            if test.endswith("*"):
                self.stem_index[test[:2]].add(test)
        self.class_exact: dict[str, set[str]] = defaultdict(set)
        self.class_stems: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for name, members in self.class_words.items():
            for member in members:
                if member.endswith("*"):
                    self.class_stems[member[:3]].append((member[:-1], name))
                else:
                    self.class_exact[member].add(name)
        # Which locales each keyword test belongs to, to tell the language of a message.
        self.locale_tests = {code: ({w for w in lex if not w.endswith("*")},
                                    tuple(w[:-1] for w in lex if w.endswith("*")))
                             for code, lex in self.lexicon.items()}

    # -- the steps ---------------------------------------------------------------------
    def words(self, text: str) -> list[str]:
        folded = " " + " ".join(text[:MAX_CHARS].casefold().split()) + " "
        for short, long in self.phrase_abbreviations:
            if short in folded:
                folded = folded.replace(short, long)
        out: list[str] = []
        for token in folded.split():  # normalising never joins across a space
            out.extend(self._token(token) if len(token) <= TOKEN_CACHED else
                       self._token_now(token))
        return [self._correct(w) for w in self._join_split(out)]

    def _token_now(self, token: str) -> tuple[str, ...]:
        """One space-separated token's words, shorthand expanded: "pls" -> ("please",)."""
        return tuple(long for word in normalise(token)
                     for long in self.abbreviations.get(word, (word,)))

    def _join_split(self, words: list[str]) -> list[str]:
        """Voice-to-text and fat fingers split words: "la mi gra", "de tenido". Two
        neighbours, one of them unknown, that together make a keyword become one word."""
        out: list[str] = []
        i = 0
        while i < len(words):
            if i + 1 < len(words) and not (self._recognised(words[i])
                                           and self._recognised(words[i + 1])):
                joined = words[i] + words[i + 1]
                if len(joined) >= 5 and not joined.isdigit() and (
                        joined in self.keyword_words or self._stem_ending(joined)):
                    out.append(joined)
                    i += 2
                    continue
            out.append(words[i])
            i += 1
        return out

    def _anchor_index(self) -> None:
        """The patterns that start with a test, grouped by one more test each needs (the
        one fewest patterns need: "@agent" starts 246 patterns, most of them needing a
        word the message does not hold), so a message skips whole groups at once."""
        uses: dict[str, int] = defaultdict(int)
        for pat in self.patterns:
            for test in pat.needs:
                uses[test] += 1
        self.starting: dict[str, _Starting] = {}
        for first, pats in self.by_first.items():
            alone: list[_Pattern] = []  # needing nothing but `first`
            groups: dict[str, list[_Pattern]] = defaultdict(list)
            for pat in pats:
                others = sorted(pat.needs - {first}, key=lambda t: (uses[t], t))
                (groups[others[0]] if others else alone).append(pat)
            self.starting[first] = (tuple(alone), frozenset(groups),
                                    {a: tuple(ps) for a, ps in groups.items()})
        # Typo correction compares a word only with words and stems of a length that
        # could be close enough (the edit distance is at least the difference in length).
        self._near_words = functools.lru_cache(maxsize=None)(self._near_words_now)
        self._near_stems = functools.lru_cache(maxsize=None)(self._near_stems_now)
        self._locale_of = functools.lru_cache(maxsize=WORD_CACHE)(self._locale_of_now)
        self._starts_of = functools.lru_cache(maxsize=WORD_CACHE)(self._starts_now)
        self._token = functools.lru_cache(maxsize=WORD_CACHE)(self._token_now)

    def _near_words_now(self, length: int, limit: int) -> list[str]:
        return [w for w in self.vocabulary if abs(len(w) - length) <= limit]

    def _near_stems_now(self, length: int) -> list[str]:
        """The stems `_nearest` could fix a word of `length` into: a cut of the word one
        edit from a stem is at most one shorter than it, and the word at most three longer
        than the cut."""
        return [s for s in self.stems if len(s) - 1 <= length <= len(s) + 4]

    def _recognised_now(self, word: str) -> bool:
        return word in self.known or word.isdigit() or self._stem(word)

    def _stem(self, word: str) -> bool:
        return any(word.startswith(s[:-1]) for s in self.stem_index.get(word[:2], ()))

    def _stem_ending(self, word: str) -> bool:
        """A keyword stem of four letters or more plus a short ending: "detenid" + "o",
        not "parar" + "entar"."""
        return any(len(s) >= 5 and word.startswith(s[:-1]) and len(word) - len(s) <= 2
                   for s in self.stem_index.get(word[:2], ()))

    def _nearest(self, word: str) -> str:
        if len(word) < 5 or self._recognised(word):
            return word
        limit = 1 if len(word) < 9 else 2
        best = extractOne(word, self._near_words(len(word), limit), scorer=OSA.distance,
                          score_cutoff=limit)
        if best is not None:
            return best[0]
        for stem in self._near_stems(len(word)):  # a typo in a stem: "abogdo" -> "abogad" + "o"
            for cut in (len(stem) - 1, len(stem), len(stem) + 1):
                if len(word) - cut <= 3 and OSA.distance(word[:cut], stem) <= 1:
                    return stem + word[cut:]
        return word

    def _tests_now(self, word: str) -> frozenset[str]:
        """The keyword tests a word passes: itself, its classes, the stems it starts with."""
        stems = {s for s in self.stem_index.get(word[:2], ()) if word.startswith(s[:-1])}
        classes = set(self.class_exact.get(word, ()))
        classes.update(name for stem, name in self.class_stems.get(word[:3], ())
                       if word.startswith(stem))
        return frozenset({word} | stems | classes)

    def _message(self, words: list[str]) -> _Words:
        return _Words(words, [self._tests_of(w) for w in words],
                      [self._starts_of(w) for w in words])

    def _starts_now(self, word: str) -> tuple[_Starting, ...]:
        """The patterns the word's tests begin, by anchor."""
        return tuple(self.starting[test] for test in sorted(self._tests_of(word))
                     if test in self.starting)

    def language_of(self, words: list[str]) -> tuple[str | None, bool]:
        """The language whose words the message uses more (and whether by two or more),
        else a guess from its letters."""
        votes: dict[str, int] = defaultdict(int)
        for word in words:
            code = self._locale_of(word)
            if code is not None:
                votes[code] += 1
        ranked = sorted(votes.values(), reverse=True) + [0, 0]
        if ranked[0] > ranked[1]:
            winner = max(votes, key=votes.__getitem__)
            return winner, ranked[0] - ranked[1] >= 2
        return self.letters.guess(words), False

    def _locale_of_now(self, word: str) -> str | None:
        """The one language whose keywords know the word (None: none, several, a number)."""
        if word.isdigit():
            return None
        codes = [code for code, (exact, stems) in self.locale_tests.items()
                 if word in exact or word.startswith(stems)]
        return codes[0] if len(codes) == 1 else None

    def scores(self, msg: _Words) -> dict[str, float]:
        """Each intent's evidence. The heaviest matches are taken first and use up their
        words, so "signed by a judge" (door) leaves nothing for "signed" (sign), and a
        phrase listed under `unknown` ("sign up") silences the words inside it (language
        names too: "english classes"). A specific intent adds up its phrases and its best
        +-match; a generic one counts only its heaviest match. Weak keywords get the words
        left over, and count only when nothing specific matched."""
        present = msg.present
        ranked: list[tuple[bool, float, int, int, int, _Pattern]] = []
        for i, starts in enumerate(msg.starts):
            for alone, anchors, by_anchor in starts:
                candidates: Iterable[_Pattern] = alone
                common = anchors & present
                if common:
                    candidates = [*alone, *(p for a in common for p in by_anchor[a])]
                for pat in candidates:
                    if pat.needs <= present and (pat.single or msg.phrase_at(pat.parts[0], i)):
                        weak, weight, tie, order = pat.rank
                        ranked.append((weak, weight, tie, i, order, pat))
        # Heaviest first; between equals the higher priority, the earlier word, the
        # pattern listed first (`order` is unique: the pattern itself is never compared).
        ranked.sort()
        hits = [(pat.weight, i, pat) for _, _, _, i, _, pat in ranked]
        found: dict[str, float] = defaultdict(float)
        together: dict[str, float] = defaultdict(float)  # +-patterns: the best one counts
        weak: dict[str, float] = defaultdict(float)
        for weight, pat, span in self._take(hits, msg):
            if pat.intent == "unknown":
                msg.shadowed |= span
            elif pat.weak:
                weak[pat.intent] = max(weak[pat.intent], weight)
            elif pat.intent in self.generic:
                found[pat.intent] = max(found[pat.intent], weight)
            elif len(pat.parts) > 1:
                together[pat.intent] = max(together[pat.intent], weight)
            else:
                found[pat.intent] += weight
        for intent, weight in together.items():
            found[intent] += weight
        if not set(found) - self.generic:
            for intent, weight in weak.items():
                found[intent] = max(found[intent], weight)
        return found

    @staticmethod
    def _take(hits: list[tuple[float, int, _Pattern]],
              msg: _Words) -> Iterable[tuple[float, _Pattern, set[int]]]:
        """The matches in order, each with the words it uses, skipping any that would need
        a word an earlier match already took."""
        used: set[int] = set()
        for weight, i, pat in hits:
            span = {i} if pat.single else set(range(i, i + len(pat.parts[0])))
            if not used.isdisjoint(span):
                continue
            for part in pat.parts[1:]:
                more = msg.find(part, used | span)
                if more is None:
                    break
                span |= more
            else:
                used |= span
                yield weight, pat, span

    def target_language(self, words: list[str], locale: str | None,
                        shadowed: set[int] = frozenset()) -> str | None:
        """The language a message asks for: the one it names, or, when it says it does not
        speak the one it names ("no hablo inglés"), the one it is written in."""
        for i, word in enumerate(words):
            for name, code in self.names_by_first.get(word, ()):
                if tuple(words[i:i + len(name)]) != name or i in shadowed:
                    continue
                if not self.negations & set(words[max(0, i - 3):i]):
                    return code
                if locale and locale != code:
                    return locale
        return None

    def _tie_rank(self, intent: str) -> int:
        """Between equal matches: an `unknown` phrase first (it is there to shadow), then
        the intents' priority."""
        return len(self.rank) if intent == "unknown" else self.rank.get(intent, -1)

    def explain(self, text: str) -> dict[str, object]:
        """What the matcher saw: for `helpline classify --explain` and content editors."""
        words = self.words(text)
        scores = self.scores(self._message(words))
        return {"words": words, "scores": {i: round(s, 2) for i, s in scores.items()}}

    # -- the whole ---------------------------------------------------------------------
    def match(self, text: str) -> Match:
        if not text.strip():
            return Match("menu", None)
        words = self.words(text)
        locale, sure = self.language_of(words)
        if not words:
            return Match("unknown", None)
        if len(words) == 1 and words[0] in CARRIER_WORDS:
            return Match(CARRIER_WORDS[words[0]], None)
        digit = self._menu_digit(words)
        if digit:
            return Match(digit, locale)
        msg = self._message(words)
        found = self.scores(msg)
        target = self.target_language(words, locale, msg.shadowed)
        if target:
            found["language"] = max(found["language"], 1.0)
        specific = {i: s for i, s in found.items() if i not in self.generic}
        if words[0] in CARRIER_WORDS and len(words) <= 4 and not specific:
            return Match(CARRIER_WORDS[words[0]], locale)
        pool = self._pool(specific, {i: s for i, s in found.items() if i in self.generic})
        if not pool:
            return Match("unknown", locale)
        intent = max(pool, key=lambda i: (pool[i], self.rank.get(i, -1)))
        if intent == "language":
            return Match(intent, target or locale, target, pool[intent], True)
        return Match(intent, locale, None, pool[intent], sure)

    @staticmethod
    def _pool(specific: dict[str, float], generic: dict[str, float]) -> dict[str, float]:
        """Specific intents win, unless a generic one found much more ("hey what is this
        number for" is the menu, not the hotline)."""
        if not specific:
            return generic
        best = max(specific.values())
        strong = {i: s for i, s in generic.items() if s >= best + GENERIC_MARGIN}
        return strong or specific

    def _menu_digit(self, words: list[str]) -> str | None:
        """'4', '4 pls', 'opcion 4', 'uno': a menu choice; '99' or '4 agents here' is not."""
        digits = [self.numbers.get(w, w) for w in words if self.numbers.get(w, w) in self.menu]
        others = [w for w in words if self.numbers.get(w, w) not in self.menu]
        if len(digits) == 1 and len(others) <= 2 and all(
                w in self.stopwords or w in self.menu_words for w in others):
            return self.menu[digits[0]]
        return None
