"""Step 3 of understanding: the exact rules, only where exactness is the point.

- carrier words (STOP, STOPALL, UNSUBSCRIBE, REVOKE, "opt out" ... START, UNSTOP; HELP
  and INFO): a whole message of them acts, as carriers and Twilio act on it, and
  nothing learnt may overrule that;
- menu digits ("4", "opción 4", "cuatro"), and numbers that are none ("99");
- the command words the replies tell people to send (MENU, FORGET, BORRAR);
- language names ("español", "in English please") and negated ones ("no hablo
  inglés": the language it is written in).

Each rule reads the whole message: a word inside a longer sentence ("stop sign", "4 agents
on my block", "english classes") is for the learned model to read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import NamedTuple

from babel import Locale

from .content import CARRIER_WORDS, HELP_WORDS, Content
from .text import normalise


HELP_RULE = "carrier help word"  # HELP, INFO: the menu, answered with the HELP reply


class Ruled(NamedTuple):
    intent: str
    rule: str  # what decided, for `classify --explain`
    target: str | None = None  # for `language`: the language asked for
    locale: str | None = None  # the language the rule's words are in, when they tell


class Rules:
    def __init__(self, content: Content):
        self.menu = dict(content.menu)
        self.numbers: dict[str, str] = {}
        self.menu_words: set[str] = set()
        self.fillers: set[tuple[str, ...]] = set()
        self.negations: set[str] = set()
        self.commands: dict[tuple[str, ...], tuple[str, str | None]] = {}  # words -> intent, locale
        self.names: dict[tuple[str, ...], str] = {}  # a language's name -> its code
        for code, loc in content.locales.items():
            self.numbers.update(loc.numbers)
            self.menu_words.update(loc.menu_words)
            self.negations.update(loc.negations)
            self.fillers.update(tuple(normalise(f)) for f in loc.fillers)
            for intent, words in loc.commands.items():
                for command in words:
                    key = tuple(normalise(command))
                    seen = self.commands.get(key)  # in two locales ("menu"): tells none
                    self.commands[key] = (intent, code if seen is None else None)
            for name in loc.language_names:
                self.names[tuple(name.split())] = code
            for other in content.locales:  # CLDR: "español", "Spanish", "inglés", "中文"
                cldr = Locale.parse(code)
                for name in (cldr.get_display_name(other), cldr.get_language_name(other)):
                    if name and normalise(name):
                        self.names[tuple(normalise(name))] = code
        self.longest_filler = max(map(len, self.fillers), default=1)
        self.names_by_first: Mapping[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for name, code in self.names.items():
            self.names_by_first[name[0]].append((name, code))

    def decide(self, words: list[str], written: str | None) -> Ruled | None:
        """The rule that decides this whole message, if one does. `written`: the
        language the message is in, for a negated name."""
        whole = " ".join(words)
        for form in (whole, "".join(words)):  # "opt out", "stop all" as one word
            if form in CARRIER_WORDS:
                return Ruled(CARRIER_WORDS[form], "carrier word")
        if words[0] in CARRIER_WORDS and all(w in CARRIER_WORDS for w in words):
            return Ruled(CARRIER_WORDS[words[0]], "carrier words")  # STOP STOP STOP
        if whole in HELP_WORDS:
            return Ruled("menu", HELP_RULE)
        digit = self.menu_digit(words)
        if digit:
            return Ruled(self.menu[digit], "menu digit")
        if all(w.isdigit() for w in words):  # "99", "12345": no topic, no language
            return Ruled("unknown", "a number that is no menu digit")
        rest = self._command(words)
        if rest:
            return rest
        return self._language_request(words, written)

    def menu_digit(self, words: list[str]) -> str | None:
        """'4', '4 pls', 'opcion 4', 'uno': a menu choice; '99' or '4 agents here' is not."""
        digits = [self.numbers.get(w, w) for w in words if self.numbers.get(w, w) in self.menu]
        others = [w for w in words if self.numbers.get(w, w) not in self.menu]
        if len(digits) == 1 and len(others) <= 2 and all(w in self.menu_words for w in others):
            return digits[0]
        return None

    def _only_fillers(self, words: list[str]) -> bool:
        """The words are all filler ("please", "por favor", "in"): they change nothing."""
        i = 0
        while i < len(words):
            for size in range(min(self.longest_filler, len(words) - i), 0, -1):
                if tuple(words[i:i + size]) in self.fillers:
                    i += size
                    break
            else:
                return False
        return True

    def _command(self, words: list[str]) -> Ruled | None:
        for size in range(min(len(words), 4), 0, -1):
            for start in range(len(words) - size + 1):
                found = self.commands.get(tuple(words[start:start + size]))
                if found and self._only_fillers(words[:start] + words[start + size:]):
                    return Ruled(found[0], "command word", locale=found[1])
        return None

    def named_language(self, words: list[str], written: str | None) -> tuple[str, bool] | None:
        """The language a message asks for, and whether by negation ("no hablo inglés"
        asks for the language it is written in, `written`). Of several names the last
        one counts: "my Spanish is not good, answer me in English"."""
        found: tuple[str, bool] | None = None
        for i, word in enumerate(words):
            for name, code in self.names_by_first.get(word, ()):
                if tuple(words[i:i + len(name)]) != name:
                    continue
                if self.negations.isdisjoint(words[max(0, i - 3):i]):
                    found = (code, False)
                elif written and written != code:
                    found = (written, True)
                else:
                    other = sorted(set(self.names.values()) - {code})
                    if len(other) == 1:
                        found = (other[0], True)
        return found

    def _language_request(self, words: list[str], written: str | None) -> Ruled | None:
        """A message that is a language's name and filler ("español por favor", "no
        hablo inglés"): the language it asks for."""
        named = self.named_language(words, written)
        if named is None:
            return None
        target, negated = named
        rest = [w for w in words if w not in self.negations]
        for name, code in self.names.items():  # take the names' words out
            if len(name) == 1:
                rest = [w for w in rest if w != name[0]]
        if not self._only_fillers(rest):
            return None
        return Ruled("language", "negated language name" if negated else "language name",
                     target)
