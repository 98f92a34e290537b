"""Optional: delete the helpline's messages from Twilio's own records.

Twilio keeps every message (both numbers and the words) until it is deleted, and
those records can be demanded from Twilio as well as from us. `helpline redact`, run
every few minutes (see README), deletes messages to or from the helpline's numbers once
they are complete. Twilio refuses to delete a message still queued or sending, so only
messages in a final state and older than a few minutes are touched.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

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
        response = err.args[1] if len(err.args) > 1 else None  # "Unable to fetch page"
        status = getattr(err, "status", None) or getattr(response, "status_code", None)
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
