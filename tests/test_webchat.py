"""The web chat page and its JSON API, through the real app (Flask's test client): the
language from Accept-Language, the same replies as SMS, state only in a signed cookie,
"leave quickly", cross-site requests refused, limits like SMS."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from bot import DEFAULTS
from bot.content import locale_codes
from conftest import CONTENT_DIR, LIMITS, fact, stored

CODES = [c for c in DEFAULTS["LOCALES"].split(",")]  # the live ones
SAME = {"Sec-Fetch-Site": "same-origin"}
COOKIE = "helpline"


class Page(HTMLParser):
    """The elements of an HTML page as (tag, attributes, text within, nested text too)."""

    VOID = frozenset({"meta", "link", "input", "br", "img", "hr", "source"})

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None], list[str]]] = []
        self.open: list[int] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), []))
        if tag not in self.VOID:
            self.open.append(len(self.elements) - 1)

    def handle_endtag(self, tag):
        while self.open:
            if self.elements[self.open.pop()][0] == tag:
                break

    def handle_data(self, data):
        for index in self.open:
            self.elements[index][2].append(data)

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str | None], str]]:
        """Elements by tag and attributes (for_="x" is for="x", data_send is data-send)."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [(a, " ".join("".join(t).split())) for t_, a, t in self.elements
                if t_ == tag and all(a.get(k) == v for k, v in wanted.items())]


def page(client, accept: str | None = None, query: str = "") -> Page:
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get("/" + query, headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/html"
    return Page(response.get_data(as_text=True))


def chat(client, message: object, headers: dict[str, str] | None = None):
    return client.post("/api/chat", json={"message": message},
                       headers=SAME if headers is None else headers)


def html_lang(p: Page) -> str | None:
    return p.find("html")[0][0].get("lang")


# -- the page ----------------------------------------------------------------------------
@pytest.mark.parametrize("accept,expected", [
    ("es-MX,es;q=0.9,en;q=0.5", "es"),
    ("es", "es"),
    ("en-US,en;q=0.9", "en"),
    ("fr-FR,fr;q=0.9", "en"),  # nothing we have: the default
    ("de-DE, es;q=0.5", "es"),
    (None, "en"),
])
def test_the_page_speaks_the_browsers_language(client, accept, expected):
    assert html_lang(page(client, accept)) == expected


def test_the_default_language_is_a_setting(make_app):
    assert html_lang(page(make_app(DEFAULT_LOCALE="es").test_client())) == "es"


def test_the_language_switch_is_visible_and_works(client):
    p = page(client, "es-MX")
    links = p.find("a", hreflang="en") + p.find("a", hreflang="es")
    assert [(a["href"], text) for a, text in links] == [("/?lang=en", "English"),
                                                        ("/?lang=es", "Español")]
    assert [a.get("aria-current") for a, _ in links] == [None, "page"]
    assert html_lang(page(client, "es-MX", "?lang=en")) == "en"


def test_the_switch_changes_the_language_of_the_replies_too(client, engine):
    assert chat(client, "hola").json["locale"] == "es"
    assert html_lang(page(client, "es-MX", "?lang=en")) == "en"
    assert chat(client, "4").json["text"].startswith(
        engine.content.locales["en"].texts["door"].reply)
    assert html_lang(page(client, "es-MX")) == "en"  # the conversation's language first


@pytest.mark.parametrize("code", CODES)
def test_quick_replies_are_the_menu_entries_with_their_titles(client, engine, code):
    p = page(client, code)
    buttons = [(a["data-send"], " ".join(t.split())) for a, t in p.find("button")
               if a.get("data-send")]
    texts = engine.content.locales[code].texts
    expected = [(d, texts[i].title) for d, i in engine.content.menu.items()
                if i in texts and texts[i].title]
    assert [d for d, _ in buttons] == [d for d, _ in expected]
    for (_, label), (_, title) in zip(buttons, expected):
        assert label.endswith(title)


def test_the_page_is_accessible_and_self_contained(client):
    p = page(client, "en")
    assert p.find("label", for_="message") and p.find("input", id="message")
    assert p.find("div", role="log")[0][0]["aria-live"] == "polite"
    assert p.find("button", id="leave")[0][1].strip() == "Leave quickly"
    assert p.find("a", href="tel:+18554357693")
    assert fact("hotline") in p.find("a", href="tel:+18554357693")[0][1]
    for attrs, _ in p.find("script") + p.find("link"):
        url = attrs.get("src") or attrs.get("href") or ""
        assert url.startswith("/static/") or attrs.get("type") == "application/json"


def test_the_page_and_its_files_are_served_with_a_strict_policy(client):
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    for name in ("chat.js", "chat.css"):
        with client.get(f"/static/{name}") as static:
            assert static.status_code == 200


@pytest.mark.parametrize("method, path", [
    ("GET", "/static/chat.js"), ("GET", "/static/chat.css"), ("GET", "/healthz"),
    ("GET", "/nowhere"), ("GET", "/sms"), ("POST", "/sms"), ("POST", "/voice"),
    ("POST", "/api/chat"), ("GET", "/static/../bot/__init__.py"),
])
def test_every_response_says_nosniff_and_carries_the_policy(client, method, path):
    """Static files, the health check and error pages too (a 404 or 405 page is HTML a
    browser would otherwise sniff and run under no policy)."""
    with client.open(path, method=method) as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_an_error_inside_still_carries_the_policy(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)  # as served: a 500 page, not a raise

    @app.get("/boom")
    def boom():
        raise RuntimeError("inside")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


# -- the conversation --------------------------------------------------------------------
@pytest.mark.parametrize("message", ["hola", "hello", "4", "privacy", "asdfgh"])
def test_the_replies_are_the_ones_sms_gets(client, engine, message):
    """The same words, but for the menu's carrier line (STOP, message rates)."""
    response = chat(client, message)
    assert response.status_code == 200
    expected = engine.respond(message, None, channel="sms")
    carrier = engine.catalogs[expected.locale].gettext(
        "Text STOP to stop. Msg & data rates may apply.")
    assert response.json["text"] == "\n".join(
        line for line in expected.text.split("\n") if line != carrier)
    assert response.json["locale"] == expected.locale


def test_the_language_is_remembered_in_the_cookie(client, engine):
    assert chat(client, "hola").json["locale"] == "es"
    reply = chat(client, "4").json
    assert reply["text"].startswith(engine.content.locales["es"].texts["door"].reply)
    assert [q["title"] for q in reply["quick"]][:1] == ["Silencio"]


def test_the_cookie_is_signed_httponly_and_samesite_strict(client):
    response = chat(client, "hola")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE + "=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # tests run over plain http
    value = client.get_cookie(COOKIE).value
    client.set_cookie(COOKIE, value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert chat(client, "4").json["locale"] == "en"  # a forged cookie is ignored


def test_the_cookie_is_secure_outside_development_and_tests(make_app):
    client = make_app(TESTING=False).test_client()
    assert "Secure" in chat(client, "hola").headers["Set-Cookie"]


def test_nothing_about_a_visitor_is_stored_on_the_server(client, db_path):
    for message in ("hola", "4", "english", "privacy"):
        assert chat(client, message).status_code == 200
    assert stored(db_path) == {}


def test_leave_quickly_clears_the_conversation(client):
    chat(client, "hola")
    assert client.get_cookie(COOKIE) is not None
    response = client.post("/api/leave", json={}, headers=SAME)
    assert response.status_code == 200
    assert "Expires=Thu, 01 Jan 1970" in response.headers["Set-Cookie"]
    assert client.get_cookie(COOKIE) is None
    assert chat(client, "4").json["locale"] == "en"


def test_forget_clears_the_cookie_like_sms_forgets_the_record(client):
    chat(client, "hola")
    assert chat(client, "borrar").json["intent"] == "forget"
    assert client.get_cookie(COOKIE) is None


def test_stop_is_explained_on_the_page_and_start_resumes(client):
    assert "START" in chat(client, "STOP").json["text"]
    assert chat(client, "4").json["text"] == chat(client, "hola").json["text"]  # silent
    assert chat(client, "START").json["intent"] == "start"
    assert chat(client, "4").json["intent"] == "door"


@pytest.mark.parametrize("body", [{"message": 4}, {"text": "hola"}, ["hola"], "hola"])
def test_a_malformed_request_is_refused(client, body):
    assert client.post("/api/chat", json=body, headers=SAME).status_code == 400


@pytest.mark.parametrize("depth", [1_000, 5_000])  # 5,000 deep still fits in 64 KiB
def test_deeply_nested_json_is_a_bad_request_not_an_error(client, depth):
    body = "[" * depth + "]" * depth
    response = client.post("/api/chat", data=body, content_type="application/json",
                           headers=SAME)
    assert response.status_code == 400
    nested = '{"message":' * depth + '"hola"' + "}" * depth
    assert client.post("/api/chat", data=nested, content_type="application/json",
                       headers=SAME).status_code == 400


# -- cross-site request forgery ----------------------------------------------------------
def test_a_cross_site_form_post_is_refused(client):
    response = client.post("/api/chat", data={"message": "STOP"},
                           headers={"Origin": "https://evil.example",
                                    "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another site's page too
    {"Origin": "https://evil.example"},
    {"Origin": "http://localhost.evil.example"},
])
@pytest.mark.parametrize("path", ["/api/chat", "/api/leave"])
def test_a_cross_site_json_request_is_refused(client, headers, path):
    chat(client, "hola")
    response = client.post(path, json={"message": "STOP"}, headers=headers)
    assert response.status_code == 403
    assert chat(client, "4").json["locale"] == "es"  # nothing changed


def test_a_same_origin_request_without_fetch_metadata_is_accepted(client):
    assert chat(client, "hola", {"Origin": "http://localhost"}).status_code == 200


# -- limits ------------------------------------------------------------------------------
def test_an_over_limit_visitor_still_gets_the_hotline_without_a_429(make_app):
    client = make_app(WEB_RATE_PER_MINUTE=3).test_client()
    for message in ("hola", "1", "2"):
        assert chat(client, message).status_code == 200
    response = chat(client, "3")
    assert response.status_code == 200 and response.json["limited"] is True
    assert fact("hotline") in response.json["text"]
    assert response.json["hotline"] == fact("hotline")


def test_visitors_behind_one_address_are_counted_apart(make_app):
    """A shared Wi-Fi or a carrier's NAT: one address, many people, each with their own
    cookie. Each asking about the door is not a loop, and one's limit is not another's."""
    app = make_app(**LIMITS)
    visitors = [app.test_client() for _ in range(8)]
    assert [chat(v, "4").status_code for v in visitors] == [200] * 8
    assert all("limited" not in chat(v, "4").json for v in visitors)
    lone = make_app(**{**LIMITS, "WEB_RATE_PER_MINUTE": 1}).test_client()
    other = app.test_client()
    assert chat(lone, "hola").status_code == 200
    assert chat(lone, "1").json.get("limited") is True
    assert "limited" not in chat(other, "1").json


def test_the_same_visitor_asking_again_and_again_is_a_loop(make_app):
    client = make_app(**LIMITS).test_client()
    answers = [chat(client, "4").json for _ in range(4)]
    assert ["limited" in a for a in answers] == [False, False, False, True]
    assert fact("hotline") in answers[-1]["text"]


def test_a_flood_from_one_address_meets_its_ceiling(make_app):
    """A script dropping its cookie each time is a new visitor each time: the address's
    ceiling holds it, with a 429 (a browser visitor never gets one)."""
    app = make_app(**{**LIMITS, "WEB_ADDRESS_RATE_PER_MINUTE": 20})
    statuses = [chat(app.test_client(), "hola").status_code for _ in range(25)]
    assert statuses == [200] * 20 + [429] * 5
    response = chat(app.test_client(), "hola")
    assert fact("hotline") in response.json["text"]
    other = app.test_client().post("/api/chat", json={"message": "hola"}, headers=SAME,
                                   environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200 and "limited" not in other.json


@pytest.mark.parametrize("proxies,counted_apart", [(0, False), (1, True)])
def test_behind_a_trusted_proxy_addresses_are_told_apart(make_app, proxies, counted_apart):
    """Behind a proxy every request comes from its address; X-Forwarded-For tells the
    addresses apart, but only when the operator says a proxy sets it (else it is forged)."""
    app = make_app(WEB_ADDRESS_RATE_PER_MINUTE=1, TRUSTED_PROXIES=proxies)
    one, two = app.test_client(), app.test_client()
    assert chat(one, "hola", {**SAME, "X-Forwarded-For": "198.51.100.1"}).status_code == 200
    second = chat(two, "hola", {**SAME, "X-Forwarded-For": "203.0.113.9"})
    assert second.status_code == (200 if counted_apart else 429)


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_the_address_ceiling_must_be_a_positive_whole_number(make_app, value):
    from bot import ConfigError

    with pytest.raises(ConfigError, match="HELPLINE_WEB_ADDRESS_RATE_PER_MINUTE"):
        make_app(WEB_ADDRESS_RATE_PER_MINUTE=value)


def test_the_web_menu_does_not_speak_of_carrier_words_or_rates(client, engine):
    for message in ("hola", "menu", "START"):
        text = chat(client, message).json["text"]
        assert "STOP" not in text and "rates" not in text.lower() and "tarifas" not in text
        assert fact("hotline") in text
    sms_menu = engine.respond("menu", None, "sms").text
    assert "STOP" in sms_menu  # texts keep it: carriers require it


def test_a_visitor_can_click_through_every_topic_with_the_default_limits(make_app):
    """Reading the nine topics in a row is browsing, not a flood: the web page has its
    own, higher rates (texting keeps 5 a minute; web replies cost nothing)."""
    client = make_app(**LIMITS).test_client()
    assert [chat(client, m).status_code for m in ["hola", *"123456789"]] == [200] * 10
