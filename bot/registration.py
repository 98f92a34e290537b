"""`helpline registration`: what the A2P 10DLC campaign form (Charity use case) and the
toll-free verification form ask for, taken from the content and settings this bot serves,
so what the carriers review is what texters get."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .content import CARRIER_WORDS, HELP_WORDS, OPT_IN_IF_OPTED_OUT
from .conversation import Helpline

SAMPLE_INTENTS = ("door", "silent", "rights")  # reviewed replies shown as samples
_LINK = re.compile(r"^(https?://|www\.)?[\w-]+(\.[\w-]+)+(/\S*)?$", re.I)
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{6,}$")


def _words(intent: str) -> list[str]:
    return [w.upper() for w, i in CARRIER_WORDS.items() if i == intent]


def form(bot: Helpline, config: Mapping[str, object]) -> str:
    """The answers, as plain text to copy into the forms."""
    en = "en" if "en" in bot.codes else bot.default
    public = str(config.get("PUBLIC_URL") or "https://YOUR-HOST").rstrip("/")
    org = bot.facts["org_name"]
    service = bot.content.locales[en].service
    replies = [text for _, _, text in bot.all_replies()]
    used = {v for v in bot.facts.values() if any(v in t for t in replies)}
    links = sorted(v for v in used if _LINK.match(v) and "@" not in v)
    phones = sorted(v for v in used if _PHONE.match(v))
    languages = ", ".join(bot.codes)
    if config.get("CONFIRM_STOP"):
        opt_out = bot.stop_text(en)
    else:
        opt_out = ("(sent by Twilio, not by the bot: its default confirmation, or the text "
                   "you set under Advanced Opt-Out in the Messaging Service)")
    samples = [bot.content.locales[en].texts[i].reply for i in SAMPLE_INTENTS]
    if "es" in bot.codes and en != "es":
        samples.append(bot.content.locales["es"].texts["door"].reply)
    lines = [
        f"# Carrier registration for {service} ({org})",
        "# From the content and settings this bot serves now; re-run after changing them.",
        "",
        "## A2P 10DLC campaign (use case: Charity, for a 501(c)(3) brand)",
        "",
        "Campaign description:",
        f"  {org} runs {service}, an information line for immigrant communities. People "
        "text the number with questions about their rights when immigration agents come "
        "to their door, stop them or detain a relative. Each message gets one short reply "
        "with reviewed general information, in the texter's language "
        f"({languages}), or the number of a hotline staffed by people. The service never "
        "texts anyone first: every message it sends is a reply to one it received. No "
        "marketing, no lists, no links to shorteners.",
        "",
        "How people opt in (message flow / call to action):",
        "  People opt in by texting the number first (any word, e.g. HOLA, HELP or a "
        f"question); {org} publishes the number on flyers, social media and the web "
        f"page {public}/. The bot never sends a message to a number that has not texted it, "
        "and every reply is an answer to the message just received. Terms: "
        f"{public}/terms. Privacy: {public}/privacy.",
        "",
        "Opt-in keywords: (any message starts the conversation); after STOP: "
        + ", ".join(_words("start") + sorted(w.upper() for w in OPT_IN_IF_OPTED_OUT)),
        "Opt-in message:",
        f"  {bot.help_text(en)}",
        "",
        "Opt-out keywords: " + ", ".join(_words("stop")),
        "Opt-out message:",
        f"  {opt_out}",
        "",
        "Help keywords: " + ", ".join(sorted(w.upper() for w in HELP_WORDS)),
        "Help message:",
        f"  {bot.help_text(en)}",
        "",
    ]
    for n, sample in enumerate(samples, 1):
        lines += [f"Sample message {n}:", "  " + sample.replace("\n", "\n  "), ""]
    lines += [
        f"Embedded links: {'Yes' if links else 'No'}"
        + (f" (written out, no shorteners: {', '.join(links)})" if links else ""),
        f"Embedded phone numbers: {'Yes' if phones else 'No'}"
        + (f" ({', '.join(phones)})" if phones else ""),
        "Age-gated content: No. Direct lending or loans: No.",
        f"Privacy policy URL: {public}/privacy",
        f"Terms and conditions URL: {public}/terms",
        "",
        "## Toll-free verification",
        "",
        "Use case: nonprofit information line (pick the closest category offered).",
        "Use case summary: as the campaign description above.",
        "Opt-in type: Via Text (people text the number first).",
        f"Opt-in image / proof of consent URL: {public}/ (the web page that publishes the "
        "number), or a photo of the flyer.",
        "Production message sample:",
        "  " + samples[0].replace("\n", "\n  "),
        f"Privacy policy URL: {public}/privacy",
        f"Terms URL: {public}/terms",
        "Estimated monthly volume: from `helpline stats` (messages per day).",
    ]
    return "\n".join(lines) + "\n"
