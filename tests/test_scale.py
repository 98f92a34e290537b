"""Several processes, one store: `helpline serve` with 4 gunicorn workers, and two
instances side by side, each a real process spoken to over HTTP, on SQLite and on a real
Redis. Duplicates, limits, language memory and opt-outs must agree across all of them."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bot.store import open_store
from conftest import ORG, SECRET, TOKEN, free_port, sign, twilio_fields, wait_for_port

HELPLINE = str(Path(sys.executable).with_name("helpline"))
DISTINCT = ["hola", "1", "2", "3", "4", "5", "6", "7", "8", "9", "what are my rights",
            "can i record", "they want me to sign", "i need a lawyer", "gracias"]


class Instance:
    """One `helpline serve` process, texted the way Twilio does."""

    def __init__(self, store_url: str, tmp_path: Path, workers: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("HELPLINE_", "TWILIO_"))}
        env.update(HELPLINE_SECRET_KEY=SECRET, TWILIO_AUTH_TOKEN=TOKEN,
                   HELPLINE_PUBLIC_URL=self.url, HELPLINE_STORE_URL=store_url,
                   HELPLINE_ORG_NAME=ORG["ORG_NAME"],
                   HELPLINE_SUPPORT_CONTACT=ORG["SUPPORT_CONTACT"],
                   HELPLINE_INSTANCE_PATH=str(tmp_path / f"instance-{self.port}"))
        self.process = subprocess.Popen(
            [HELPLINE, "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process)

    def post(self, fields: dict[str, str]) -> tuple[int, str | None]:
        headers = {"X-Twilio-Signature": sign(self.url + "/sms", fields)}
        response = requests.post(self.url + "/sms", data=fields, headers=headers, timeout=30)
        if response.status_code != 200:
            return response.status_code, None
        messages = [m.text for m in ET.fromstring(response.content).findall("Message")]
        return 200, messages[0] if messages else None

    def text(self, body: str, sender: str) -> tuple[int, str | None]:
        return self.post(twilio_fields(body, sender))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return f"sqlite://{tmp_path / 'shared.sqlite3'}"


@pytest.fixture
def serve(store_url: str, tmp_path: Path) -> Iterator[Callable[..., Instance]]:
    started: list[Instance] = []

    def start(workers: int = 4) -> Instance:
        instance = Instance(store_url, tmp_path, workers)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


def total_counted(store_url: str) -> int:
    store = open_store(store_url)
    try:
        return sum(row[3] for row in store.counts())
    finally:
        store.close()


def test_one_message_sent_50_times_at_once_to_4_workers_changes_things_once(serve,
                                                                           store_url):
    """Whichever delivery Twilio is still waiting for carries the one reply: each gets
    it, worked out once and counted once."""
    bot = serve(workers=4)
    fields = twilio_fields("my husband was detained", "+13125550123")
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: bot.post(fields), range(50)))
    assert {status for status, _ in results} == {200}
    texts = {text for _, text in results}
    assert len(texts) == 1 and "1-855-435-7693" in texts.pop()
    assert total_counted(store_url) == 1  # one state change: counted once


def test_1000_texts_in_a_minute_from_one_number_get_at_most_the_limit(serve):
    bot = serve(workers=4)
    flood = [(DISTINCT[i % len(DISTINCT)], "+13125550666") for i in range(1000)]
    others = [("hola", f"+1312555{1000 + i:04d}") for i in range(20)]
    mixed = flood[:500] + others + flood[500:]  # the others arrive mid-flood
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda message: bot.text(*message), mixed))
    assert {status for status, _ in results} == {200}
    flood_replies = sum(1 for (_, sender), (_, text) in zip(mixed, results)
                        if text and sender == "+13125550666")
    other_replies = sum(1 for (_, sender), (_, text) in zip(mixed, results)
                        if text and sender != "+13125550666")
    assert 1 <= flood_replies <= 5
    assert other_replies == 20


def test_two_instances_on_one_store_agree_on_language_and_opt_out(serve):
    first, second = serve(workers=2), serve(workers=2)
    sender = "+13125550144"
    assert first.text("español", sender)[1].startswith("Listo")
    assert second.text("4", sender)[1].startswith("No abra la puerta")  # remembered
    assert second.text("STOP", sender) == (200, None)
    assert first.text("4", sender) == (200, None)  # opted out, everywhere
    assert first.text("START", sender)[1]
    assert second.text("4", sender)[1].startswith("No abra la puerta")


def test_two_instances_share_one_duplicate_check(serve, store_url):
    first, second = serve(workers=1), serve(workers=1)
    fields = twilio_fields("hola", "+13125550155")
    answer = first.post(fields)
    assert answer[1]
    assert second.post(fields) == answer  # the retry, elsewhere: the same reply ...
    assert total_counted(store_url) == 1  # ... and nothing counted again


def test_two_instances_share_one_rate_limit(serve):
    first, second = serve(workers=2), serve(workers=2)
    sender = "+13125550166"
    answered = [bool((first if i % 2 else second).text(text, sender)[1])
                for i, text in enumerate(DISTINCT[:10])]
    assert sum(answered) == 5  # five replies a minute, whichever instance answers
