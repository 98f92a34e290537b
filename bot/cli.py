"""The `helpline` command: serve, chat, classify, check, purge, stats, redact."""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
from pathlib import Path

import click

from flask import Flask

from . import (DEFAULTS, ROOT, TWILIO_ENV, ConfigError, build_engine, create_app, i18n,
               instance_path)
from .content import ContentError
from .conversation import Helpline, State
from .settings import webhook_urls
from .store import StoreError

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _config() -> dict:
    """The settings as create_app reads them (HELPLINE_* and TWILIO_*), unchecked."""
    app = Flask("helpline-settings")
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("HELPLINE")
    for name in TWILIO_ENV:
        app.config[name] = os.environ.get(name)
    return dict(app.config)


def _engine(content_dir: str | None = None, locales: list[str] | None = None) -> Helpline:
    """The same engine the webhook uses, built from the same settings (`locales`: these
    instead of HELPLINE_LOCALES)."""
    config = _config()
    if content_dir:
        config["CONTENT_DIR"] = content_dir
    if locales is not None:
        config["LOCALES"] = locales
    return build_engine(config, Path(instance_path()) / "models")


ENV_FILE_HELP = ("Read settings from this file (NAME=value lines, as systemd's "
                 "EnvironmentFile); variables already set win.")


@click.group()
@click.version_option(package_name="helpline", message="helpline %(version)s")
@click.option("--env-file", type=click.Path(exists=True, dir_okay=False), help=ENV_FILE_HELP)
def main(env_file: str | None) -> None:
    """A know-your-rights SMS helpline bot (English and Spanish).

    Settings come from the environment (HELPLINE_*, TWILIO_*), or from --env-file, as in
    `helpline --env-file /etc/helpline/helpline.env twilio check`."""
    if env_file:
        _read_env_file(env_file)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Local development: accept unsigned requests "
              "from this machine. Only on a loopback address.")
@click.option("--env-file", type=click.Path(exists=True, dir_okay=False), help=ENV_FILE_HELP)
@click.option("--pid-file", type=click.Path(dir_okay=False), default=None,
              help="Where the server writes its process id, for `helpline reload` "
              "[default: the instance folder's helpline.pid].")
def serve(host: str, port: int, workers: int, dev: bool, env_file: str | None,
          pid_file: str | None) -> None:
    """Serve the webhooks with gunicorn (a production WSGI server).

    SIGHUP (`helpline reload`, `systemctl reload helpline`) reloads the content: it is
    checked first and swapped in only when valid."""
    if env_file:
        _read_env_file(env_file)
    if dev:
        if host not in LOOPBACK_HOSTS:
            raise click.UsageError("--dev serves only on a loopback address (127.0.0.1)")
        os.environ["HELPLINE_DEV"] = "1"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    app = _app()
    base = f"http://{host}:{port}"
    click.echo(f"Helpline bot on {base}  (health: {base}/healthz)")
    if app.config["PUBLIC_URL"]:
        urls = webhook_urls(app.config["PUBLIC_URL"])
        click.echo("In the Twilio console, for the number (or `helpline twilio configure`):\n"
                   f"  A message comes in: HTTP POST {urls['sms']}\n"
                   f"  A call comes in: HTTP POST {urls['voice']}")
    if app.config["REDACT_MINUTES"]:
        click.echo(f"Deleting Twilio's copy of messages older than "
                   f"{app.config['REDACT_MINUTES']} minutes, every minute.")
    if dev:
        click.secho("DEVELOPMENT MODE: unsigned requests from this machine are accepted.",
                    fg="yellow", bold=True)
        click.echo(f"Talk to it:  open {base}/ in a browser (the web chat)\n"
                   f"        or:  curl -d From=+13125550100 -d Body=hola {base}/sms\n"
                   "        or:  .venv/bin/helpline chat")
    run_server(app, host, port, workers, pid_file or _default_pid_file(app))


def _read_env_file(path: str) -> None:
    from .settings import read_env_file

    try:
        values = read_env_file(path)
    except (OSError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    for name, value in values.items():
        os.environ.setdefault(name, value)


def _default_pid_file(app) -> str:  # type: ignore[no-untyped-def]
    return os.path.join(app.instance_path, "helpline.pid")


def run_server(app, host: str, port: int, workers: int,  # type: ignore[no-untyped-def]
               pid_file: str) -> None:
    """gunicorn, with the app built once here (so settings fail before any worker starts),
    content reloaded on SIGHUP, and Twilio's copy deleted when HELPLINE_REDACT_MINUTES."""
    from gunicorn.app.base import BaseApplication

    from . import reload_content
    from .redact import Schedule

    log = logging.getLogger("bot.serve")

    def on_reload(server) -> None:  # type: ignore[no-untyped-def]
        # In the master, before the new workers are forked from it: they serve the new
        # content only if it is valid; otherwise the old content, and the log says why.
        problems = reload_content(app)
        if problems:
            log.error("content NOT reloaded, still serving the old content; fix:\n  %s",
                      "\n  ".join(problems))
        else:
            log.info("content reloaded from %s", app.config["CONTENT_DIR"])

    def when_ready(server) -> None:  # type: ignore[no-untyped-def]
        if app.config["REDACT_MINUTES"]:
            Schedule.from_config(app.config).start()

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("timeout", 30)
            self.cfg.set("pidfile", pid_file)
            self.cfg.set("on_reload", on_reload)
            self.cfg.set("when_ready", when_ready)
            # The access log carries no query string, no body, no phone number.
            self.cfg.set("accesslog", "-")
            self.cfg.set("access_log_format", '%(m)s %(U)s %(s)s %(M)sms')

        def load(self):  # type: ignore[no-untyped-def]
            return app

    Path(pid_file).parent.mkdir(parents=True, exist_ok=True)
    Server().run()


@main.command()
@click.option("--pid-file", type=click.Path(dir_okay=False), default=None,
              help="The running server's pid file [default: the instance folder's "
              "helpline.pid].")
def reload(pid_file: str | None) -> None:
    """Check the content, then make the running `helpline serve` load it (SIGHUP).

    Invalid content is refused here and again by the server, which keeps serving the
    content it has. Under systemd, `systemctl reload helpline` does the same."""
    import signal

    try:
        _engine()
    except Exception as err:  # noqa: BLE001 - content, settings or a catalog
        for problem in getattr(err, "problems", [f"{type(err).__name__}: {err}"]):
            click.echo(f"ERROR {problem}", err=True)
        click.echo("not reloaded: the running bot keeps its current content", err=True)
        sys.exit(1)
    instance = os.environ.get("HELPLINE_INSTANCE_PATH") or str(ROOT / "instance")
    path = Path(pid_file or os.path.join(instance, "helpline.pid"))
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as err:
        raise click.ClickException(f"no running server found through {path} "
                                   f"({type(err).__name__}); is `helpline serve` running?"
                                   ) from None
    click.echo(f"content is valid; asked the server (pid {pid}) to reload it")


@main.command()
@click.option("--lang", default=None, help="Start in this language (en, es).")
def chat(lang: str | None) -> None:
    """Talk to the bot in the terminal (Ctrl-D to leave)."""
    bot = _engine()
    state: State | None = State(i18n.negotiate([lang], bot.codes)) if lang else None
    click.echo("Type a message as if texting the bot. Ctrl-D to leave.")
    while True:
        try:
            text = input("> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        reply = bot.respond(text, state)
        state = reply.state
        click.secho(f"[{reply.intent}, {reply.locale}]", dim=True)
        click.echo(reply.text if reply.text is not None else "(no reply: opted out until START)")


@main.command()
@click.option("--explain", is_flag=True, help="Also show what each step decided: the words, "
              "the language, the exact rule (if one decided), the most likely intents with "
              "their probabilities, the decision and the evidence (for editing examples).")
def classify(explain: bool) -> None:
    """Read messages (one per line) on stdin; write one JSON object per line.

    Each line is a new sender with nothing remembered."""
    bot = _engine()
    for raw in sys.stdin.buffer:  # bytes: a stray invalid byte must not stop the run
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        reply = bot.respond(text, None)
        out: dict[str, object] = {"intent": reply.intent, "locale": reply.locale}
        if explain:
            out.update(text=text, **bot.matcher.explain(text))
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@main.command()
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds (0: none).")
@click.option("--tune", is_flag=True, help="Choose the decision thresholds on the examples "
              "(out of fold) and the held-back texts, and print them for "
              "content/understanding.yaml.")
@click.option("--misses", is_flag=True, help="Also list the held-back texts answered wrongly.")
@click.option("--fit", "fit_only", is_flag=True, help="Only fit (or read the cached model) and "
              "say so in one line: what `make run` does first.")
def model(folds: int, tune: bool, misses: bool, fit_only: bool) -> None:
    """Fit the model on the examples (and cache it), then measure it: cross-validated on
    the examples, and on the held-back texts it never learns from."""
    import time

    from . import measure
    from .decide import choose

    started = time.perf_counter()
    bot = _engine()
    content, matcher = bot.content, bot.matcher
    by_locale = {code: sum(ex.locale == code for ex in content.examples)
                 for code in (*bot.codes, None)}
    click.echo(f"examples: {len(content.examples)} ("
               + ", ".join(f"{c or 'any'} {n}" for c, n in by_locale.items())
               + f"); held back: {len(content.heldback)}; fitted in "
               f"{time.perf_counter() - started:.1f} s (model {matcher.model.key[:12]}, "
               f"{len(matcher.model.index)} features)")
    if fit_only:
        return
    scored: list[measure.Scored] = []
    if folds > 1:
        click.echo(f"\ncross-validated, {folds} folds:")
        for line in measure.cross_validate(content, folds, scored).lines():
            click.echo("  " + line)
    held = measure.score(matcher, content.heldback)
    click.echo("\nheld back (never trained on):")
    for line in held.lines():
        click.echo("  " + line)
    if misses:
        for text, wanted, got in held.misses:
            click.echo(f"  miss {text!r}: want {wanted}, got {got}")
    th = content.thresholds
    click.echo(f"\nthresholds (understanding.yaml): urgent {th.urgent}, unknown {th.unknown}")
    if tune:
        rows = scored + measure.probabilities(matcher, content.heldback)
        best, cost = choose(rows, th)
        click.echo(f"chosen on {len(rows)} texts no rule decides (the examples out of fold, "
                   f"and the held-back ones; cost {cost:g}, a missed urgent text costs 5, "
                   f"an urgent answer to a calm one 1): urgent: {best.urgent}, unknown: "
                   f"{best.unknown}")


@main.command()
@click.option("--settings", "with_settings", is_flag=True,
              help="Also check the settings as `helpline serve` would (before a restart).")
def check(with_settings: bool) -> None:
    """Validate content and catalogs; print every reply's length, encoding and segments
    as sent by SMS (with HELPLINE_SMS_ENCODING=gsm7: after its substitutions). Every
    locale folder is checked, the drafts HELPLINE_LOCALES does not serve too."""
    from . import live_locales, settings, sms
    from .content import live_codes, locale_codes
    from .i18n import catalog_problems

    config = _config()
    found = settings.problems(config) if with_settings else []
    folder = Path(config["CONTENT_DIR"])
    live, wrong = live_codes(folder, live_locales(config)) if folder.is_dir() else ([], [])
    found += wrong
    try:
        bot = _engine(locales=locale_codes(folder) if folder.is_dir() else None)
    except (ContentError, ConfigError) as err:
        for problem in found + getattr(err, "problems", [str(err)]):
            click.echo(f"ERROR {problem}", err=True)
        sys.exit(1)
    problems = found + catalog_problems(Path(os.environ.get("HELPLINE_LOCALES_DIR")
                                     or DEFAULTS["LOCALES_DIR"]), bot.codes,
                                code_dir=Path(__file__).parent)
    click.echo(f"{'reply':<12} {'locale':<6} {'chars':>5} {'encoding':<8} {'segments':>8}")
    # As an SMS carries them: with HELPLINE_SMS_ENCODING=gsm7 (or a locale's
    # `sms_encoding: gsm7`), after the substitutions.
    rows = [(name, code, bot.formats["sms"](text, code) if text else text)
            for name, code, text in bot.all_replies()]
    for name, code, text in rows:
        seg = sms.segments(text)
        flag = "" if seg.count <= sms.MAX_SEGMENTS else "  TOO LONG"
        click.echo(f"{name:<12} {code:<6} {len(text):>5} {seg.encoding:<8} {seg.count:>8}{flag}")
        if flag:
            problems.append(f"{name} ({code}): {seg.count} segments, the limit is "
                            f"{sms.MAX_SEGMENTS}")
    for code in bot.codes:
        counts = sorted(sms.segments(t).count for _, c, t in rows if c == code)
        served = "live" if code in live else "draft, not served (HELPLINE_LOCALES)"
        click.echo(f"{code}: {len(counts)} replies, median {statistics.median(counts):g} "
                   f"segments, most {counts[-1]}, {sum(counts)} in all ({served})")
    import datetime as dt

    from .content import review_warnings

    try:
        max_days = int(_config()["REVIEW_MAX_DAYS"])
    except (TypeError, ValueError):
        problems.append("HELPLINE_REVIEW_MAX_DAYS: a whole number of days")
        max_days = 180
    warnings = review_warnings(bot.content, dt.date.today(), max_days)
    for warning in warnings:
        click.echo(f"WARNING {warning}", err=True)
    if warnings:
        click.echo(f"{len(warnings)} warning(s): do not go live with replies no person has "
                   "reviewed (README, Editing content)", err=True)
    for problem in problems:
        click.echo(f"ERROR {problem}", err=True)
    click.echo(f"{len(problems)} problem(s)" if problems else "content and catalogs OK")
    sys.exit(1 if problems else 0)


@main.group()
def twilio() -> None:
    """Set or check the helpline number's webhooks at Twilio.

    Needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, HELPLINE_TWILIO_NUMBERS and
    HELPLINE_PUBLIC_URL."""


@twilio.command()
@click.option("--dry-run", is_flag=True, help="Print what would be set; change nothing.")
def configure(dry_run: bool) -> None:
    """Point the number's messaging and voice webhooks at /sms and /voice (POST)."""
    from .numbers import SetupError, compare, describe

    try:
        changes = compare(os.environ, apply=not dry_run)
    except SetupError as err:
        raise click.ClickException(str(err)) from None
    for change in changes:
        if not change.differs:
            click.echo(f"{change.number}  {change.field.name}: already "
                       f"{describe(change.wanted)}")
        else:
            verb = "would set" if dry_run else "set"
            click.echo(f"{change.number}  {change.field.name}: {verb} "
                       f"{describe(change.wanted)} (was {describe(change.was)})")


@twilio.command(name="check")
def twilio_check() -> None:
    """Read the number's webhooks back from Twilio and say what differs (exit 1)."""
    from .numbers import SetupError, compare, describe

    try:
        changes = compare(os.environ)
    except SetupError as err:
        raise click.ClickException(str(err)) from None
    for change in changes:
        if change.differs:
            click.echo(f"{change.number}  {change.field.name}: DIFFERS: Twilio has "
                       f"{describe(change.was)}, the bot expects {describe(change.wanted)}")
        else:
            click.echo(f"{change.number}  {change.field.name}: OK {describe(change.wanted)}")
    wrong = sum(c.differs for c in changes)
    click.echo(f"{wrong} webhook(s) differ: run `helpline twilio configure`" if wrong
               else "webhooks OK")
    sys.exit(1 if wrong else 0)


@main.command()
def registration() -> None:
    """Print what the A2P 10DLC (Charity) and toll-free verification forms ask for,
    from the content and settings served now (HELPLINE_ORG_NAME, HELPLINE_PUBLIC_URL ...)."""
    from .registration import form

    try:
        bot = _engine()
    except (ContentError, ConfigError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(form(bot, _config()), nl=False)


def _app(serving: bool = True):  # type: ignore[no-untyped-def]
    """The app as `serve` builds it, from the same HELPLINE_* settings; `serving=False`
    (purge, stats) needs no Twilio settings."""
    try:
        return create_app(serving=serving)
    except (ConfigError, ContentError, StoreError) as err:
        raise click.ClickException(str(err)) from None


@main.command()
def purge() -> None:
    """Delete every expired record and counter now (run it daily: see README)."""
    app = _app(serving=False)
    store = app.extensions["helpline_store"]
    gone = getattr(store, "purged_at_open", 0) + store.purge()  # opening purges too
    store.close()
    click.echo(f"purged {gone} expired record(s) and counter(s)")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as /stats serves it.")
def stats(as_json: bool) -> None:
    """Messages per day, intent and locale; counts under 5 shown as "<5"."""
    from .stats import SMALL, report

    app = _app(serving=False)
    rows = report(app.extensions["helpline_store"])
    app.extensions["helpline_store"].close()
    if as_json:
        click.echo(json.dumps({"rows": rows, "small_counts_below": SMALL}, indent=1))
        return
    click.echo(f"{'day':<10}  {'intent':<12} {'locale':<6} {'count':>6}")
    for row in rows:
        click.echo(f"{row['day']:<10}  {row['intent']:<12} {row['locale']:<6} "
                   f"{row['count']!s:>6}")
    if not rows:
        click.echo("(no messages counted yet)")


@main.command()
@click.option("--older-than", default=10, show_default=True, type=click.IntRange(min=1),
              help="Minutes: only messages at least this old (complete ones) are deleted.")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
def redact(older_than: int, dry_run: bool) -> None:
    """Delete this helpline's messages from Twilio's records (optional; see README).

    Needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and HELPLINE_TWILIO_NUMBERS (the
    helpline's own numbers, comma-separated): only messages to or from them are touched.
    """
    from .redact import RedactError, redact_messages

    try:
        done = redact_messages(os.environ, older_than * 60, dry_run=dry_run)
    except RedactError as err:
        raise click.ClickException(str(err)) from None
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {done.deleted} message(s); left {done.pending} not yet complete "
               f"and {done.recent} newer than {older_than} min; {done.failed} refused")
    sys.exit(1 if done.failed else 0)
