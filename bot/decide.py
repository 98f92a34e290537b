"""Step 5 of understanding: from the model's probabilities to one intent, weighing harm.

An urgent text answered as a calm topic is the worst error (someone at the door gets the
overview); a calm text answered as urgent wastes the hotline's time; an intent that acts
(STOP silences the bot, FORGET deletes the record) must be meant. So, in order:

1. urgent: the most likely urgent intent is answered when its probability reaches
   `urgent`, even if a calm topic is a little more likely;
2. intents that act need at least their `least` probability, else the next best;
3. `unknown` (the fallback, which gives the hotline) when nothing reaches `unknown`.

The thresholds are data (content/understanding.yaml), chosen on the held-back examples by
`helpline model --tune`, which writes down the figures they gave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Thresholds:
    urgent: float = 0.3
    unknown: float = 0.25
    urgent_intents: frozenset[str] = frozenset({"door", "detained", "report", "hotline"})
    least: Mapping[str, float] = field(default_factory=dict)


class Decision(NamedTuple):
    intent: str
    probability: float
    why: str


def decide(probabilities: Mapping[str, float], th: Thresholds) -> Decision:
    ranked = sorted(probabilities, key=lambda i: (-probabilities[i], i))
    urgent = [i for i in ranked if i in th.urgent_intents]
    if urgent and probabilities[urgent[0]] >= th.urgent:
        why = ("most likely, and urgent" if urgent[0] == ranked[0] else
               f"urgent: {probabilities[urgent[0]]:.2f} >= {th.urgent} outweighs "
               f"{ranked[0]} {probabilities[ranked[0]]:.2f}")
        return Decision(urgent[0], probabilities[urgent[0]], why)
    for intent in ranked:
        p = probabilities[intent]
        if p < th.unknown:
            break
        if p >= th.least.get(intent, 0.0):
            why = "most likely" if intent == ranked[0] else \
                f"{ranked[0]} needs {th.least[ranked[0]]}: next best"
            return Decision(intent, p, why)
    best = ranked[0]
    return Decision("unknown", probabilities.get("unknown", 0.0),
                    f"nothing sure enough: {best} {probabilities[best]:.2f} < {th.unknown}")


def choose(rows: Sequence[tuple[Mapping[str, float], Sequence[str]]], base: Thresholds,
           urgent_miss: float = 5.0, false_alarm: float = 1.0) -> tuple[Thresholds, float]:
    """The thresholds that cost least on labelled rows (probabilities, acceptable intents):
    a missed urgent text costs `urgent_miss`, an urgent answer to a calm text
    `false_alarm`, any other wrong answer 1."""
    best: tuple[float, Thresholds] | None = None
    for urgent in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6):
        for unknown in (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
            th = Thresholds(urgent, unknown, base.urgent_intents, base.least)
            cost = 0.0
            for probs, wanted in rows:
                got = decide(probs, th).intent
                if got in wanted:
                    continue
                if th.urgent_intents & set(wanted):
                    cost += urgent_miss
                elif got in th.urgent_intents:
                    cost += false_alarm
                else:
                    cost += 1.0
            if best is None or cost < best[0]:
                best = (cost, th)
    assert best is not None
    return best[1], best[0]
