"""Message understanding, measured: labelled messages go through the engine and the
scores must reach the targets (the semantics of tests/score.py: `intents` lists the
acceptable ids; a null `locale` is not scored).

- dev.jsonl: the team's labelled examples (copied from the shared eval folder);
- messages, blind, final, holdout2 ... holdout5: larger sets written separately and
  blind (other words, other typos, other slang), each first used to measure the matcher
  honestly, then (but for the newest, holdout5) to tune it; now a guard that it keeps
  generalising.
"""

from __future__ import annotations

import json

import pytest

from conftest import DATA_DIR

URGENT = frozenset({"door", "detained", "report", "hotline"})
# file: (min intent accuracy, min urgent accuracy, min locale accuracy)
TARGETS = {
    "dev.jsonl": (0.98, 1.0, 0.95),
    "messages.jsonl": (0.95, 0.97, 0.97),
    "blind.jsonl": (0.95, 0.97, 0.97),
    "final.jsonl": (0.95, 0.97, 0.97),
    "holdout2.jsonl": (0.95, 0.97, 0.97),
    "holdout3.jsonl": (0.95, 0.97, 0.97),
    "holdout4.jsonl": (0.95, 0.97, 0.97),
    "holdout5.jsonl": (0.95, 0.97, 0.97),
}


def _rows(name: str) -> list[dict]:
    rows = [json.loads(line) for line in (DATA_DIR / name).read_text(
        encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 100
    return rows


@pytest.fixture(scope="module", params=sorted(TARGETS))
def results(request, engine):
    out = []
    for row in _rows(request.param):
        reply = engine.respond(row["text"].replace("\n", " "), None)
        out.append((row, reply.intent, reply.locale))
    return request.param, out


def _report(misses: list[str], hits: int, total: int) -> str:
    return f"{hits}/{total} = {hits / total:.1%}\n" + "\n".join(misses)


def test_intent_accuracy(results):
    name, results = results
    misses = [f"{row['text']!r}: want {'|'.join(row['intents'])}, got {intent}"
              for row, intent, _ in results if intent not in row["intents"]]
    hits = len(results) - len(misses)
    assert hits / len(results) >= TARGETS[name][0], _report(misses, hits, len(results))


def test_urgent_messages_are_understood(results):
    name, results = results
    urgent = [(row, intent) for row, intent, _ in results if URGENT & set(row["intents"])]
    assert urgent
    misses = [f"{row['text']!r}: want {'|'.join(row['intents'])}, got {intent}"
              for row, intent in urgent if intent not in row["intents"]]
    hits = len(urgent) - len(misses)
    assert hits / len(urgent) >= TARGETS[name][1], _report(misses, hits, len(urgent))


def test_locale_accuracy(results):
    name, results = results
    scored = [(row, locale) for row, _, locale in results if row.get("locale")]
    assert scored
    misses = [f"{row['text']!r}: want {row['locale']}, got {locale}"
              for row, locale in scored if locale != row["locale"]]
    hits = len(scored) - len(misses)
    assert hits / len(scored) >= TARGETS[name][2], _report(misses, hits, len(scored))
