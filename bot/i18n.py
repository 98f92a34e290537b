"""Interface-text catalogs (gettext via Babel) and locale negotiation.

One Translations object per locale, chosen per reply: never a process-wide "current
language", so one texter's language can never leak into another's reply.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable
from pathlib import Path

from babel import Locale
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from .content import placeholders

DOMAIN = "messages"


def load_catalog(directory: Path, code: str) -> gettext.NullTranslations:
    """The compiled catalog for `code`; compiled in memory when no fresh .mo is built.

    English is the source language and needs no catalog (NullTranslations).
    """
    base = Path(directory) / code / "LC_MESSAGES"
    po, mo = base / f"{DOMAIN}.po", base / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    if po.exists():
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=code)
        buf = io.BytesIO()
        write_mo(buf, catalog)  # fuzzy entries are left out, as pybabel compile does
        buf.seek(0)
        return Translations(buf, domain=DOMAIN)
    return NullTranslations()


def load_catalogs(directory: Path, codes: Iterable[str]) -> dict[str, gettext.NullTranslations]:
    return {code: load_catalog(directory, code) for code in codes}


def negotiate(preferred: Iterable[str], available: Iterable[str]) -> str | None:
    """'es-MX' or 'es_MX' -> 'es' when 'es' is available; 'zh', 'zh-CN', 'zh-Hans-CN'
    -> 'zh_Hans'. Each preference in turn: itself, else its language alone. So 'zh-TW',
    'zh-Hant' and 'zh-HK' get Simplified while no Traditional locale is live (readers of
    Traditional characters read Simplified far better than English; a zh_Hant folder,
    once live, takes them first)."""
    available = list(available)
    for wanted in (p.replace("-", "_") for p in preferred if p):
        found = Locale.negotiate([wanted], available, sep="_")
        if found:
            return str(found)
        language = wanted.split("_")[0].lower()
        for code in available:
            if code.split("_")[0].lower() == language:
                return code
    return None


def language_name(code: str, in_locale: str | None = None) -> str:
    """The language's own name from CLDR, capitalised for the start of a line: the
    language alone ("中文", not "中文 (简体)": the script is the locale's business)."""
    name = Locale.parse(code).get_language_name(in_locale or code) or code
    return name[:1].upper() + name[1:]


def extracted_ids(source_dir: Path) -> set[str]:
    """The msgids the code uses now (what `pybabel extract` would write)."""
    found = extract_from_dir(str(source_dir), method_map=[("**.py", "python")])
    return {msgid for _, _, msgid, _, _ in found if isinstance(msgid, str)}


def catalog_problems(directory: Path, codes: Iterable[str], source: str = "en",
                     code_dir: Path | None = None) -> list[str]:
    """What a translator must fix: missing, untranslated or fuzzy entries, placeholders
    that differ from the English, a template older than the code."""
    problems: list[str] = []
    pot = Path(directory) / f"{DOMAIN}.pot"
    if not pot.exists():
        return [f"{pot}: -: template missing (run `make catalogs`)"]
    with pot.open("rb") as fp:
        wanted = {m.id for m in read_po(fp) if m.id}
    if code_dir is not None:
        for msgid in extracted_ids(code_dir) - wanted:
            problems.append(f"{pot}: {msgid!r}: in the code but not in the template "
                            "(run `make extract`)")
    for code in codes:
        if code == source:
            continue
        po = Path(directory) / code / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po.exists():
            problems.append(f"{po}: -: catalog missing (pybabel init -l {code})")
            continue
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=code)
        have = set()
        for msg in catalog:
            if not msg.id:
                continue
            have.add(msg.id)
            if msg.fuzzy:
                problems.append(f"{po}: {msg.id!r}: fuzzy (check it, then remove the flag)")
            elif not msg.string:
                problems.append(f"{po}: {msg.id!r}: not translated")
            elif not placeholders(msg.string) <= placeholders(msg.id):  # may leave one out, not add
                problems.append(f"{po}: {msg.id!r}: unknown placeholder(s) "
                                f"{sorted(placeholders(msg.string) - placeholders(msg.id))}")
        for msgid in sorted(wanted - have):
            problems.append(f"{po}: {msgid!r}: missing (run `make extract`)")
    return problems
