"""The Know Your Rights rubric as content tests: each nuance the attorney-style review
asked for is present in each locale, by its key phrase; the Spanish survives GSM-7; the
new topics have content, examples, held-back texts and a menu path in every locale."""

from __future__ import annotations

import re

import pytest

from bot.content import load as load_content
from bot.conversation import Helpline, State
from conftest import CONTENT_DIR, LOCALES_DIR, SETTINGS, LIVE

NEW = ("checkin", "phone", "plan", "court", "proof")
# (intent, locale): key phrases that must all be there.
NUANCES = {
    ("police", "en"): ["state and local police", "civil immigration arrests",
                       "criminal warrant signed by a judge", "federal law requires",
                       "do NOT bind ICE", "an arrest for a crime can still reach ICE"],
    ("police", "es"): ["locales y estatales", "arrestos migratorios civiles",
                       "orden penal firmada por un juez", "la ley federal lo exige",
                       "NO limitan a ICE", "un arresto por un delito puede llegar a ICE"],
    ("privacy", "en"): ["does not save your messages", "Twilio", "until deleted",
                        "phone company keeps its own records", "{retention_days} days"],
    ("privacy", "es"): ["no guarda sus mensajes", "Twilio y su compañía telefónica guardan "
                        "registros", "{retention_days} días"],
    ("door", "en"): ["Do not open the door", "slide the warrant under", "igned by a judge",
                     "does not oblige you to open", "Opening can count as consent",
                     "search only what it lists", "do not resist", "I do not consent",
                     "Everyone stays silent", "Final removal order", "I-205",
                     "courts are weighing it", "lawyer now"],
    ("door", "es"): ["No abra la puerta", "por debajo", "firmada por un juez",
                     "no le obliga a abrir", "Si abre, pueden tomarlo como permiso para "
                     "entrar", "registrar solo lo que dice", "no se resista",
                     "No doy permiso", "todos en la casa guarden silencio",
                     "Orden final de salida", "I-205", "las cortes lo revisan", "abogado"],
    ("silent", "en"): ["border and airports", "visa", "18 or older", "green card"],
    ("silent", "es"): ["frontera", "aeropuertos", "visas", "A partir de los 18 años",
                       "green card (mica)"],
    ("walk_away", "en"): ['"police"', "If no", "stay where you are"],
    ("walk_away", "es"): ["POLICE", "Si le dicen que no", "quédese en su lugar"],
    ("detained", "en"): ["locator does not show children", "A-number"],
    ("detained", "es"): ["número A de la persona detenida", "¿Un menor?"],
    ("record", "en"): ["in public places", "can be charged", "no papers"],
    ("record", "es"): ["cargos penales", "no tiene papeles"],
    ("lawyer", "en"): ["appointment", "weekday", "Department of Justice-recognized",
                       "accredited representative", '"notario" is not a lawyer'],
    ("lawyer", "es"): ["pedir cita", "entre semana", "reconocida por el Departamento de "
                       "Justicia", "representante acreditado", '"notario" no es abogado'],
    ("search", "en"): ["If they think you have a weapon"],
    ("search", "es"): ["Si creen que usted tiene un arma"],
    ("checkin", "en"): ["Talk to a lawyer", "Do not just skip", "arrest warrant",
                        "reschedule", "location, face and voice", "family plan"],
    ("checkin", "es"): ["Hable con un abogado", "No deje de ir", "orden de arresto",
                        "otra fecha", "su cara, su voz", "plan familiar"],
    ("phone", "en"): ["face and fingerprint unlock", "passcode", "airports and borders",
                      "does not stop it", "buys data", "Illinois limits", "Signal"],
    ("phone", "es"): ["cara o huella", "clave", "aeropuertos y fronteras", "no lo impide",
                      "compra datos", "Illinois limita", "Signal"],
    ("plan", "en"): ["CFS 444-2", "short-term guardian", "2 adult witnesses",
                     "in English", "keep custody", "emergency contacts", "A-number"],
    ("plan", "es"): ["CFS 444-2", "tutor temporal", "2 testigos adultos", "en inglés",
                     "no pierde la custodia", "contactos de emergencia", "A-Number"],
    ("court", "en"): ["Go to every hearing", "deported without you", "EOIR-33",
                      "does not update the court", "arrested people at court",
                      "time to find one", "10 days"],
    ("court", "es"): ["Vaya a todas sus audiencias", "sin estar usted", "EOIR-33",
                      "no basta", "arrestado a personas en la corte", "tiempo para buscar"],
    ("proof", "en"): ["without a judge", "2 years", "Aug 2025", "June 2026",
                      "may go on", "copies, not originals", "foreign passports",
                      "do not lie", "see a judge", "fear going back"],
    ("proof", "es"): ["sin juez", "2 años", "agosto de 2025", "junio de 2026",
                      "puede seguir", "copias, no originales", "pasaportes extranjeros",
                      "no mienta", "ver a un juez", "tiene miedo"],
}
# Replies that give legal information say it is general information, not legal advice.
NOT_LEGAL = ("hotline", "report", "detained", "privacy", "thanks")
DISCLAIMER = {"en": "General information, not legal advice.",
              "es": re.compile(r"no (constituye |es )?(asesoramiento|asesoría) legal", re.I)}
# Spanish words that become other words without their accent (GSM-7 drops it).
SHIFTING = {"sí", "está", "más", "tú", "mí", "aún", "sólo", "cómo", "dónde", "cuándo"}


def _raw(engine, code, intent):
    import yaml

    data = yaml.safe_load((CONTENT_DIR / code / "replies.yaml").read_text(encoding="utf-8"))
    return data["intents"][intent]["reply"]


@pytest.mark.parametrize("intent, code", sorted(NUANCES))
def test_each_nuance_is_in_each_locale(engine, intent, code):
    reply = _raw(engine, code, intent)
    assert [p for p in NUANCES[(intent, code)] if p not in reply] == []


@pytest.mark.parametrize("code", ["en", "es"])
def test_legal_replies_say_they_are_not_legal_advice(engine, code):
    for intent, text in engine.content.locales[code].texts.items():
        if intent not in NOT_LEGAL:
            wanted = DISCLAIMER[code]
            found = wanted in text.reply if isinstance(wanted, str) \
                else wanted.search(text.reply)
            assert found, (code, intent)


def test_the_spanish_wording_of_the_review(engine):
    menu = engine.menu("es")
    assert "3 Revisiones (registros)" in menu and "pueden aplicarse tarifas" in menu
    assert "Pueden aplicarse tarifas" in engine.help_text("es")
    assert engine.content.locales["es"].service == "Conozca sus derechos"
    assert "S.A.L.U.T.E." not in engine.content.locales["es"].texts["report"].reply
    for intent in ("lawyer",):
        assert "DOJ" not in engine.content.locales["es"].texts[intent].reply


def test_spanish_keeps_its_meaning_in_gsm7():
    """Under HELPLINE_SMS_ENCODING=gsm7 á, í, ó, ú lose their accent: no Spanish reply
    uses a word whose meaning then changes (sí/si, está/esta, más/mas ...)."""
    bot = Helpline(load_content(CONTENT_DIR, SETTINGS, LIVE), LOCALES_DIR, "en", "gsm7")
    for name, code, text in bot.all_replies():
        if code == "es":
            words = {w for w in re.findall(r"\w+", text)}  # upper-case MÁS is a command
            assert not words & SHIFTING, (name, words & SHIFTING)


@pytest.mark.parametrize("code", ["en", "es"])
@pytest.mark.parametrize("intent", NEW)
def test_every_new_topic_has_content_examples_and_a_menu_path(engine, code, intent):
    text = engine.content.locales[code].texts[intent]
    assert text.reply and text.title and text.sources
    examples = [ex for ex in engine.content.examples
                if ex.locale == code and ex.intents[0] == intent]
    held = [ex for ex in engine.content.heldback
            if ex.locale == code and ex.intents[0] == intent]
    assert len(examples) >= 40 and len(held) >= 10
    digit = next(d for d, i in engine.content.menu.items() if i == intent)
    assert digit in engine.content.more
    assert f"{digit} {text.title}" in engine.respond("MORE" if code == "en" else "más",
                                                     State(code)).text
    reply = engine.respond(digit, State(code))
    assert (reply.intent, reply.locale) == (intent, code)


@pytest.mark.parametrize("code, word", [("en", "MORE"), ("en", "more topics"),
                                        ("es", "MÁS"), ("es", "otros temas")])
def test_the_menu_leads_to_the_second_page(engine, code, word):
    assert ("MORE" if code == "en" else "MÁS") in engine.menu(code)
    reply = engine.respond(word, State(code))
    assert reply.intent == "more" and reply.text == engine.more(code)
    assert "0 " in reply.text  # the way back
