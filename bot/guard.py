"""Exactly one reply per message, and limits against loops and abuse.

Every key written here is an HMAC under the operator's secret, of a purpose and an
address (or a message id): the store sees opaque keys and counters, never a number, a
message id or an intent tied to a sender. The checks are single atomic operations in the
store (insert-if-absent, increment-and-return), so several workers and instances agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .store import DAY, Store, pseudonym


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
