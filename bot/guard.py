"""Exactly one reply per message, and limits against loops and abuse.

Every key written here is an HMAC under the operator's secret, of a purpose and an
address (or a message id): the store sees opaque keys and counters, never a number, a
message id or an intent tied to a sender. The checks are single atomic operations in the
store (insert-if-absent, increment-and-return), so several workers and instances agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

from .conversation import State
from .store import DAY, Store, pseudonym


UNKNOWN = "unknown"  # answered before memos were kept: how is not known
TAKEN = "taken"  # the claim is this delivery's now: answer it


class Answered(NamedTuple):
    """How a message was answered, kept with its claim so that a retry (the first
    answer lost: a worker killed, Twilio's 15 s passed) gets the same reply again from
    the same words, with nothing counted twice: the sender's record as it was before
    the message, and the limit the reply broke, if any. No text, no sender."""

    state: State | None
    limited: str | None

    def memo(self) -> str:
        if self.state is None:
            return f":-:{self.limited or ''}"
        return f"{self.state.locale or ''}:{int(self.state.opted_out)}:{self.limited or ''}"

    @classmethod
    def of(cls, memo: str) -> Answered | None:
        """None for a claim without a memo (made before memos were kept)."""
        try:
            locale, opted_out, limited = memo.split(":")
        except ValueError:
            return None
        state = None if opted_out == "-" else State(locale or None, opted_out == "1")
        return cls(state, limited or None)


@dataclass(frozen=True)
class Limits:
    per_minute: int = 5  # replies to one sender within a minute of the first
    per_day: int = 60  # ... within a day of the first
    loop_repeats: int = 3  # the same reply, each within loop_seconds of the last
    loop_seconds: int = 60
    duplicate_seconds: int = DAY  # how long an answered MessageSid is remembered

    @classmethod
    def from_config(cls, config: dict, prefix: str = "") -> Limits:
        """HELPLINE_RATE_PER_MINUTE ... or, with prefix "WEB_", the web page's own rates
        (a visitor clicking through the topics is not a flood; web replies cost nothing)."""
        return cls(int(config[prefix + "RATE_PER_MINUTE"]),
                   int(config[prefix + "RATE_PER_DAY"]),
                   int(config["LOOP_REPEATS"]), int(config["LOOP_SECONDS"]))


class Guard:
    """The one place that decides whether a reply goes out."""

    def __init__(self, store: Store, secret: bytes, limits: Limits = Limits()):
        self.store = store
        self.secret = secret
        self.limits = limits

    def _key(self, *parts: str) -> str:
        return pseudonym(self.secret, "\x1f".join(parts))

    def first_time(self, message_id: str) -> bool:
        """True for the first delivery of a message id, False for every retry after it
        (Twilio retries a webhook that timed out). An empty id is never a duplicate."""
        if not message_id:
            return True
        return self.store.claim(self._key("message", message_id),
                                self.limits.duplicate_seconds)

    def answered(self, message_id: str, how: Answered) -> None:
        """Keep how a claimed message was answered, for its retries."""
        if message_id:
            self.store.settle(self._key("message", message_id), how.memo(),
                              self.limits.duplicate_seconds)

    def how_answered(self, message_id: str, wait: float = 0.0) -> Answered | str | None:
        """For a delivery whose claim was taken: how its message was answered; UNKNOWN
        when that was before memos were kept; TAKEN when the claim became this
        delivery's after all (the one answering it died: its worker killed, its lease
        over); None while another delivery is still answering it after `wait` seconds
        (Redis: several machines have no common lock to queue on)."""
        key = self._key("message", message_id)
        deadline, pause = time.monotonic() + wait, 0.005
        while True:
            memo = self.store.recall(key)
            if memo is not None:
                return Answered.of(memo) or UNKNOWN
            if self.store.claim(key, self.limits.duplicate_seconds):
                return TAKEN
            if time.monotonic() >= deadline:
                return None
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def check(self, address: str, intent: str, locale: str,
              limits: Limits | None = None) -> str | None:
        """Count one reply to `address`; None if it may go out, else the limit it broke:
        "loop" (the same reply again and again, each soon after the last), "minute" or
        "day" (replies to this address, counted from the first in the window). `limits`:
        other rates than the texting ones (the web page's)."""
        lim = limits or self.limits
        repeats = self.store.hit(self._key("loop", address, intent, locale),
                                 lim.loop_seconds, sliding=True)
        if repeats > lim.loop_repeats:
            return "loop"  # not counted against the limits: nothing was sent
        if self.store.hit(self._key("minute", address), 60) > lim.per_minute:
            return "minute"
        if self.store.hit(self._key("day", address), DAY) > lim.per_day:
            return "day"
        return None

    def allow(self, address: str, intent: str, locale: str,
              limits: Limits | None = None) -> bool:
        return self.check(address, intent, locale, limits) is None

    def count(self, intent: str, locale: str) -> None:
        """One more message of this intent and locale today (for `helpline stats`)."""
        self.store.bump(intent, locale)
