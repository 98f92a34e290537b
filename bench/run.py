"""`make bench`: measure, then write results.json, results.md and latency.png to
instance/bench/ (not tracked by git), or with --record (`make bench RECORD=1`) to bench/,
where the committed results live. `python -m bench.run --help` for the knobs."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from . import cost, engine, load, output_path, plot

HERE = Path(__file__).resolve().parent
TARGETS = {
    "engine_msg_per_s": 10_000,  # at least
    "engine_p99_us": 1_000,  # at most
    "app_to_bare": 0.60,  # at least
    "p99_ms_at_rate": 50,  # at most
    "non_2xx": 0,
    "median_segments": 3,  # at most, each locale, default encoding
}
PACKAGES = ("flask", "werkzeug", "gunicorn", "twilio", "rapidfuzz", "babel", "pyyaml")


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    except OSError:
        wrk = None
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=HERE).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "bot", "content", "locales"],
                           capture_output=True, text=True, cwd=HERE).stdout.strip()
    return {
        "cpu": cpu, "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.release()}", "wrk": wrk,
        "packages": {name: _version(name) for name in PACKAGES},
        "commit": commit + ("+changes" if dirty else ""),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "load_average_start": os.getloadavg(),
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def summarise_load(raw: dict) -> dict:
    out: dict[str, dict] = {}
    for kind, modes in raw.items():
        out[kind] = {}
        for mode, runs in modes.items():
            pct = {p: statistics.median(r["percentiles_us"][p] for r in runs) / 1000
                   for p in runs[0]["percentiles_us"]}
            out[kind][mode] = {
                "req_per_s": statistics.median(r["req_per_s"] for r in runs),
                "p50_ms": pct["50"], "p99_ms": pct["99"], "percentiles_ms": pct,
                "requests": sum(r["requests"] for r in runs),
                "non_2xx": sum(r["non_2xx"] for r in runs),
                "socket_errors": sum(sum(r["errors"].values()) - r["errors"]["status"]
                                     for r in runs),
                "empty_replies": sum(r["empty_replies"] for r in runs),
                "wrapped": sum(r["wrapped"] for r in runs),
                "wrk_cpu_share": statistics.median(r["wrk_cpu_share"] for r in runs),
                "server_cpu_share": statistics.median(r["server_cpu_share"] for r in runs),
            }
    return out


def verdicts(results: dict) -> dict[str, dict]:
    out = {}
    if "engine" in results:
        warm = results["engine"]["warm"]
        out["engine_msg_per_s"] = (warm["msg_per_s"], warm["msg_per_s"]
                                   >= TARGETS["engine_msg_per_s"])
        out["engine_p99_us"] = (warm["p99_us"], warm["p99_us"] <= TARGETS["engine_p99_us"])
    if "load" in results:
        s = results["load"]["summary"]
        ratio = s["app"]["throughput"]["req_per_s"] / s["bare"]["throughput"]["req_per_s"]
        out["app_to_bare"] = (ratio, ratio >= TARGETS["app_to_bare"])
        p99 = s["app"]["fixed_rate"]["p99_ms"]
        out["p99_ms_at_rate"] = (p99, p99 <= TARGETS["p99_ms_at_rate"])
        bad = sum(s[k][m]["non_2xx"] + s[k][m]["socket_errors"] for k in s for m in s[k])
        out["non_2xx"] = (bad, bad == TARGETS["non_2xx"])
    if "cost" in results:
        worst = max(t["median_segments"] for t in results["cost"]["auto"]["totals"].values())
        out["median_segments"] = (worst, worst <= TARGETS["median_segments"])
    return {name: {"value": value, "target": TARGETS[name], "met": met}
            for name, (value, met) in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--seconds", type=float, default=8, help="seconds per load run")
    parser.add_argument("--rate", type=int, default=200, help="fixed rate, requests/s")
    parser.add_argument("--only", default="engine,cost,load",
                        help="comma-separated: engine, cost, load")
    parser.add_argument("--out", type=Path, default=None,
                        help="where results.json goes (results.md and latency.png beside "
                        "it) [default: instance/bench/results.json]")
    parser.add_argument("--record", action="store_true",
                        help="write to bench/ (the committed results) instead")
    parser.add_argument("--baseline", type=Path, default=HERE / "baseline.json",
                        help="an earlier results.json to compare with, when it exists")
    args = parser.parse_args(argv)
    args.out = args.out or output_path(args.record)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    parts = set(args.only.split(","))
    results: dict[str, object] = {"machine": machine()}
    if "engine" in parts:
        print("engine: Helpline.respond, one core ...", flush=True)
        results["engine"] = {"warm": engine.warm(runs=max(args.runs, 5)),
                             "cold": engine.cold(runs=args.runs)}
    if "cost" in parts:
        print("cost: every reply, default and gsm7 ...", flush=True)
        results["cost"] = cost.measure()
    if "load" in parts:
        print("webhook under load: bare endpoint and app, alternately ...", flush=True)
        measured = load.measure(runs=args.runs, seconds=args.seconds, rate=args.rate)
        measured["summary"] = summarise_load(measured["raw"])
        results["load"] = measured
    results["machine"]["load_average_end"] = os.getloadavg()
    results["verdicts"] = verdicts(results)
    results["seconds"] = round(time.monotonic() - started, 1)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    if "load" in results:
        plot.latency_png(results["load"], args.out.with_name("latency.png"),
                         TARGETS["p99_ms_at_rate"])
    baseline = json.loads(args.baseline.read_text()) if args.baseline.exists() else None
    from .report import markdown

    md = args.out.with_name("results.md")
    md.write_text(markdown(results, baseline, args.baseline.name))
    print(md.read_text())
    print(f"wrote {args.out}, {md}" + (", latency.png" if "load" in results else "")
          + f" in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
