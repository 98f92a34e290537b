"""The webhook under load: the real app under `helpline serve` against the bare endpoint
(bench/bare.py), both served by the same gunicorn settings and driven, one after the
other in the same run, by the same load generator: Debian's wrk with bench/replay.lua.

Every request is a real Twilio-shaped form post, signed beforehand with twilio's own
RequestValidator against the exact URL the app checks; each has its own MessageSid and
each sender sends two different messages, so the app answers every one for real (no
request is a retry for the duplicate check, no sender nears a rate limit). Each
measurement starts a fresh server with a fresh SQLite file.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus, urlencode

from twilio.request_validator import RequestValidator

from .engine import DATA, ROOT

LUA = Path(__file__).resolve().parent / "replay.lua"
HOST = "127.0.0.1"
WORKERS = 2  # `helpline serve`'s default, and the README's deployment
WRK_CPU = 1  # wrk runs one thread pinned to this CPU; the servers may use every CPU
TWILIO_NUMBER = "+13125550199"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def bodies() -> list[str]:
    """The dev messages, less those that opt the sender out (no reply would follow)."""
    lines = (DATA / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [r["text"] for r in rows if "stop" not in r["intents"]]


def fields(body: str, sender: str, sid: str) -> dict[str, str]:
    """The form fields Twilio posts for an incoming SMS (a realistic subset)."""
    return {
        "ToCountry": "US", "ToState": "IL", "SmsMessageSid": sid, "NumMedia": "0",
        "ToCity": "CHICAGO", "FromZip": "60601", "SmsSid": sid, "FromState": "IL",
        "SmsStatus": "received", "FromCity": "CHICAGO", "Body": body, "FromCountry": "US",
        "To": TWILIO_NUMBER, "MessagingServiceSid": "MG" + "0" * 32, "ToZip": "60602",
        "NumSegments": "1", "MessageSid": sid, "AccountSid": "AC" + "1" * 32,
        "From": sender, "ApiVersion": "2010-04-01",
    }


def signed_requests(url: str, token: str, n: int, batch: int) -> list[tuple[str, str]]:
    """`n` (signature, form body) pairs: unique MessageSids, a new sender every two
    messages (two different texts each), senders and ids unique to `batch`."""
    texts = bodies()
    validator = RequestValidator(token)
    constant = urlencode({k: v for k, v in fields("", "", "").items()
                          if k not in ("Body", "From", "MessageSid", "SmsSid", "SmsMessageSid")})
    out = []
    for k in range(n):
        sender = f"+1{2_000_000_000 + batch * 1_000_000 + k // 2}"
        sid = f"SM{batch:08x}{k:024x}"
        params = fields(texts[k % len(texts)], sender, sid)
        body = (f"{constant}&Body={quote_plus(params['Body'])}&From={quote_plus(sender)}"
                f"&MessageSid={sid}&SmsSid={sid}&SmsMessageSid={sid}")
        out.append((validator.compute_signature(url, params), body))
    return out


def write_requests(path: Path, requests: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for signature, body in requests:
            f.write(f"{signature}\t{body}\n")
    return path


@dataclass
class Server:
    kind: str  # "app" or "bare"
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/sms"

    def cpu_seconds(self) -> float:
        """CPU time of the gunicorn master and its workers so far."""
        return sum(_cpu_of(pid) for pid in [self.process.pid, *_children(self.process.pid)])


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields_ = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields_[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _cpu_of(pid: int) -> float:
    try:
        fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def server_env(kind: str, port: int, token: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TWILIO_"))}
    if kind == "app":
        env.update(HELPLINE_SECRET_KEY=secrets.token_hex(32), TWILIO_AUTH_TOKEN=token,
                   HELPLINE_PUBLIC_URL=f"http://{HOST}:{port}",
                   HELPLINE_ORG_NAME="Bench Org", HELPLINE_SUPPORT_CONTACT="bench@example.org",
                   HELPLINE_DATABASE=str(workdir / "helpline.sqlite3"),
                   HELPLINE_INSTANCE_PATH=str(workdir / "instance"))
    return env


@contextmanager
def serve(kind: str, port: int, token: str, workers: int = WORKERS,
          settings: dict[str, str] | None = None) -> Iterator[Server]:
    """A fresh server (and, for the app, a fresh SQLite file unless `settings` name
    another HELPLINE_STORE_URL) for one measurement."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    args = ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    command = ([str(Path(sys.executable).with_name("helpline")), "serve", *args]
               if kind == "app" else [sys.executable, "-m", "bench.bare", *args])
    log = workdir / "server.log"
    with log.open("wb") as out:
        env = {**server_env(kind, port, token, workdir), **(settings or {})}
        process = subprocess.Popen(command, cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    server = Server(kind, port, process, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_healthy(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.kind} server exited:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{server.port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.kind} server did not answer /healthz in {timeout}s")


def wrk(server: Server, requests: Path, seconds: float, connections: int,
        rate: int = 0) -> dict[str, object]:
    """One wrk run: one thread, pinned to one CPU, replaying `requests` once each."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(LUA), server.url, "--", str(requests), str(rate),
               "1"]
    cpu = os.sched_getaffinity(0)
    pin = WRK_CPU if WRK_CPU in cpu else min(cpu)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = server.cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60,
                          preexec_fn=lambda: os.sched_setaffinity(0, {pin}))
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = server.cpu_seconds() - server_cpu
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    out = json.loads(lines[-1][len("BENCH "):])
    seconds_run = out["duration_us"] / 1e6
    wrk_cpu = (after_children.ru_utime - before_children.ru_utime
               + after_children.ru_stime - before_children.ru_stime)
    out.update(req_per_s=out["requests"] / seconds_run, connections=connections,
               target_rate=rate, wrk_cpu_share=wrk_cpu / seconds_run,
               server_cpu_share=server_cpu / seconds_run)
    return out


def check_answers(server: Server, requests: list[tuple[str, str]]) -> str:
    """Send a few of the requests once by hand: the app must answer each with a real
    reply (not 403, not an empty <Response/>), the bare endpoint with its constant."""
    for signature, body in requests:
        request = urllib.request.Request(server.url, data=body.encode(), headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        if "<Message>" not in text or (MARK_IN[server.kind] != (MARK in text)):
            raise RuntimeError(f"{server.kind} gave an unexpected answer: {text[:300]}")
    return text


MARK = "bare-endpoint"
MARK_IN = {"bare": True, "app": False}


def measure(runs: int = 3, seconds: float = 8, rate: int = 200, warmup: float = 2,
            connections: int = 8, rate_connections: int = 16) -> dict[str, object]:
    """Throughput (saturated) and latency at a fixed rate, for the bare endpoint and the
    app alternately, `runs` times each; a fresh server and SQLite file every time, so the
    same signed requests serve every run (the bare endpoint gets the very same bytes)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    token = secrets.token_hex(16)
    port = {"app": free_port(), "bare": free_port()}
    url = f"http://{HOST}:{port['app']}/sms"  # what the app checks signatures against
    files = Path(tempfile.mkdtemp(prefix="bench-requests-"))
    # Enough requests that no run sends one twice (a run that did says so in `wrapped`).
    sizes = {"check": 6, "warm": 10_000, "throughput": 40_000,
             "fixed_rate": int(rate * seconds * 1.5) + 100}
    signed = {name: signed_requests(url, token, n, batch)
              for batch, (name, n) in enumerate(sizes.items(), 1)}
    path = {name: write_requests(files / f"{name}.txt", reqs) for name, reqs in signed.items()}
    results: dict[str, dict[str, list]] = {k: {"throughput": [], "fixed_rate": []}
                                           for k in ("bare", "app")}
    try:
        for _ in range(runs):
            for kind in ("bare", "app"):
                for mode in ("throughput", "fixed_rate"):
                    with serve(kind, port[kind], token) as server:
                        check_answers(server, signed["check"])
                        wrk(server, path["warm"], warmup, connections)
                        got = (wrk(server, path[mode], seconds, connections)
                               if mode == "throughput" else
                               wrk(server, path[mode], seconds, rate_connections, rate))
                    results[kind][mode].append(got)
                    print(f"  {kind:4} {mode:10} {got['req_per_s']:8.1f} req/s  "
                          f"p50 {got['percentiles_us']['50'] / 1000:6.2f} ms  "
                          f"p99 {got['percentiles_us']['99'] / 1000:6.2f} ms  "
                          f"non-2xx {got['non_2xx']}  empty {got['empty_replies']}  "
                          f"wrk cpu {got['wrk_cpu_share']:.0%}  "
                          f"server cpu {got['server_cpu_share']:.0%}", flush=True)
    finally:
        shutil.rmtree(files, ignore_errors=True)
    return {"workers": WORKERS, "wrk": {"threads": 1, "pinned_cpu": WRK_CPU,
                                        "connections": connections,
                                        "rate_connections": rate_connections},
            "seconds": seconds, "warmup_seconds": warmup, "rate": rate, "runs": runs,
            "raw": results}
