"""Settings checked at start-up: every problem found is listed at once, each with what to
set instead, so an operator fixes them in one go rather than one restart at a time."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MIN_SECRET_BYTES = 32
WHOLE_NUMBERS = ("RETENTION_DAYS", "STATS_DAYS", "RATE_PER_MINUTE", "RATE_PER_DAY",
                 "WEB_RATE_PER_MINUTE", "WEB_RATE_PER_DAY", "LOOP_REPEATS", "LOOP_SECONDS",
                 "CASE_IDLE_HOURS", "SURGE_REPORTS")
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
GENERATE_SECRET = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


def problems(cfg: dict, *, serving: bool = True) -> list[str]:
    """Everything wrong with the settings (whole numbers are converted in place).
    `serving`: the webhooks will run (`serve`), so Twilio's settings are needed too;
    `purge` and `stats` only open the store."""
    found = _numbers(cfg) + _flags(cfg) + store_problems(cfg)
    if cfg["SMS_ENCODING"] not in ("auto", "gsm7"):
        found.append(f"HELPLINE_SMS_ENCODING must be 'auto' or 'gsm7', not "
                     f"{cfg['SMS_ENCODING']!r}")
    found += handoff_problems(cfg)
    if cfg["DEV"] or not serving:
        return found
    found += _secret(cfg.get("SECRET_KEY"))
    if not cfg.get("TWILIO_AUTH_TOKEN"):
        found.append("TWILIO_AUTH_TOKEN is not set. Without it no request from Twilio can "
                     "be verified; copy the Auth Token from the Twilio console (Account > "
                     "API keys & tokens). (For local development: HELPLINE_DEV=1.)")
    found += public_url_problems(cfg.get("PUBLIC_URL"))
    for name, what in (("ORG_NAME", "your organisation's name, as registered with the "
                        "carriers (the HELP reply names it)"),
                       ("SUPPORT_CONTACT", "a phone number or e-mail address where people "
                        "reach your organisation (the HELP reply gives it)")):
        if not str(cfg.get(name) or "").strip():
            found.append(f"HELPLINE_{name} is not set: {what}.")
    if cfg.get("REDACT_MINUTES"):
        for name, env in (("TWILIO_ACCOUNT_SID", "TWILIO_ACCOUNT_SID"),
                          ("TWILIO_NUMBERS", "HELPLINE_TWILIO_NUMBERS")):
            if not cfg.get(name):
                found.append(f"HELPLINE_REDACT_MINUTES deletes Twilio's copy of messages "
                             f"and needs {env} as well (see README, Twilio's copy).")
    return found


def _numbers(cfg: dict) -> list[str]:
    found = []
    for name in WHOLE_NUMBERS + ("REDACT_MINUTES",):
        if name == "REDACT_MINUTES" and cfg.get(name) in (None, "", 0, "0", False):
            cfg[name] = None  # off
            continue
        try:
            cfg[name] = int(str(cfg[name]))
            if cfg[name] < 1:
                raise ValueError
        except ValueError:
            found.append(f"HELPLINE_{name} must be a whole number of at least 1, not "
                         f"{cfg[name]!r}")
    return found


FLAGS = ("CONFIRM_STOP",)
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off", "none"}


def _flags(cfg: dict) -> list[str]:
    """On/off settings: 1/0, true/false, yes/no, on/off (any case), converted in place."""
    found = []
    for name in FLAGS:
        word = str(cfg.get(name) if cfg.get(name) is not None else "").strip().lower()
        if word in _TRUE | _FALSE:
            cfg[name] = word in _TRUE
        else:
            found.append(f"HELPLINE_{name} must be 1 or 0 (on or off), not {cfg[name]!r}")
    return found


def _secret(secret: object) -> list[str]:
    if not secret:
        return ["HELPLINE_SECRET_KEY is not set. It keys the pseudonyms of phone numbers; "
                f"set it to a long random value, e.g. `{GENERATE_SECRET}`, and keep it "
                "secret. (For local development: HELPLINE_DEV=1.)"]
    if len(str(secret).encode()) < MIN_SECRET_BYTES:
        return [f"HELPLINE_SECRET_KEY is {len(str(secret).encode())} bytes; at least "
                f"{MIN_SECRET_BYTES} are needed, or pseudonyms can be guessed. Make one with "
                f"`{GENERATE_SECRET}`. (Changing it forgets every sender's language and "
                "opt-out.)"]
    return []


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_url_problems(url: object) -> list[str]:
    """HELPLINE_PUBLIC_URL: the origin Twilio calls, https:// (http:// only on loopback),
    no path. Without it the request's Host header would choose the URL that is checked."""
    example = "e.g. https://bot.example.org (the bot adds /sms and /voice)"
    if not url:
        return [f"HELPLINE_PUBLIC_URL is not set: the https:// address Twilio calls, "
                f"{example}. Without it a request's own Host header would decide which URL "
                "the signature is checked against."]
    text = str(url)
    parts = urlsplit(text)
    host = parts.hostname or ""
    found = []
    if parts.scheme == "http" and not is_loopback(host):
        found.append(f"HELPLINE_PUBLIC_URL={text!r} is http://: Twilio must reach the bot "
                     f"over HTTPS; set https://{parts.netloc}{'' if host else '...'} "
                     "(http:// only for a loopback address, for local trials).")
    elif parts.scheme not in ("http", "https") or not host:
        found.append(f"HELPLINE_PUBLIC_URL={text!r} is not an address like "
                     f"https://bot.example.org: {example}.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        found.append(f"HELPLINE_PUBLIC_URL={text!r} has a path: give only the origin, "
                     f"{parts.scheme or 'https'}://{parts.netloc or 'bot.example.org'} "
                     "(the bot adds /sms and /voice itself).")
    return found


def webhook_urls(public_url: str) -> dict[str, str]:
    """What to paste into the Twilio console (and what `helpline twilio configure` sets)."""
    origin = public_url.rstrip("/")
    return {"sms": origin + "/sms", "voice": origin + "/voice"}


def store_problems(cfg: Mapping[str, object]) -> list[str]:
    url = cfg.get("STORE_URL")
    if url:
        return store_url_problems(str(url))
    if cfg.get("DATABASE"):
        return _sqlite_file_problems(str(cfg["DATABASE"]), "HELPLINE_DATABASE")
    return []  # the instance folder, created when missing


STORE_FORMS = ("sqlite:///var/lib/helpline/helpline.sqlite3 (an absolute path) or "
               "redis://host[:port][/db]")


def store_url_problems(url: str) -> list[str]:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        if not url.startswith("sqlite:///"):
            return [f"HELPLINE_STORE_URL={url!r}: a SQLite URL has three slashes and an "
                    f"absolute path: {STORE_FORMS}."]
        return _sqlite_file_problems(url[len("sqlite://"):], "HELPLINE_STORE_URL")
    if scheme in ("redis", "rediss"):
        parts = urlsplit(url)
        try:
            port_ok = parts.port is None or 0 < parts.port < 65536
        except ValueError:
            port_ok = False
        db = parts.path.lstrip("/")
        if (not url.startswith(f"{scheme}://") or not parts.hostname or not port_ok
                or (db and not db.isdigit()) or parts.query or parts.fragment):
            return [f"HELPLINE_STORE_URL={url!r} is not a Redis URL like "
                    "redis://127.0.0.1:6379/0 (host, optional port, optional database "
                    "number)."]
        return []
    if scheme == "unix":
        if not url.startswith("unix:///"):
            return [f"HELPLINE_STORE_URL={url!r}: a Redis socket is "
                    "unix:///run/redis/redis.sock (an absolute path)."]
        return []
    return [f"HELPLINE_STORE_URL={url!r} is not one of the forms the bot knows: "
            f"{STORE_FORMS}."]


def _sqlite_file_problems(path: str, name: str) -> list[str]:
    if not os.path.isabs(path) or path.endswith("/"):
        return [f"{name}: {path!r} is not an absolute path to a file; use {STORE_FORMS}."]
    folder = Path(path).parent
    if not folder.is_dir():
        return [f"{name}: the folder {folder} does not exist. Create it first, owned by the "
                f"user the bot runs as (e.g. `install -d -o helpline -m 700 {folder}`); the "
                "bot does not create folders outside its instance folder."]
    return []


def read_env_file(path: str | Path) -> dict[str, str]:
    """KEY=VALUE lines (as systemd's EnvironmentFile= reads them): # comments, blank
    lines, an optional `export `, values optionally in single or double quotes."""
    values = {}
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.replace("_", "").isalnum():
            raise ValueError(f"{path}:{number}: not NAME=value")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def responder_numbers(cfg: Mapping[str, object]) -> list[str]:
    """HELPLINE_RESPONDERS as a list ('+1312...,+1773...', or a list in a test's config)."""
    value = cfg.get("RESPONDERS") or ""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(n).strip() for n in items if str(n).strip()]


def handoff_problems(cfg: dict) -> list[str]:
    """HELPLINE_RESPONDERS (E.164 numbers, texted through Twilio's API, so the account's
    SID and token are needed) and HELPLINE_ALERT_WEBHOOK (an https URL; http only on
    this machine)."""
    found = []
    numbers = responder_numbers(cfg)
    for number in numbers:
        if not E164.match(number.removeprefix("whatsapp:")):
            found.append(f"HELPLINE_RESPONDERS: {number!r} is not a phone number in E.164 "
                         "form (+13125550123); separate numbers with commas")
    if numbers and not (cfg.get("TWILIO_ACCOUNT_SID") and cfg.get("TWILIO_AUTH_TOKEN")):
        found.append("HELPLINE_RESPONDERS are texted through Twilio's API: set "
                     "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN too")
    hook = str(cfg.get("ALERT_WEBHOOK") or "").strip()
    if hook:
        parts = urlsplit(hook)
        local = parts.hostname in LOOPBACK_HOSTS
        if parts.scheme not in ("https", "http") or not parts.hostname or (
                parts.scheme == "http" and not local):
            found.append(f"HELPLINE_ALERT_WEBHOOK must be an https:// URL (http:// only "
                         f"on this machine), not {hook!r}: alerts carry numbers")
    return found
