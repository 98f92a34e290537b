"""`helpline twilio configure | check`: the helpline number's webhooks at Twilio (incoming
messages to /sms, calls to /voice, both POST), set or compared through twilio's REST
client, so no one has to find the right fields in the console."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from twilio.base.exceptions import TwilioException

from .redact import RedactError, client_from, http_status
from .settings import public_url_problems, webhook_urls


class SetupError(Exception):
    """A missing setting, a number not in the account, or Twilio refusing; says which."""


@dataclass(frozen=True)
class Field:
    name: str  # the console's words
    url: str  # the attribute on twilio's IncomingPhoneNumberInstance, and update()'s
    method: str


FIELDS = (Field("A message comes in", "sms_url", "sms_method"),
          Field("A call comes in", "voice_url", "voice_method"))


@dataclass(frozen=True)
class Change:
    number: str
    field: Field
    was: tuple[str, str]  # (method, url) found at Twilio
    wanted: tuple[str, str]

    @property
    def differs(self) -> bool:
        return self.was != self.wanted


def wanted(env: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    problems = public_url_problems(env.get("HELPLINE_PUBLIC_URL"))
    if problems:
        raise SetupError(" ".join(problems))
    urls = webhook_urls(env["HELPLINE_PUBLIC_URL"])
    return {"sms_url": ("POST", urls["sms"]), "voice_url": ("POST", urls["voice"])}


def phone_numbers(env: Mapping[str, str]) -> list[str]:
    """The helpline's phone numbers (WhatsApp senders are set up in the console)."""
    numbers = [n.strip() for n in env.get("HELPLINE_TWILIO_NUMBERS", "").split(",")
               if n.strip() and not n.strip().lower().startswith("whatsapp:")]
    if not numbers:
        raise SetupError("HELPLINE_TWILIO_NUMBERS is not set: the helpline's number, e.g. "
                         "+13125550199 (comma-separated for several).")
    return numbers


def compare(env: Mapping[str, str], *, apply: bool = False) -> list[Change]:
    """What each number has and should have; with `apply`, set what differs."""
    targets, numbers = wanted(env), phone_numbers(env)
    try:
        client = client_from(env)
    except RedactError as err:
        raise SetupError(str(err)) from None
    changes = []
    try:
        for number in numbers:
            found = client.incoming_phone_numbers.list(phone_number=number, limit=2)
            if len(found) != 1:
                raise SetupError(f"{number} is not a number of account "
                                 f"{env.get('TWILIO_ACCOUNT_SID')} (check "
                                 "HELPLINE_TWILIO_NUMBERS and TWILIO_ACCOUNT_SID).")
            record = found[0]
            mine = [Change(number, f, (str(getattr(record, f.method) or "").upper(),
                                       str(getattr(record, f.url) or "")), targets[f.url])
                    for f in FIELDS]
            todo = {k: v for c in mine if c.differs
                    for k, v in ((c.field.url, c.wanted[1]), (c.field.method, c.wanted[0]))}
            if apply and todo:
                client.incoming_phone_numbers(record.sid).update(**todo)
            changes.extend(mine)
    except TwilioException as err:
        status = http_status(err)
        raise SetupError(f"Twilio refused ({type(err).__name__}"
                         f"{f', HTTP {status}' if status else ''}). Check "
                         "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.") from None
    return changes


def describe(method_url: tuple[str, str]) -> str:
    method, url = method_url
    return f"HTTP {method or '?'} {url}" if url else "(not set)"
