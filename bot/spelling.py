"""Between normalising and the model: a word the examples never use is corrected to the
nearest word they do, when one is a single edit away (two for words of nine letters or
more): "puetra" -> "puerta", "abogdo" -> "abogado". Short words are left alone (too many
are one edit from another), and nothing is ever corrected into a carrier word: STOP
must be typed, not guessed.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable

from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

from .content import CARRIER_WORDS

SHORTEST = 5  # words under five letters are never corrected
MIN_USES = 2  # a word is a correction target when the examples use it this often
CACHE = 65_536


class Spelling:
    def __init__(self, texts: Iterable[list[str]]):
        uses = Counter(w for words in texts for w in words)
        self.known = frozenset(uses)
        targets = sorted(w for w, n in uses.items()
                         if n >= MIN_USES and w.isalpha() and w not in CARRIER_WORDS)
        self.by_length: dict[int, list[str]] = {}
        for word in targets:
            self.by_length.setdefault(len(word), []).append(word)
        self.correct = functools.lru_cache(maxsize=CACHE)(self._correct)

    def __call__(self, words: list[str]) -> list[str]:
        return [w if w in self.known else self.correct(w) for w in words]

    def _correct(self, word: str) -> str:
        if len(word) < SHORTEST or not word.isalpha():
            return word
        limit = 1 if len(word) < 9 else 2
        near = [w for n in range(len(word) - limit, len(word) + limit + 1)
                for w in self.by_length.get(n, ())]
        best = extractOne(word, near, scorer=OSA.distance, score_cutoff=limit)
        return best[0] if best is not None else word
