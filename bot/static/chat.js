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

  function add(who, text, lang) {
    const item = document.createElement("li");
    item.className = "msg " + who;
    if (lang) item.lang = lang;
    const name = document.createElement("span");
    name.className = "visually-hidden";
    name.textContent = (who === "you" ? data.words.you : data.words.bot) + ": ";
    const body = document.createElement("p");
    body.textContent = text;  // text, never HTML
    item.append(name, body);
    log.append(item);
    item.scrollIntoView({ block: "nearest" });
  }

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
      el.textContent = words[el.dataset.word];
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
    add("bot", reply.text, reply.locale);
    if (reply.words) relabel(reply.words, reply.locale);
    if (reply.quick) topics(reply.quick, reply.locale);
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
