"""How well the bot understands, measured on labelled texts: for `helpline model`, the
tests, and people who edit the examples.

Figures: intent accuracy; recall of each intent; urgent recall (texts labelled door,
detained, report or hotline answered with one of their labels); urgent false alarms
(texts with no urgent label answered with an urgent intent, as a share of those); locale
accuracy; and the most confused pairs. Cross-validation refits the model on part of the
examples and measures it on the rest: an honest figure for texts like the examples, but
only a fresh set written blind predicts texts from people nobody here has read.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .content import Content, Example
from .intents import Matcher


@dataclass
class Report:
    total: int = 0
    hits: int = 0
    urgent: int = 0
    urgent_hits: int = 0
    calm: int = 0
    alarms: int = 0
    located: int = 0
    locale_hits: int = 0
    per_intent: Counter = field(default_factory=Counter)  # texts whose first label is it
    per_intent_hits: Counter = field(default_factory=Counter)
    confused: Counter = field(default_factory=Counter)  # (wanted, got) -> count
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # text, wanted, got

    def add(self, ex: Example, intent: str, locale: str | None, urgent: frozenset[str]) -> None:
        ok = intent in ex.intents
        self.total += 1
        self.hits += ok
        self.per_intent[ex.intents[0]] += 1
        self.per_intent_hits[ex.intents[0]] += ok
        if urgent & set(ex.intents):
            self.urgent += 1
            self.urgent_hits += ok
        else:
            self.calm += 1
            self.alarms += intent in urgent
        if ex.locale:
            self.located += 1
            self.locale_hits += locale == ex.locale
        if not ok:
            self.confused[(ex.intents[0], intent)] += 1
            self.misses.append((ex.text, "|".join(ex.intents), intent))

    def recall(self, intent: str) -> float:
        n = self.per_intent[intent]
        return self.per_intent_hits[intent] / n if n else 1.0

    @property
    def figures(self) -> dict[str, float]:
        return {"intent": self.hits / self.total if self.total else 1.0,
                "urgent recall": self.urgent_hits / self.urgent if self.urgent else 1.0,
                "urgent false alarms": self.alarms / self.calm if self.calm else 0.0,
                "locale": self.locale_hits / self.located if self.located else 1.0}

    def summary(self) -> str:
        f = self.figures
        return (f"intent {f['intent']:.1%} ({self.hits}/{self.total}), urgent recall "
                f"{f['urgent recall']:.1%} ({self.urgent_hits}/{self.urgent}), urgent false "
                f"alarms {f['urgent false alarms']:.1%} ({self.alarms}/{self.calm}), locale "
                f"{f['locale']:.1%} ({self.locale_hits}/{self.located})")

    def lines(self, confusions: int = 8) -> list[str]:
        out = [self.summary(), "recall per intent:"]
        out += [f"  {intent:<10} {self.recall(intent):6.1%}  ({self.per_intent_hits[intent]}"
                f"/{n})" for intent, n in sorted(self.per_intent.items())]
        if self.confused:
            out.append("most confused (wanted -> answered):")
            out += [f"  {a} -> {b}: {n}" for (a, b), n in self.confused.most_common(confusions)]
        return out


def score(matcher: Matcher, examples: Iterable[Example]) -> Report:
    report = Report()
    for ex in examples:
        match = matcher.match(ex.text)
        report.add(ex, match.intent, match.locale, matcher.thresholds.urgent_intents)
    return report


def with_examples(content: Content, examples: Sequence[Example]) -> Matcher:
    """The whole pipeline learnt from `examples` only (the model, the spelling's words and
    the language model alike), for cross-validation: nothing of the held-out fold leaks."""
    return Matcher(dataclasses.replace(content, examples=tuple(examples)))


Scored = tuple[dict[str, float], Sequence[str]]  # a model's probabilities, the labels


def cross_validate(content: Content, folds: int = 5,
                   scored: list[Scored] | None = None) -> Report:
    """Each example measured by a model fitted without it: every `folds`-th example
    (after sorting by intent, so each fold holds every intent) is held out in turn.
    `scored` collects the out-of-fold probabilities of the texts no rule decides (what
    `helpline model --tune` chooses the thresholds on)."""
    ordered = sorted(content.examples, key=lambda ex: (ex.intents[0], ex.text))
    report = Report()
    for k in range(folds):
        train = [ex for i, ex in enumerate(ordered) if i % folds != k]
        test = [ex for i, ex in enumerate(ordered) if i % folds == k]
        fold = with_examples(content, train)
        for ex in test:
            match = fold.match(ex.text)
            report.add(ex, match.intent, match.locale, content.thresholds.urgent_intents)
            if scored is not None and match.rule is None:
                scored.append((fold.probabilities(fold.words(ex.text)), ex.intents))
    return report


def probabilities(matcher: Matcher, examples: Iterable[Example]) -> list[Scored]:
    """The model's probabilities for the texts no rule decides."""
    out = []
    for ex in examples:
        if matcher.match(ex.text).rule is None:
            out.append((matcher.probabilities(matcher.words(ex.text)), ex.intents))
    return out
