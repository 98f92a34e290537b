"""bench/results.md from the results (and, when there is one, a baseline to compare)."""

from __future__ import annotations

LABELS = {
    "engine_msg_per_s": ("Engine throughput", "msg/s", "≥ {:,.0f}", "{:,.0f}"),
    "engine_p99_us": ("Engine p99 per message", "µs", "≤ {:,.0f}", "{:,.0f}"),
    "app_to_bare": ("App / bare throughput", "", "≥ {:.0%}", "{:.0%}"),
    "p99_ms_at_rate": ("App p99 at the fixed rate", "ms", "≤ {:g}", "{:.1f}"),
    "non_2xx": ("Non-2xx answers and socket errors", "", "{:d}", "{:d}"),
    "median_segments": ("Median segments per reply (worst locale)", "", "≤ {:g}", "{:g}"),
}


def markdown(results: dict, baseline: dict | None, baseline_name: str) -> str:
    m = results["machine"]
    out = ["# Benchmarks", "",
           "Written by `make bench` (`python -m bench.run`); see README, \"Benchmarks\". "
           "Every figure is the median of several runs.", "",
           f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable); "
           f"{m['system']}; {m['implementation']} {m['python']}; {m['wrk']}.  ",
           "Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + ".  ",
           f"Commit {m['commit']}, {m['date']}; load average "
           f"{_load(m['load_average_start'])} at the start, "
           f"{_load(m['load_average_end'])} at the end; the whole run took "
           f"{results['seconds']:.0f} s.", ""]
    out += _summary(results, baseline, baseline_name)
    if "engine" in results:
        out += _engine(results["engine"], (baseline or {}).get("engine"))
    if "load" in results:
        out += _load_section(results["load"], (baseline or {}).get("load"))
    if "cost" in results:
        out += _cost(results["cost"])
    return "\n".join(out) + "\n"


def _load(avg: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in avg)


def _summary(results: dict, baseline: dict | None, name: str) -> list[str]:
    before = (baseline or {}).get("verdicts", {})
    head = "| figure | target | now | met |"
    rule = "|---|---|---|---|"
    if before:
        head = f"| figure | target | before ({name}) | now | met |"
        rule = "|---|---|---|---|---|"
    rows = ["## Against the targets", "", head, rule]
    for key, v in results["verdicts"].items():
        label, unit, target_fmt, value_fmt = LABELS[key]
        unit = f" {unit}" if unit else ""
        cells = [label, target_fmt.format(v["target"]) + unit]
        if before:
            cells.append(value_fmt.format(before[key]["value"]) + unit if key in before else "—")
        cells += [value_fmt.format(v["value"]) + unit, "yes" if v["met"] else "**no**"]
        rows.append("| " + " | ".join(cells) + " |")
    return rows + [""]


def _engine(e: dict, before: dict | None) -> list[str]:
    rows = ["## Engine: `Helpline.respond`, one core, one process", "",
            "Understanding a message and rendering its reply, for a new sender each time, "
            "timed message by message (`time.perf_counter_ns`), the process pinned to one "
            "CPU.", "",
            "| set | messages per pass | msg/s | p50 µs | p99 µs | max µs |"
            + (" before: msg/s, p50, p99 |" if before else ""),
            "|---|---|---|---|---|---|" + ("---|" if before else "")]
    for key, label in (("warm", "dev messages repeated (steady state)"),
                       ("cold", "every labelled message once, fresh engine (first sight)")):
        r = e[key]
        n = r["passes"][0]["messages"]
        line = (f"| {label} | {n:,} | {r['msg_per_s']:,.0f} | {r['p50_us']:.0f} | "
                f"{r['p99_us']:.0f} | {r['max_us']:,.0f} |")
        if before:
            b = before[key]
            line += f" {b['msg_per_s']:,.0f}, {b['p50_us']:.0f}, {b['p99_us']:.0f} |"
        rows.append(line)
    rows += ["", f"Warm: {e['warm']['distinct']} distinct messages from "
             f"`{e['warm']['set']}`, repeated {e['warm']['repeats']} times a pass, after one "
             "unmeasured pass (a worker's per-word caches are warm); median of "
             f"{e['warm']['runs']} passes. Cold: {e['cold']['distinct']:,} distinct messages "
             "(every example and held-back text), each pass on a freshly built engine with "
             "its per-word caches emptied, so every word is seen for the first time (its "
             "model rows, its language, its spelling); median "
             f"of {e['cold']['runs']} passes. Both without the worker's cache of whole "
             "messages: each message goes through the whole pipeline (normalising, "
             "spelling, language, rules, the model's table, the decision).", ""]
    return rows


def _load_section(load: dict, before: dict | None) -> list[str]:
    s = load["summary"]
    w = load["wrk"]
    rows = ["## Webhook under load: the app against a bare endpoint", "",
            f"Both served by `helpline serve` (gunicorn, {load['workers']} sync workers, "
            "the same settings: the bare app, `bench/bare.py`, goes through the same "
            "`serve` command), one after the other, alternately, each run on a fresh server "
            "(and, for the app, a fresh SQLite file). The load generator is Debian's wrk "
            f"with `bench/replay.lua`: one thread (`-t1`) pinned to CPU {w['pinned_cpu']} "
            "(`sched_setaffinity`), so it can never take more than one of the cores; the "
            "servers may use all. Each request is a Twilio-shaped form post signed in advance "
            "with twilio's `RequestValidator` for the exact URL the app checks, with its own "
            "MessageSid, from a new sender every two messages (the dev messages, less the "
            "STOP ones), and is sent once. Throughput: "
            f"{w['connections']} connections as fast as answers come, {load['seconds']:g} s "
            f"after {load['warmup_seconds']:g} s of warm-up. Fixed rate: {load['rate']} "
            f"requests/s over {w['rate_connections']} connections, paced by the script's "
            "`delay()` on a monotonic clock. wrk measures latency from each request's write; "
            "the script counts non-2xx answers and 2xx answers without a `<Message>` "
            f"(limiter or duplicate check answering). Median of {load['runs']} runs.", "",
            "| endpoint | mode | req/s | p50 ms | p99 ms | p99.9 ms | non-2xx | socket errors "
            "| empty replies | wrk CPU | server CPU |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for mode in ("throughput", "fixed_rate"):
        for kind in ("bare", "app"):
            r = s[kind][mode]
            rows.append(f"| {kind} | {mode.replace('_', ' ')} | {r['req_per_s']:,.0f} | "
                        f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                        f"{r['percentiles_ms']['99.9']:.2f} | {r['non_2xx']} | "
                        f"{r['socket_errors']} | {r['empty_replies']} | "
                        f"{r['wrk_cpu_share']:.0%} | {r['server_cpu_share']:.0%} |")
    ratio = s["app"]["throughput"]["req_per_s"] / s["bare"]["throughput"]["req_per_s"]
    rows += ["", f"App / bare throughput: **{ratio:.0%}**. CPU shares are CPU-seconds per "
             "second (100% = one core busy). "
             + ("A run ran out of distinct requests and repeated some (`wrapped`)."
                if any(s[k][m]["wrapped"] for k in s for m in s[k]) else
                "No run repeated a request."), ""]
    if before:
        b = before["summary"]
        rows += ["Before (baseline): " + "; ".join(
            f"{k} {b[k]['throughput']['req_per_s']:,.0f} req/s, p99 at "
            f"{before['rate']}/s {b[k]['fixed_rate']['p99_ms']:.1f} ms" for k in ("bare", "app"))
            + ".", ""]
    rows += ["![latency percentiles, app and bare endpoint](latency.png)", ""]
    return rows


def _cost(c: dict) -> list[str]:
    rows = ["## Cost: characters, encoding and segments of every reply", "",
            "From `Helpline.all_replies()` and `bot.sms.segments`: a GSM-7 segment holds "
            "160 septets alone or 153 in a long message, a UCS-2 one 70 or 67 UTF-16 units. "
            "`gsm7` is the engine built with `HELPLINE_SMS_ENCODING=gsm7` (á→a, í→i, ó→o, "
            "ú→u, curly quotes and dashes replaced as Twilio's Smart Encoding does; ñ, é, "
            "¿ and ¡ are GSM-7 and stay).", "",
            "| locale | encoding setting | replies | characters | segments | median | most "
            "| sent as UCS-2 |", "|---|---|---|---|---|---|---|---|"]
    for code in c["auto"]["totals"]:
        for enc in ("auto", "gsm7"):
            t = c[enc]["totals"][code]
            rows.append(f"| {code} | {enc} | {t['replies']} | {t['chars']:,} | "
                        f"{t['segments']} | {t['median_segments']:g} | {t['max_segments']} | "
                        f"{t['ucs2_replies']} |")
    rows += ["", "<details><summary>Every reply</summary>", "",
             "| reply | locale | chars | encoding | segments | gsm7: encoding | gsm7: segments |",
             "|---|---|---|---|---|---|---|"]
    for a, g in zip(c["auto"]["replies"], c["gsm7"]["replies"]):
        rows.append(f"| {a['reply']} | {a['locale']} | {a['chars']} | {a['encoding']} | "
                    f"{a['segments']} | {g['encoding']} | {g['segments']} |")
    rows += ["", "</details>", ""]
    return rows
