"""The floor the real app is measured against: a bare Flask app that answers every
`POST /sms` with one constant TwiML reply, checking nothing and remembering nothing.

`python -m bench.bare --port 8001 --workers 2` serves it through `helpline serve`'s own
code (the same gunicorn class and settings as the real app), so the two differ only in
what the app does per request.
"""

from __future__ import annotations

import sys

from flask import Flask, Response

MARK = "bare-endpoint"
# A reply of a typical length (the real replies run 150-400 characters).
TEXT = (f"[{MARK}] Know your rights: you may stay silent, you do not have to open the door "
        "without a warrant signed by a judge, and you can ask for a lawyer. Text MENU for "
        "the options or call the hotline.")
TWIML = ('<?xml version="1.0" encoding="UTF-8"?>'
         f"<Response><Message>{TEXT}</Message></Response>")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)

    @app.post("/sms")
    def sms() -> Response:
        return Response(TWIML, mimetype="application/xml")

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    return app


def main(argv: list[str]) -> None:
    from bot import cli

    cli.create_app = create_app  # the bare app, served by the real `serve` command
    cli.main(["serve", *argv], prog_name="bench.bare")


if __name__ == "__main__":
    main(sys.argv[1:])
