"""SMS encoding and segment counting (GSM 03.38 and UCS-2), as carriers bill them."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

# GSM 03.38 basic character set (one septet each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet plus itself.
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

MAX_SEGMENTS = 4

# Characters outside GSM-7 that have a close GSM-7 stand-in, as Twilio's Smart Encoding
# replaces them (its published list: quotes, apostrophes, dashes, spaces, ellipsis, and
# full-width forms, which NFKD below turns into their ASCII selves); used by gsm7 mode.
_SMART = {
    **dict.fromkeys("\u00ab\u00bb\u201c\u201d\u02ba\u02ee\u201f\u275d\u275e\u301d\u301e"
                    "\uff02\u201e\u2033", '"'),
    **dict.fromkeys("\u2018\u2019\u02bb\u02c8\u02bc\u02bd\u02b9\u201b\uff07\u00b4\u02ca"
                    "\u0060\u02cb\u275b\u275c\u0313\u0314\ufe10\ufe11\u201a\u2032", "'"),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe63\uff0d"
                    "\u2022\u23bc\u23bd", "-"),
    **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                    "\u2009\u200a\u202f\u205f\u3000", " "),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", ""),  # invisible: dropped
    "\u0142": "l", "\u0141": "L",  # Polish ł and Ł, which NFKD leaves whole
    "\u2026": "...", "\u2044": "/", "\u2215": "/", "\u00f7": "/", "\u2223": "|",
}
_GSM7 = GSM7_BASIC | GSM7_EXTENDED


@dataclass(frozen=True)
class Segments:
    """How a text travels: its encoding, its length in code units, and its parts."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    count: int


def is_gsm7(text: str) -> bool:
    return _GSM7.issuperset(text)


def segments(text: str) -> Segments:
    """Count the SMS segments `text` costs: 160/153 septets or 70/67 UCS-2 units."""
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    count = 1 if units <= single else math.ceil(units / multi)
    return Segments(encoding, units, count)


def to_gsm7(text: str) -> str:
    """Replace characters outside GSM-7 with the nearest GSM-7 ones (á→a, “→", —→-,
    ¼→1/4); ñ, é, ü, ¿ and ¡ are GSM-7 and stay. A character with no stand-in (an emoji)
    is dropped."""
    if is_gsm7(text):
        return text
    return "".join(ch if ch in _GSM7 else _stand_in(ch) for ch in text)


def _stand_in(ch: str) -> str:
    if ch in _SMART:
        return _SMART[ch]
    parts = [_SMART.get(c, c) for c in unicodedata.normalize("NFKD", ch)
             if not unicodedata.combining(c)]
    return "".join(parts) if parts and all(c in _GSM7 for p in parts for c in p) else ""
