"""Where the time goes, with pyinstrument: `python -m bench.profile [engine|webhook]`.

engine   `Helpline.respond` over the dev messages, repeated
webhook  signed posts through the real app (Flask's test client: no server, no sockets,
         a fresh SQLite file), the requests `make bench` sends
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from pathlib import Path

from pyinstrument import Profiler

from . import engine, load


def profile_engine(repeats: int = 30) -> str:
    bot = engine.build()
    dev = engine.texts()
    for text in dev:
        bot.respond(text, None)
    with Profiler(interval=0.0002) as profiler:
        for _ in range(repeats):
            for text in dev:
                bot.respond(text, None)
    return profiler.output_text(color=False, unicode=False)


def profile_webhook(n: int = 2000) -> str:
    from bot import create_app

    token = secrets.token_hex(16)
    url = "http://localhost/sms"
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SECRET_KEY": secrets.token_hex(32), "TWILIO_AUTH_TOKEN": token,
                          "PUBLIC_URL": "http://localhost", "ORG_NAME": "Bench Org",
                          "SUPPORT_CONTACT": "bench@example.org",
                          "DATABASE": str(Path(tmp) / "h.sqlite3")})
        client = app.test_client()
        requests = load.signed_requests(url, token, n + 200, 1)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        for signature, body in requests[:200]:  # warm the word caches
            client.post("/sms", data=body, headers={**headers, "X-Twilio-Signature": signature})
        with Profiler(interval=0.0002) as profiler:
            for signature, body in requests[200:]:
                response = client.post("/sms", data=body,
                                       headers={**headers, "X-Twilio-Signature": signature})
                assert response.status_code == 200, response.status_code
        app.extensions["helpline_store"].close()
    return profiler.output_text(color=False, unicode=False)


if __name__ == "__main__":
    which = sys.argv[1:] or ["engine", "webhook"]
    for name in which:
        print(f"== {name}")
        print({"engine": profile_engine, "webhook": profile_webhook}[name]())
