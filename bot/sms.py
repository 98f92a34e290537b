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

# Characters outside GSM-7 that have a close GSM-7 stand-in (the way Twilio's Smart
# Encoding replaces them); used by the optional gsm7 mode.
_SMART = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u2022": "-", "\u00ab": '"', "\u00bb": '"',
}


@dataclass(frozen=True)
class Segments:
    """How a text travels: its encoding, its length in code units, and its parts."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    count: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


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
    """Replace characters outside GSM-7 with the nearest GSM-7 ones (á→a, “→")."""
    out = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
            out.append(ch)
        elif ch in _SMART:
            out.append(_SMART[ch])
        else:
            base = unicodedata.normalize("NFKD", ch)[0]
            out.append(base if base in GSM7_BASIC else "")
    return "".join(out)
