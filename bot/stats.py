"""Numbers operators can use without identifying anyone: counts per day, intent and
locale, with small counts shown as "<5" (a count of 1 on a given day could point at a
person). `/stats` exists only when HELPLINE_STATS_TOKEN is set."""

from __future__ import annotations

import datetime
import hmac

from flask import Blueprint, Response, current_app, request

from .store import Store

EPOCH = datetime.date(1970, 1, 1)
SMALL = 5  # counts under this are shown as "<5"
bp = Blueprint("stats", __name__)


def shown(n: int) -> int | str:
    return n if n >= SMALL else f"<{SMALL}"


def date_of(day: int) -> str:
    """The store's day number (days since 1970-01-01, UTC) as an ISO date."""
    return (EPOCH + datetime.timedelta(days=day)).isoformat()


def report(store: Store) -> list[dict[str, object]]:
    """One row per day, intent and locale, oldest first."""
    return [{"day": date_of(day), "intent": intent, "locale": locale, "count": shown(n)}
            for day, intent, locale, n in store.counts()]


@bp.get("/stats")
def stats() -> Response | dict[str, object]:
    token = current_app.config["STATS_TOKEN"]
    sent = request.headers.get("Authorization", "")
    if not (sent.startswith("Bearer ") and hmac.compare_digest(
            sent[len("Bearer "):].encode(), str(token).encode())):
        return Response("bearer token required\n", 401, {"WWW-Authenticate": "Bearer"},
                        mimetype="text/plain")
    return {"rows": report(current_app.extensions["helpline_store"]),
            "small_counts_below": SMALL, "days_kept": current_app.config["STATS_DAYS"]}
