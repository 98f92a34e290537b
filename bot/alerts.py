"""Reaching people: alerts to the on-call responders, and relayed texts.

Two channels, as the operator configures them: SMS to each HELPLINE_RESPONDERS number,
sent with twilio's REST client from the helpline's own number, and a JSON POST to
HELPLINE_ALERT_WEBHOOK (a team's own tool). The responders' side is in English: they are
the network's own volunteers. Nothing here is logged but the kind of alert and whether
it went: never a number, a code's texter, or the words.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.request
from collections.abc import Mapping
from typing import NamedTuple

from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

log = logging.getLogger(__name__)
TIMEOUT = 5.0  # seconds per request: Twilio waits 15 s for the webhook's answer


SIGNATURE_HEADER = "X-Helpline-Signature"


def signature(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the exact body under HELPLINE_ALERT_WEBHOOK_SECRET, hex."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Alert(NamedTuple):
    kind: str  # "callback", "report", "contact", "surge"
    code: str | None  # the case code
    text: str  # what the responders read (SMS)
    fields: Mapping[str, object]  # what the webhook gets (JSON)


class SendError(Exception):
    """Nothing could be sent (every channel failed, or none is configured)."""


class Dispatch:
    """Sends alerts and relays; `sent()` says whether anything went."""

    def __init__(self, account_sid: str | None, auth_token: str | None,
                 responders: list[str], webhook: str | None, api_url: str | None = None,
                 webhook_secret: str | None = None):
        self.responders, self.webhook = responders, webhook
        self.webhook_secret = webhook_secret
        self._client: Client | None = None
        if account_sid and auth_token:
            self._client = Client(account_sid, auth_token,
                                  http_client=TwilioHttpClient(timeout=TIMEOUT))
            if api_url:  # another edge, or a stand-in server in tests
                self._client.api.base_url = api_url.rstrip("/")

    @property
    def ready(self) -> bool:
        """Something can reach a person: a webhook, or responders and Twilio's API."""
        return bool(self.webhook or (self.responders and self._client))

    def text(self, to: str, body: str, via: str) -> None:
        """One SMS (or WhatsApp, for a whatsapp: address) from the helpline's number."""
        if self._client is None:
            raise SendError("no TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN to send with")
        if to.startswith("whatsapp:") and not via.startswith("whatsapp:"):
            via = "whatsapp:" + via
        try:
            self._client.messages.create(to=to, from_=via, body=body)
        except (TwilioException, OSError) as err:
            raise SendError(type(err).__name__) from None

    def alert(self, alert: Alert, via: str) -> int:
        """Send to every channel; how many took it. SendError when none did."""
        went = 0
        for number in self.responders if self._client else ():
            try:
                self.text(number, alert.text, via.removeprefix("whatsapp:"))
                went += 1
            except SendError as err:
                log.error("alert %s: a responder SMS failed (%s)", alert.kind, err)
        if self.webhook:
            try:
                self._post({"kind": alert.kind, "code": alert.code, **alert.fields})
                went += 1
            except OSError as err:
                log.error("alert %s: the webhook failed (%s)", alert.kind, type(err).__name__)
        log.info("alert %s sent to %d channel(s)", alert.kind, went)
        if not went:
            raise SendError("no channel took the alert")
        return went

    def _post(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "helpline-alerts"}
        if self.webhook_secret:  # the team's tool can tell our alerts from forged ones
            headers[SIGNATURE_HEADER] = "sha256=" + signature(self.webhook_secret, body)
        request = urllib.request.Request(self.webhook or "", data=body, method="POST",
                                         headers=headers)
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            if response.status >= 300:
                raise OSError(f"HTTP {response.status}")
