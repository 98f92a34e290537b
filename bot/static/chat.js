// The web chat: send what the visitor types (or the topic they press) to /api/chat and
// show the reply. Nothing is kept in the browser beyond the page itself and the signed
// session cookie the server sets; "leave quickly" clears both.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const log = document.getElementById("log");
  const form = document.getElementById("chat");
  const input = document.getElementById("message");
  const quick = document.getElementById("quick");
  const leave = document.getElementById("leave");
  const json = { "Content-Type": "application/json" };

  // A North American number written with dashes (1-855-435-7693, 312-660-1370) or with
  // letters (1-855-HELP-MY-FAMILY): tappable, and never broken across lines.
  const NUMBER = /\b(?:1-)?\d{3}-(?:\d{3}-\d{4}|[A-Z]{2,}(?:-[A-Z]+)*)\b/g;
  const KEYPAD = { A: 2, B: 2, C: 2, D: 3, E: 3, F: 3, G: 4, H: 4, I: 4, J: 5, K: 5, L: 5,
                   M: 6, N: 6, O: 6, P: 7, Q: 7, R: 7, S: 7, T: 8, U: 8, V: 8, W: 9, X: 9,
                   Y: 9, Z: 9 };

  function tel(number) {
    let digits = number.replace(/[A-Z]/g, (c) => KEYPAD[c]).replace(/\D/g, "");
    if (!digits.startsWith("1")) digits = "1" + digits;
    return "tel:+" + digits.slice(0, 11);  // a spelled number dials its first 7 letters
  }

  // `text` into `el` as text nodes (never HTML), its numbers as links (or, inside a link
  // already, as spans that do not break).
  function withNumbers(el, text, link) {
    el.replaceChildren();
    let last = 0;
    for (const match of text.matchAll(NUMBER)) {
      el.append(text.slice(last, match.index));
      const number = document.createElement(link ? "a" : "span");
      number.className = "tel";
      number.textContent = match[0];
      if (link) number.href = tel(match[0]);
      el.append(number);
      last = match.index + match[0].length;
    }
    el.append(text.slice(last));
  }

  function add(who, text, lang) {
    const item = document.createElement("div");
    item.className = "msg " + who;
    if (lang) item.lang = lang;
    const name = document.createElement("span");
    name.className = "visually-hidden";
    name.textContent = (who === "you" ? data.words.you : data.words.bot) + ": ";
    const body = document.createElement("p");
    if (who === "bot") withNumbers(body, text, true);
    else body.textContent = text;  // text, never HTML
    item.append(name, body);
    log.append(item);
    // A reply is read from its first line (under the sticky bar); the visitor's own
    // message just comes into view above the message box.
    item.scrollIntoView({ block: who === "bot" ? "start" : "nearest" });
  }

  document.querySelectorAll("[data-numbers]").forEach((el) => {
    withNumbers(el, el.textContent, false);
  });

  function topics(items, lang) {
    quick.lang = lang;
    quick.replaceChildren(...items.map((entry) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.send = entry.send;
      const digit = document.createElement("span");
      digit.className = "digit";
      digit.textContent = entry.send;
      button.append(digit, " " + entry.title);
      item.append(button);
      return item;
    }));
  }

  // The conversation changed language ("hola" on an English page): the page follows.
  function relabel(words, lang) {
    if (lang === data.lang) return;
    data.lang = lang;
    data.words = words;
    document.documentElement.lang = lang;
    document.title = words.service;
    document.querySelectorAll("[data-word]").forEach((el) => {
      if ("numbers" in el.dataset) withNumbers(el, words[el.dataset.word], false);
      else el.textContent = words[el.dataset.word];
    });
    document.querySelectorAll("[data-label]").forEach((el) => {
      el.setAttribute("aria-label", words[el.dataset.label]);
    });
    input.placeholder = words.placeholder;
    document.querySelectorAll(".langs a").forEach((link) => {
      if (link.lang === lang) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
  }

  async function send(text) {
    text = text.trim();
    if (!text) return;
    add("you", text);
    let reply;
    try {
      const response = await fetch(data.chat, {
        method: "POST", headers: json, body: JSON.stringify({ message: text }),
        credentials: "same-origin",
      });
      reply = await response.json();  // 429 and 500 carry a text with the hotline too
    } catch (err) {
      add("bot", data.words.failed);
      return;
    }
    const lang = (reply.locale || "").replace("_", "-");  // zh_Hans -> zh-Hans (BCP 47)
    add("bot", reply.text, lang);
    if (reply.words) relabel(reply.words, lang);
    if (reply.quick) topics(reply.quick, lang);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    send(text);
    input.focus();
  });

  quick.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-send]");
    if (button) send(button.dataset.send);
  });

  // The language switch replaces this page too: no history entry of the helpline is
  // left behind it for Back to return to after leaving.
  document.querySelectorAll(".langs a").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      window.location.replace(link.href);
    });
  });

  // Escape leaves quickly, from anywhere on the page.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") leave.click();
  });

  // Leave quickly: hide everything at once, ask the server to drop the cookie, and
  // replace this page (location.replace: the Back button does not come back here).
  leave.addEventListener("click", () => {
    log.replaceChildren();
    document.body.hidden = true;
    let gone = false;
    const away = () => {
      if (!gone) { gone = true; window.location.replace(data.away); }
    };
    fetch(data.leave, { method: "POST", headers: json, body: "{}", keepalive: true,
                        credentials: "same-origin" }).then(away, away);
    setTimeout(away, 800);
  });
})();
