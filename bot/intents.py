"""Understand a text: what it asks for, and in which language. A short pipeline, each
step its own module and each testable alone:

1. `text`: normalise the words and write out texting shorthand; `spelling`: correct a
   word the examples never use to the nearest one they do;
2. `language`: tell the language, learnt from each locale's examples and replies;
3. `rules`: the exact rules, only where exactness is the point (carrier words, menu
   digits, command words, language names);
4. `model`: the learned model, fitted from the labelled examples in `content/`;
5. `decide`: from its probabilities to one intent, weighing harm (urgent first, acting
   intents only when meant, `unknown` when nothing is sure).

`Matcher.match()` is pure; `explain()` shows what each step saw, for people who edit the
examples (`helpline classify --explain`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

from .content import CONTENT_INTENTS, Content
from .decide import decide
from .language import Guess, Languages
from .model import Model, fitted
from .rules import Ruled, Rules
from .spelling import Spelling
from .text import MAX_CHARS, Shorthand, normalise

__all__ = ["MAX_CHARS", "Match", "Matcher", "normalise"]
NOT_TOPICS = frozenset({"rights", "hotline", "report", "privacy", "thanks"})  # not a topic
TEXT_CACHE = 16_384  # whole messages read before ("hola", "4", "STOP") are looked up


class Match(NamedTuple):
    intent: str
    locale: str | None  # the language the message is written in, if it tells
    target: str | None = None  # for `language`: the language asked for
    score: float = 0.0  # the model's probability of `intent` (1.0 for a rule)
    sure: bool = False  # the language is plain enough to replace one remembered
    rule: str | None = None  # the exact rule that decided, if one did
    clear: bool = False  # the language is clear enough to remember when none is


class Matcher:
    """Built once from the content (the model fitted, or read from `cache`)."""

    def __init__(self, content: Content, cache: Path | None = None):
        self.shorthand = Shorthand(loc.abbreviations for loc in content.locales.values())
        self.rules = Rules(content)
        self.thresholds = content.thresholds
        seen = [self.shorthand(normalise(ex.text)) for ex in content.examples]
        replies = {code: [normalise(t.reply) for t in loc.texts.values()]
                   for code, loc in content.locales.items()}
        self.spelling = Spelling([*seen, *(w for r in replies.values() for w in r)])
        self.model: Model = fitted([" ".join(words) for words in seen],
                                   [ex.intents[0] for ex in content.examples], cache)
        self.languages = Languages({
            code: [*(w for w, ex in zip(seen, content.examples) if ex.locale == code),
                   *replies[code], [w for s in loc.stopwords for w in s.split()]]
            for code, loc in content.locales.items()})
        self.match = functools.lru_cache(maxsize=TEXT_CACHE)(self._match)

    def words(self, text: str) -> list[str]:
        return self.spelling(self.shorthand(normalise(text)))

    def probabilities(self, words: list[str]) -> dict[str, float]:
        return dict(zip(self.model.intents, self.model.probabilities(words).tolist()))

    def topic(self, text: str, least: float = 0.05, share: float = 0.6) -> str | None:
        """The rights topic a message is about besides what it asks for ("call me back
        about my court date" -> court): the likeliest topic, when the model gives it at
        least `least` and `share` of all the topics' probability (one topic stands out)."""
        probs = self.probabilities(self.words(text))
        topics = {i: probs[i] for i in CONTENT_INTENTS if i in probs and i not in NOT_TOPICS}
        best = max(topics, key=topics.__getitem__, default=None)
        if best is None or topics[best] < least or topics[best] < share * sum(topics.values()):
            return None
        return best

    def _match(self, text: str) -> Match:
        if not text.strip():
            return Match("menu", None, rule="empty message")
        words = self.words(text)
        if not words:  # emoji or punctuation only
            return Match("unknown", None, rule="no words")
        guess = self.languages.guess(words)
        ruled = self.rules.decide(words, guess.locale)
        if ruled is not None:
            return self._ruled(ruled, guess)
        decision = decide(self.probabilities(words), self.thresholds)
        if decision.intent == "language":
            named = self.rules.named_language(words, guess.locale)
            target = named[0] if named else None
            return Match("language", target or guess.locale, target, decision.probability,
                         True, clear=True)
        return Match(decision.intent, guess.locale, None, decision.probability, guess.sure,
                     clear=guess.clear)

    @staticmethod
    def _ruled(ruled: Ruled, guess: Guess) -> Match:
        if ruled.intent == "language":  # a name asks for it; "idioma" asks which
            locale = ruled.target or ruled.locale or guess.locale
            asked = ruled.target is not None
            return Match("language", locale, ruled.target, 1.0, asked, ruled.rule, asked)
        if ruled.rule.startswith("carrier"):  # STOP says nothing of a language
            return Match(ruled.intent, None, None, 1.0, False, ruled.rule)
        return Match(ruled.intent, ruled.locale or guess.locale, None, 1.0, guess.sure,
                     ruled.rule, guess.clear)

    def explain(self, text: str, most: int = 3) -> dict[str, object]:
        """What each step saw, in order: for `helpline classify --explain`."""
        words = self.words(text)
        guess = self.languages.guess(words)
        ruled = self.rules.decide(words, guess.locale) if words else None
        probs = self.probabilities(words)
        top = sorted(probs, key=probs.__getitem__, reverse=True)[:most]
        decision = decide(probs, self.thresholds)
        return {
            "words": words,
            "language": {"locale": guess.locale, "probability": round(guess.probability, 3),
                         "sure": guess.sure},
            "rule": ruled.rule if ruled else None,
            "top": {i: round(probs[i], 3) for i in top},
            "decision": None if ruled else decision.why,
            "evidence": self.model.evidence(words, top[0]) if words else [],
        }
