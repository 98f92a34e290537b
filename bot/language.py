"""Step 2 of understanding: the language a message is written in, learnt from the content.

Each locale's examples, its reviewed replies and its everyday words (`rules.yaml`
stopwords) teach a small naive Bayes model of its words and of the letters in them
(runs of three, so "vendo tamales" is Spanish though no example says it). A message is
in the language whose words and letters it shares more, with a probability; `sure` is
whether that is plain enough to remember for the sender: two words or more and a clear
margin. One word answers in its language but does not replace a language remembered
("lawyer" from a Spanish speaker); a clear one ("hola", not "ok") fills an empty memory.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import NamedTuple

WORD_WEIGHT = 3.0  # a whole word tells more than one run of letters in it
SURE = 0.98  # two words or more, this probable: the language replaces one remembered
CLEAR = 0.9999  # this probable: remembered when none is ("hola" 0.9999998, "ok" 0.998)
SMOOTHING = 0.5
WORD_CACHE = 65_536


class Guess(NamedTuple):
    locale: str | None  # None: nothing in the message tells (digits, emoji)
    probability: float
    sure: bool  # plain enough to replace a language remembered for the sender
    clear: bool = False  # clear enough to remember when none is ("hola", not "ok")


def _tokens(word: str) -> list[str]:
    padded = f" {word} "
    return [f"w:{word}"] + [padded[i:i + 3] for i in range(len(padded) - 2)]


class Languages:
    def __init__(self, texts: Mapping[str, Iterable[list[str]]]):
        counts: dict[str, dict[str, float]] = {}
        for code, documents in texts.items():
            seen: dict[str, float] = defaultdict(float)
            for words in documents:
                for word in words:
                    if not word.isdigit():
                        for token in _tokens(word):
                            seen[token] += 1.0
            counts[code] = seen
        vocabulary = set().union(*counts.values())
        self.codes = tuple(texts)
        self.logp: dict[str, dict[str, float]] = {}
        self.floor: dict[str, float] = {}
        for code, seen in counts.items():
            total = sum(seen.values()) + SMOOTHING * (len(vocabulary) + 1)
            self.logp[code] = {t: math.log((n + SMOOTHING) / total) for t, n in seen.items()}
            self.floor[code] = math.log(SMOOTHING / total)
        self.known = frozenset(vocabulary)
        self._word = functools.lru_cache(maxsize=WORD_CACHE)(self._word_now)

    def _word_now(self, word: str) -> tuple[int, tuple[float, ...]]:
        """What one word tells: how many of its tokens any locale knows, and each
        locale's log-likelihood of them (worked out once per word and kept)."""
        told = 0
        score = [0.0] * len(self.codes)
        for token in _tokens(word):
            if token not in self.known:
                continue  # unseen everywhere: tells nothing
            told += 1
            weight = WORD_WEIGHT if token[:2] == "w:" else 1.0
            for k, code in enumerate(self.codes):
                score[k] += weight * self.logp[code].get(token, self.floor[code])
        return told, tuple(score)

    def guess(self, words: Iterable[str]) -> Guess:
        words = [w for w in words if not w.isdigit()]
        score = [0.0] * len(self.codes)
        told = 0
        for word in words:
            n, each = self._word(word)
            told += n
            score = [a + b for a, b in zip(score, each)]
        if not told:
            return Guess(None, 0.0, False)
        top = max(score)
        best = self.codes[score.index(top)]
        probability = 1.0 / sum(math.exp(s - top) for s in score)
        return Guess(best, probability, len(words) >= 2 and probability >= SURE,
                     probability >= CLEAR)
