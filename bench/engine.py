"""The engine alone: messages per second and microseconds per message for
`Helpline.respond` (understanding plus rendering the reply), on one core."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot import DEFAULTS, content_settings
from bot.content import load as load_content
from bot.conversation import Helpline

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def build(encoding: str = "auto", fresh: bool = False,
          locales: list[str] | None = None) -> Helpline:
    """The engine the webhook builds, from the default settings, without its cache of
    whole messages (a worker keeps one: "hola", "4" and "STOP" come again and again, but
    a figure that only measured look-ups would say nothing of the pipeline). `fresh`:
    no word seen before either (the per-word caches of the model and the language step
    emptied, as in a new worker). `locales`: these instead of the default live ones."""
    content = load_content(DEFAULTS["CONTENT_DIR"], content_settings(DEFAULTS),
                           DEFAULTS["LOCALES"].split(",") if locales is None else locales)
    bot = Helpline(content, Path(DEFAULTS["LOCALES_DIR"]), DEFAULTS["DEFAULT_LOCALE"],
                   encoding)
    matcher = bot.matcher
    matcher.match = matcher._match  # type: ignore[method-assign]
    if fresh:
        for cache in (matcher.model._word_rows, matcher.languages._word,
                      matcher.spelling.correct):
            cache.cache_clear()
    return bot


def texts(path: Path = DATA / "dev.jsonl") -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


@contextmanager
def one_core(cpu: int = 0) -> Iterator[None]:
    """Run the block on one CPU only (where the OS lets us choose)."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu if cpu in before else min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, round(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def timed(bot: Helpline, messages: list[str]) -> dict[str, float]:
    """One pass: every message answered for a new sender; per-message times in µs."""
    took: list[int] = []
    clock = time.perf_counter_ns
    respond = bot.respond
    started = clock()
    for text in messages:
        t0 = clock()
        respond(text, None)
        took.append(clock() - t0)
    wall = (clock() - started) / 1e9
    took.sort()
    return {"messages": len(messages), "msg_per_s": len(messages) / wall,
            "p50_us": percentile(took, 50) / 1000, "p99_us": percentile(took, 99) / 1000,
            "max_us": took[-1] / 1000}


def warm(runs: int = 5, repeats: int = 30) -> dict[str, object]:
    """The dev messages repeated: the steady state of a worker that has seen their words
    before (per-word caches warm; each message read through the whole pipeline). Median
    of `runs` passes."""
    bot = build()
    dev = texts()
    with one_core():
        timed(bot, dev)  # first sight of every word: not part of the steady state
        passes = [timed(bot, dev * repeats) for _ in range(runs)]
    return {"set": "tests/data/dev.jsonl", "distinct": len(dev), "repeats": repeats,
            "runs": runs, **median_of(passes), "passes": passes}


def cold(runs: int = 3) -> dict[str, object]:
    """Every labelled message once (the examples and the held-back texts), each pass on a
    freshly built engine: no message read before, so every one goes through the whole
    pipeline (spelling for unknown words, the language, the rules, the model)."""
    content = build().content
    every = [ex.text for ex in (*content.examples, *content.heldback)]
    passes = []
    with one_core():
        for _ in range(runs):
            bot = build(fresh=True)
            passes.append(timed(bot, every))
    return {"set": "content/**/examples.yaml + heldback.yaml", "distinct": len(set(every)),
            "runs": runs, **median_of(passes), "passes": passes}


def median_of(passes: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(p[key] for p in passes)
            for key in ("msg_per_s", "p50_us", "p99_us", "max_us")}
