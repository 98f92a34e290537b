"""What the replies cost: characters, encoding and SMS segments of every reply in every
locale (the drafted ones too, all live at once: the menus as four languages make them),
as sent by default and with HELPLINE_SMS_ENCODING=gsm7."""

from __future__ import annotations

import statistics

from pathlib import Path

from bot import DEFAULTS, sms
from bot.content import locale_codes
from bot.conversation import Helpline

from .engine import build


def as_sent(bot: Helpline, text: str, code: str | None = None) -> str:
    """The text an SMS carries: the engine's own SMS formatting (gsm7 replacements, and
    a locale's own `sms_encoding`)."""
    formats = getattr(bot, "formats", None)
    if formats is not None and "sms" in formats:
        return formats["sms"](text, code)
    return sms.to_gsm7(text) if bot.gsm7 else text


def replies(encoding: str) -> list[dict[str, object]]:
    bot = build(encoding, locales=locale_codes(Path(DEFAULTS["CONTENT_DIR"])))
    rows = []
    for name, code, text in bot.all_replies():
        sent = as_sent(bot, text, code)
        seg = sms.segments(sent)
        rows.append({"reply": name, "locale": code, "chars": len(sent),
                     "encoding": seg.encoding, "units": seg.units, "segments": seg.count})
    return rows


def totals(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    out = {}
    for code in dict.fromkeys(str(r["locale"]) for r in rows):
        mine = [r for r in rows if r["locale"] == code]
        counts = [int(r["segments"]) for r in mine]
        out[code] = {"replies": len(mine), "chars": sum(int(r["chars"]) for r in mine),
                     "segments": sum(counts), "median_segments": statistics.median(counts),
                     "max_segments": max(counts),
                     "ucs2_replies": sum(r["encoding"] == "UCS-2" for r in mine)}
    return out


def measure() -> dict[str, object]:
    out: dict[str, object] = {}
    for encoding in ("auto", "gsm7"):
        rows = replies(encoding)
        out[encoding] = {"replies": rows, "totals": totals(rows)}
    return out
