"""The web chat in a real headless Chromium (Debian's `chromium`, driven by Playwright):
the real app on a loopback port, a visitor types, presses a topic, leaves quickly.

Screenshots for a person to look at: tests/artifacts/webchat-*.png (phone size, one per
thing checked, and desktop). An accessibility audit with axe-core (from npm:
tests/node_modules, installed by `make test`) at phone and desktop sizes in both
languages. Without a browser or axe-core the tests skip, except when
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
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG21AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
HOTLINE_TEL = "tel:+18554357693"
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
        carrier = engine.catalogs["es"].gettext("Text STOP to stop. Msg & data rates may apply.")
        expect(menu).to_have_text(engine.menu("es").replace("\n" + carrier, ""),
                                  use_inner_text=True)  # the menu, less the carrier line
        expect(page.locator("#log .msg.bot").first).to_have_attribute("lang", "es")
        # The page follows the conversation into Spanish.
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("heading", name="Temas")).to_be_visible()
        expect(page.get_by_role("link", name="Español")).to_have_attribute("aria-current",
                                                                          "page")

        assert "STOP" not in menu.inner_text()  # no carrier words on the page

        door = reply_now(engine, "es", "door")
        page.get_by_role("button", name="4 Puerta").click()  # the topics are Spanish now
        expect(bot_messages(page)).to_have_count(2)
        expect(bot_messages(page).nth(1)).to_have_text(door, use_inner_text=True)
        assert fact("hotline") in bot_messages(page).nth(1).inner_text()
        # the number is a link a phone dials with one tap
        expect(bot_messages(page).nth(1).locator(f"a[href='{HOTLINE_TEL}']")).to_have_text(
            fact("hotline"))
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
        page.wait_for_load_state("load")  # the switch replaced the page: its script runs
        page.get_by_role("button", name="9 Hotline").click()
        expect(bot_messages(page).first).to_contain_text(fact("hotline"))
    finally:
        context.close()


# -- as a phone user sees it -------------------------------------------------------------
def new_page(browser, server: str, locale: str = "en-US", size: str = "phone", **kwargs):
    context = browser.new_context(locale=locale, viewport=VIEWPORTS[size], **kwargs)
    context.route(AWAY + "**", lambda route: route.fulfill(
        status=200, content_type="text/html",
        body="<!doctype html><title>Weather</title><h1>Weather</h1>"))
    page = context.new_page()
    page.goto(server)
    return context, page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"webchat-{name}.png"))


def send(page: Page, text: str, label: str = "Your message") -> None:
    page.wait_for_load_state("load")  # the script is running
    count = bot_messages(page).count()
    page.get_by_label(label).fill(text, timeout=5000)
    page.keyboard.press("Enter")
    expect(bot_messages(page)).to_have_count(count + 1)


def test_the_message_box_stays_in_view_after_many_replies(browser, server):
    context, page = new_page(browser, server)
    try:
        for text in ["hola", "english", "4", "3", "6", "1", "7"]:
            send(page, text, "Your message" if text != "english" else "Su mensaje")
        page.wait_for_timeout(600)  # smooth scrolling comes to rest
        box = page.get_by_label("Your message")
        expect(box).to_be_in_viewport(ratio=1)  # all of it
        expect(page.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)
        last = bot_messages(page).last
        expect(last).to_be_in_viewport()
        top = last.evaluate("el => el.getBoundingClientRect().top")
        bar = page.locator("header.bar").evaluate("el => el.getBoundingClientRect().bottom")
        assert top >= bar - 1  # the reply's first line shows, not hidden under the bar
        shot(page, "phone-long-conversation")
    finally:
        context.close()


def test_numbers_are_tappable_and_never_broken_across_lines(browser, server):
    context, page = new_page(browser, server)
    try:
        send(page, "9")  # the hotline reply
        links = page.locator(f"#log .msg.bot a[href='{HOTLINE_TEL}']")
        expect(links.first).to_be_visible()
        urgent = page.locator(".urgent .tel")
        expect(urgent.first).to_have_text(fact("hotline_name"))
        for number in page.locator(".urgent .tel, #log .tel").all():
            assert number.evaluate("el => el.getClientRects().length") == 1, \
                number.inner_text()  # one box: not wrapped onto a second line
        narrow = browser.new_context(locale="en-US", viewport={"width": 320, "height": 640})
        try:
            small = narrow.new_page()
            small.goto(server)
            for number in small.locator(".urgent .tel").all():
                assert number.evaluate("el => el.getClientRects().length") == 1
            small.screenshot(path=str(ARTIFACTS / "webchat-phone-320-urgent.png"))
        finally:
            narrow.close()
        shot(page, "phone-numbers")
    finally:
        context.close()


def test_escape_leaves_quickly(browser, server):
    context, page = new_page(browser, server)
    try:
        send(page, "4")
        page.keyboard.press("Escape")
        page.wait_for_url(AWAY)
        assert "helpline" not in {c["name"] for c in context.cookies()}
        page.go_back()
        assert not page.url.startswith(server)
    finally:
        context.close()


def test_back_never_returns_to_the_helpline_after_a_language_switch(browser, server):
    context, page = new_page(browser, server)
    try:
        page.get_by_role("link", name="Español").click()
        expect(page.locator("html")).to_have_attribute("lang", "es")
        page.get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        send(page, "4")
        shot(page, "phone-after-switch")
        page.get_by_role("button", name="Leave quickly").click()
        page.wait_for_url(AWAY)
        for _ in range(3):  # however far back
            page.go_back()
            assert not page.url.startswith(server), page.url
    finally:
        context.close()


def test_visitors_sharing_one_address_are_each_answered(browser, server, engine):
    """Four people on one Wi-Fi (one address), each asking about the door once, and one
    of them clicking through every topic twice: nobody is refused."""
    door = reply_now(engine, "en", "door")
    contexts = [new_page(browser, server) for _ in range(4)]
    try:
        for _, page in contexts:
            page.locator("#quick button[data-send='4']").click()
            expect(bot_messages(page).last).to_have_text(door, use_inner_text=True)
        _, page = contexts[0]
        for _ in range(2):
            for digit in "123456789":
                count = bot_messages(page).count()
                page.locator(f"#quick button[data-send='{digit}']").click()
                expect(bot_messages(page)).to_have_count(count + 1)
                assert "Too many messages" not in bot_messages(page).last.inner_text()
        shot(page, "phone-shared-address")
    finally:
        for context, _ in contexts:
            context.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        message = f"{AXE} is missing (make axe: npm ci --prefix tests)"
        if REQUIRED:
            pytest.fail(f"HELPLINE_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
@pytest.mark.parametrize("locale, label", [("en-US", "Your message"), ("es-MX", "Su mensaje")])
def test_axe_finds_nothing_at_wcag_21_aa(browser, server, axe_source, size, locale, label):
    """axe-core, the engine behind the browsers' own audits, over the page with a
    conversation in it (the CSP is bypassed only to inject axe itself)."""
    context, page = new_page(browser, server, locale, size, bypass_csp=True)
    try:
        words = "hola" if locale.startswith("es") else "hello"
        send(page, words, label)  # the conversation in the page's language
        send(page, "4", label)
        page.add_script_tag(content=axe_source)
        result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', "
                               "values: tags}})", WCAG21AA)
        found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
                 for v in result["violations"]]
        print(f"axe {size} {locale}: {len(found)} violations {found}")
        assert found == []
        assert len(result["passes"]) > 20  # it did look
    finally:
        context.close()
