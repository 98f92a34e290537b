"""Optional: delete the helpline's messages from Twilio's own records.

Twilio keeps every message (both numbers and the words) until it is deleted, and
those records can be demanded from Twilio as well as from us. `helpline redact`, run
every few minutes (see README), deletes messages to or from the helpline's numbers once
they are complete. Twilio refuses to delete a message still queued or sending, so only
messages in a final state and older than a few minutes are touched.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

log = logging.getLogger(__name__)
# Statuses after which Twilio lets a message be deleted.
COMPLETE = frozenset({"delivered", "undelivered", "failed", "received", "read", "canceled",
                      "sent"})


class RedactError(Exception):
    """Missing settings or Twilio refused the listing; the message says which."""


@dataclass
class Redacted:
    deleted: int = 0
    pending: int = 0  # not complete yet: the next run takes them
    recent: int = 0  # complete but newer than the minimum age
    failed: int = 0  # Twilio refused to delete


def client_from(env: Mapping[str, str]) -> Client:
    sid, token = env.get("TWILIO_ACCOUNT_SID"), env.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise RedactError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set: the "
                          "account whose message records are deleted.")
    client = Client(sid, token)
    if env.get("HELPLINE_TWILIO_API_URL"):  # another edge or region, or a test server
        client.api.base_url = env["HELPLINE_TWILIO_API_URL"].rstrip("/")
    return client


def numbers_from(env: Mapping[str, str]) -> list[str]:
    numbers = [n.strip() for n in env.get("HELPLINE_TWILIO_NUMBERS", "").split(",")
               if n.strip()]
    if not numbers:
        raise RedactError("HELPLINE_TWILIO_NUMBERS is not set: the helpline's own numbers "
                          "(e.g. +13125550199,whatsapp:+13125550199). Only messages to or "
                          "from them are deleted, never the rest of the account's.")
    return numbers


def http_status(err: Exception) -> int | None:
    """The HTTP status of a twilio error: on the error, or on the response a failed page
    fetch carries ("Unable to fetch page", response)."""
    response = err.args[1] if len(err.args) > 1 else None
    return getattr(err, "status", None) or getattr(response, "status_code", None)


def redact_messages(env: Mapping[str, str], min_age_seconds: int, *, dry_run: bool = False,
                    now: datetime.datetime | None = None) -> Redacted:
    numbers = numbers_from(env)
    client = client_from(env)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    cutoff = now - datetime.timedelta(seconds=min_age_seconds)
    found = {}
    try:  # list everything first: deleting while paging would shift the pages
        for number in numbers:
            for where in ({"to": number}, {"from_": number}):
                for message in client.messages.stream(date_sent_before=cutoff, **where):
                    found[message.sid] = message
    except (TwilioException, OSError) as err:
        status = http_status(err)
        raise RedactError(f"Twilio refused to list messages ({type(err).__name__}"
                          f"{f', HTTP {status}' if status else ''}). Check "
                          "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.") from None
    done = Redacted()
    for message in found.values():
        when = message.date_sent or message.date_created
        if message.status not in COMPLETE:
            done.pending += 1
        elif when is None or when > cutoff:
            done.recent += 1
        elif dry_run:
            done.deleted += 1
        else:
            try:
                message.delete()
                done.deleted += 1
            except (TwilioRestException, OSError):
                done.failed += 1
    return done


def env_from(config: Mapping[str, object]) -> dict[str, str]:
    """The app's settings in the names `redact_messages` reads."""
    names = {"TWILIO_ACCOUNT_SID": "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN":
             "TWILIO_AUTH_TOKEN", "TWILIO_NUMBERS": "HELPLINE_TWILIO_NUMBERS",
             "TWILIO_API_URL": "HELPLINE_TWILIO_API_URL"}
    return {env: str(config[name]) for name, env in names.items() if config.get(name)}


class Schedule:
    """`helpline serve` with HELPLINE_REDACT_MINUTES: a thread in the server's master
    process deleting the helpline's messages older than that, every `every` seconds.
    A failed pass is logged (counts and the error's type, never a number or a word) and
    the next one tries again; it never stops the server."""

    def __init__(self, env: Mapping[str, str], minutes: int, every: float = 60.0):
        self.env, self.minutes, self.every = dict(env), minutes, every
        self.stopped = threading.Event()
        self.passes = 0

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Schedule:
        return cls(env_from(config), int(str(config["REDACT_MINUTES"])),
                   float(str(config.get("REDACT_EVERY_SECONDS") or 60)))

    def run_once(self) -> Redacted | None:
        try:
            done = redact_messages(self.env, self.minutes * 60)
        except RedactError as err:
            log.error("redact: %s", err)
            return None
        except Exception as err:  # noqa: BLE001 - the server must keep serving
            log.error("redact pass failed: %s", type(err).__name__)
            return None
        finally:
            self.passes += 1
        log.info("redact: deleted %d, %d not yet complete, %d newer, %d refused",
                 done.deleted, done.pending, done.recent, done.failed)
        return done

    def run(self) -> None:
        while not self.stopped.is_set():
            self.run_once()
            self.stopped.wait(self.every)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="helpline-redact", daemon=True)
        thread.start()
        return thread
