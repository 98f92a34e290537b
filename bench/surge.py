"""Surge, retries and loops, measured on real processes (issue 3's figures).

For each store (SQLite, and Redis when redis-server is installed) it starts
`helpline serve --workers 4`, then sends, signed as Twilio would:
  - one message 50 times at once (Twilio's retries: each gets the one reply, worked
    out and counted once),
  - 1,000 texts from one number with 20 other senders mixed in,
  - an autoresponder loop: the same text 30 times,
and counts the replies. Run: .venv/bin/python -m bench.surge
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import requests
from twilio.request_validator import RequestValidator

from bench.load import free_port, serve

TOKEN = "surge-token"
TEXTS = ["hola", "1", "2", "3", "4", "5", "6", "7", "8", "9", "what are my rights",
         "can i record", "they want me to sign", "i need a lawyer", "gracias"]


def wait_for(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"redis-server did not listen on {port}")


def fields(body: str, sender: str, sid: str | None = None) -> dict[str, str]:
    return {"MessageSid": sid or "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "1" * 32,
            "From": sender, "To": "+13125550199", "Body": body, "NumMedia": "0"}


class Bot:
    """Texts a `helpline serve` the way Twilio does: signed form posts."""

    def __init__(self, url: str):
        self.url = url
        self.validator = RequestValidator(TOKEN)

    def post(self, form: dict[str, str]) -> tuple[int, bool]:
        signature = self.validator.compute_signature(self.url, form)
        response = requests.post(self.url, data=form, timeout=30,
                                 headers={"X-Twilio-Signature": signature})
        replied = response.status_code == 200 and bool(
            ET.fromstring(response.content).findall("Message"))
        return response.status_code, replied


def measure(store_url: str | None) -> list[tuple[str, int, int, str]]:
    settings = {"HELPLINE_STORE_URL": store_url} if store_url else {}
    rows = []
    with serve("app", free_port(), TOKEN, workers=4, settings=settings) as server:
        bot = Bot(server.url)
        with ThreadPoolExecutor(max_workers=50) as pool:
            retry = fields("my husband was detained", "+13125550123")
            out = list(pool.map(lambda _: bot.post(retry), range(50)))
            rows.append(("same MessageSid, 50 at once", 50, sum(r for _, r in out),
                         f"statuses {sorted({s for s, _ in out})}"))
        flood = [fields(TEXTS[i % len(TEXTS)], "+13125550666") for i in range(1000)]
        others = [fields("hola", f"+1312555{1000 + i:04d}") for i in range(20)]
        mixed = flood[:500] + others + flood[500:]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            out = list(pool.map(bot.post, mixed))
        took = time.monotonic() - started
        got = [r for (_, r), f in zip(out, mixed) if f["From"] == "+13125550666"]
        rows.append((f"1,000 texts, one number, {took:.1f} s", 1000, sum(got),
                     f"statuses {sorted({s for s, _ in out})}"))
        rows.append(("20 other senders, mid-flood", 20,
                     sum(r for (_, r), f in zip(out, mixed) if f["From"] != "+13125550666"),
                     ""))
        loop = [bot.post(fields("I am driving, I will text you back later", "+13125550777"))
                for _ in range(30)]
        rows.append(("autoresponder loop, same text 30 times", 30, sum(r for _, r in loop),
                     ""))
    return rows


def main() -> None:
    stores: list[tuple[str, str | None]] = [("sqlite", None)]  # a fresh file, as make bench
    redis = None
    if shutil.which("redis-server"):
        port = free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no"],
                                 stdout=subprocess.DEVNULL)
        stores.append(("redis", f"redis://127.0.0.1:{port}/0"))
        wait_for(port)
    try:
        print("| store | what was sent | sent | replies | |\n|---|---|---:|---:|---|")
        for name, url in stores:
            for what, sent, replies, note in measure(url):
                print(f"| {name} | {what} | {sent} | {replies} | {note} |")
    finally:
        if redis:
            redis.terminate()


if __name__ == "__main__":
    main()
