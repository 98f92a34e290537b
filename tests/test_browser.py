"""The web chat in a real headless Chromium (Debian's `chromium`, driven by Playwright):
the real app on a loopback port, a visitor types, presses a topic, leaves quickly.

Screenshots for a person to look at: tests/artifacts/webchat-phone.png and
tests/artifacts/webchat-desktop.png. Without a browser the tests skip, except when
HELPLINE_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from conftest import fact, reply_now

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# Read now: the suite's autouse fixture removes HELPLINE_* variables before each test.
REQUIRED = os.environ.get("HELPLINE_REQUIRE_BROWSER") == "1"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AWAY = "https://weather.example/"  # the neutral page "leave quickly" goes to
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]


def _missing() -> str | None:
    if sync_playwright is None:
        return "playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = _missing()
    if missing:
        if REQUIRED:
            pytest.fail(f"HELPLINE_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(make_app: Callable[..., Flask]) -> Iterator[str]:
    """The real app (test settings) served on a free loopback port in a thread."""
    app = make_app(LEAVE_URL=AWAY)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    thread.join(5)
    httpd.server_close()


def bot_messages(page: Page):
    return page.locator("#log .msg.bot p")


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_a_visitor_chats_presses_a_topic_and_leaves_quickly(browser, server, engine, size):
    context = browser.new_context(locale="en-US", viewport=VIEWPORTS[size])
    # The machine has no internet: the neutral site is answered here.
    context.route(AWAY + "**", lambda route: route.fulfill(
        status=200, content_type="text/html",
        body="<!doctype html><title>Weather</title><h1>Weather</h1>"))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    try:
        page.goto(server)
        expect(page.locator("html")).to_have_attribute("lang", "en")  # Accept-Language
        expect(page.get_by_role("button", name="Leave quickly")).to_be_visible()

        page.get_by_label("Your message").fill("hola")
        page.keyboard.press("Enter")
        expect(bot_messages(page)).to_have_count(1)
        menu = bot_messages(page).first
        expect(menu).to_contain_text("Envíe un número")
        expect(menu).to_have_text(engine.menu("es"), use_inner_text=True)
        expect(page.locator("#log .msg.bot").first).to_have_attribute("lang", "es")
        # The page follows the conversation into Spanish.
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("heading", name="Temas")).to_be_visible()
        expect(page.get_by_role("link", name="Español")).to_have_attribute("aria-current",
                                                                          "page")

        door = reply_now(engine, "es", "door")
        page.get_by_role("button", name="4 Puerta").click()  # the topics are Spanish now
        expect(bot_messages(page)).to_have_count(2)
        expect(bot_messages(page).nth(1)).to_have_text(door, use_inner_text=True)
        assert fact("hotline") in bot_messages(page).nth(1).inner_text()
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["helpline"]["httpOnly"] and cookies["helpline"]["sameSite"] == "Strict"

        ARTIFACTS.mkdir(exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"webchat-{size}.png"), full_page=True)

        page.get_by_role("button", name="Salir rápido").click()
        page.wait_for_url(AWAY)
        expect(page).to_have_title("Weather")
        assert "helpline" not in {c["name"] for c in context.cookies()}
        page.go_back()  # location.replace: Back does not return to the chat
        assert not page.url.startswith(server)
        assert errors == []
    finally:
        context.close()


def test_the_page_works_in_spanish_from_accept_language(browser, server):
    context = browser.new_context(locale="es-MX", viewport=VIEWPORTS["phone"])
    page = context.new_page()
    try:
        page.goto(server)
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("button", name="Salir rápido")).to_be_visible()
        page.get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.get_by_role("button", name="9 Hotline").click()
        expect(bot_messages(page).first).to_contain_text(fact("hotline"))
    finally:
        context.close()
