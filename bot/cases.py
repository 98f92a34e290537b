"""The handoff's only records: which case code belongs to which texter, sealed.

A case is opened when a texter says yes to a call-back, or relays a report. Its record
holds the texter's number (so a responder's words can reach them), their language, the
topic, whether they consented to share their number, and which responder took it (by
HMAC, never the number). It is encrypted with Fernet (AES-128-CBC and HMAC-SHA256, from
`cryptography`) under a key derived from HELPLINE_SECRET_KEY with HKDF, so a copy of the
store alone reveals nothing; it expires when the case is idle (HELPLINE_CASE_IDLE_HOURS)
and is deleted at close, at FORGET and at STOP. The relayed words are never stored.

Three kinds of record, each a sealed blob under a key with an expiry:
  case:<CODE>      the case (above)
  link:<sender>    the texter's open case code (sender: their pseudonym)
  wait:<sender>    what the bot waits for from them (a yes to a call, a report's details),
                   10 minutes at most
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from typing import NamedTuple

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .store import Store

CODE_LETTERS = "ACDEFHJKMNPRTUVWXY3479"  # no 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B: read aloud
CODE_LENGTH = 4
WAIT_SECONDS = 10 * 60  # a pending consent (or a report's details) expires in 10 minutes


class Case(NamedTuple):
    code: str
    number: str  # the texter's address as Twilio gave it ("+1312...", "whatsapp:+1...")
    via: str  # the helpline number they texted (relays go out from it)
    sender: str  # the texter's pseudonym (to unlink them at close)
    locale: str
    topic: str
    consent: bool  # the texter said yes to sharing their number
    responder: str | None = None  # the HMAC of the responder who took it


class Sealer:
    """Fernet under a key derived from the app's secret (HKDF-SHA256, its own label)."""

    def __init__(self, secret: bytes):
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"helpline case map v1").derive(secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, value: dict) -> str:
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def open(self, token: str | None) -> dict | None:
        if not token:
            return None
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):  # another key, or tampered: as if absent
            return None


class Responders:
    """HELPLINE_RESPONDERS, known by HMAC: the numbers live only in the settings (and in
    this process's memory, to text them); the store and the logs see the HMAC."""

    def __init__(self, numbers: Iterable[str], secret: bytes):
        self._secret = secret
        self._numbers = {self.mark(n): n for n in (x.strip() for x in numbers) if n}

    def mark(self, number: str) -> str:
        bare = number.strip().removeprefix("whatsapp:")
        return hmac.new(self._secret, b"responder|" + bare.encode(), hashlib.sha256
                        ).hexdigest()[:32]

    def who(self, number: str) -> str | None:
        """The responder's HMAC when `number` is one of them, else None."""
        mark = self.mark(number)
        return mark if mark in self._numbers else None

    def number(self, mark: str) -> str | None:
        return self._numbers.get(mark)

    def numbers(self) -> list[str]:
        return list(self._numbers.values())

    def __bool__(self) -> bool:
        return bool(self._numbers)


class Cases:
    """Open, find, take and close cases in the store, sealed."""

    def __init__(self, store: Store, sealer: Sealer, idle_seconds: int):
        self.store, self.sealer, self.idle = store, sealer, idle_seconds

    # -- what the bot waits for from one texter -----------------------------------------
    def waiting(self, sender: str) -> dict | None:
        return self.sealer.open(self.store.fetch(f"wait:{sender}"))

    def wait(self, sender: str, what: dict, seconds: int = WAIT_SECONDS) -> None:
        self.store.keep(f"wait:{sender}", self.sealer.seal(what), seconds)

    def stop_waiting(self, sender: str) -> None:
        self.store.drop(f"wait:{sender}")

    # -- cases ---------------------------------------------------------------------------
    def open(self, number: str, via: str, sender: str, locale: str, topic: str,
             consent: bool) -> Case:
        for _ in range(20):
            code = "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
            if self.store.fetch(f"case:{code}") is None:
                break
        old = self.of_sender(sender)
        if old is not None:  # one open case per texter: the new one replaces it
            self.close(old)
        case = Case(code, number, via, sender, locale, topic, consent)
        self._save(case)
        return case

    def _save(self, case: Case) -> None:
        self.store.keep(f"case:{case.code}", self.sealer.seal(case._asdict()), self.idle)
        self.store.keep(f"link:{case.sender}", self.sealer.seal({"code": case.code}),
                        self.idle)

    def get(self, code: str) -> Case | None:
        found = self.sealer.open(self.store.fetch(f"case:{code.upper()}"))
        return Case(**found) if found else None

    def of_sender(self, sender: str) -> Case | None:
        link = self.sealer.open(self.store.fetch(f"link:{sender}"))
        return self.get(link["code"]) if link else None

    def update(self, case: Case, **changes: object) -> Case:
        """Save a change (a responder taking it, consent given); the idle clock restarts."""
        case = case._replace(**changes)
        self._save(case)
        return case

    touch = _save  # activity: the idle clock restarts

    def close(self, case: Case) -> None:
        self.store.drop(f"case:{case.code}")
        self.store.drop(f"link:{case.sender}")

    def forget(self, sender: str) -> Case | None:
        """FORGET or STOP: the texter's case, link and anything pending, gone now; the
        case that was open, if one was (its responder is told)."""
        case = self.of_sender(sender)
        if case is not None:
            self.close(case)
        self.stop_waiting(sender)
        return case
