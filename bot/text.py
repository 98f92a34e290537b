"""Step 1 of understanding: a text's words in one normal form, the same for the examples
the model learns from and for every message it reads.

Case, accents, apostrophes, punctuation, emoji and letters repeated three or more times
go ("¡¡AYUDAAA!! La MIGRA está aquí 🚨" -> ayuda la migra esta aqui); texting shorthand
from the content (`rules.yaml`: "q" -> "que", "pls" -> "please") is written out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

MAX_CHARS = 1600  # Twilio's own limit on a message body; longer input is cut first
_NOT_WORD = re.compile(r"[^a-z0-9\u3400-\u4dbf\u4e00-\u9fff]+")
# Chinese is written without spaces: each ideograph is a word of its own, so the model's
# word pairs are the character pairs Chinese word segmenters start from.
_IDEOGRAPH = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff])")
# Letters NFKD leaves whole (Polish ł, Danish ø, German ß ...) and their plain forms.
_FOLD = str.maketrans({"ł": "l", "ø": "o", "ß": "ss", "đ": "d", "ħ": "h", "ı": "i",
                       "æ": "ae", "œ": "oe", "þ": "th"})
_REPEATS = re.compile(r"([a-z])\1{2,}")
_MARKS = re.compile(r"[\u0300-\u036f]")  # combining accents, after NFKD
_APOSTROPHES = re.compile(r"(?<=[a-z])['\u2019](?=[a-z])")


def normalise(text: str) -> list[str]:
    """'¡¡Ayudaaa!! La MIGRA está aquí 🚨' -> ['ayuda', 'la', 'migra', 'esta', 'aqui'];
    "don't" -> ['dont']; 'Złe wieści' -> ['zle', 'wiesci'];
    '我被抓了' -> ['我', '被', '抓', '了']."""
    text = text[:MAX_CHARS].casefold()
    if not text.isascii():  # most texts are: no accents to take off
        text = _MARKS.sub("", unicodedata.normalize("NFKD", text)).translate(_FOLD)
        text = _IDEOGRAPH.sub(r" \1 ", text)
    text = _APOSTROPHES.sub("", text)
    text = _REPEATS.sub(r"\1", text)
    return _NOT_WORD.sub(" ", text).split()


class Shorthand:
    """Texting shorthand written out, word by word ("xq" -> "porque") and phrase by phrase
    ("por favor" -> "porfavor"), from every locale's `abbreviations`."""

    def __init__(self, tables: Iterable[Mapping[str, str]]):
        self.words: dict[str, tuple[str, ...]] = {}
        self.phrases: list[tuple[str, str]] = []
        for table in tables:
            for short, long in table.items():
                short, long = " ".join(normalise(short)), " ".join(normalise(long))
                if " " in short:
                    self.phrases.append((f" {short} ", f" {long} "))
                elif short:
                    self.words[short] = tuple(long.split())

    def __call__(self, words: list[str]) -> list[str]:
        out = [long for word in words for long in self.words.get(word, (word,))]
        if self.phrases and len(out) > 1:
            joined = f" {' '.join(out)} "
            for short, long in self.phrases:
                if short in joined:
                    joined = joined.replace(short, long)
            out = joined.split()
        return out
