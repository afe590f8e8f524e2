"""The ``names`` check: a proper name in prose that nothing the fixture was given supplies.

What a fixture was given: the prompts it sent, the material it built on
(``QualityContext.context``), its own short (structured) string fields, and the allow-list
(``names = ["Ingrid", "Acme"]``). Realistic text invents names all the time (a reviewer's
husband Tom, a street, a product the reader knows), so a name is refused in two narrow cases:

* a stand-in or machine-made name: ``Premise-1``, ``Agent-7``, ``TechCorp``, ``ShopCo``,
  ``John Doe``, ``Company X``, ``Acme``, ``XYZ Logistics``, ``SmolLM``;
* a replaced name: what the fixture was given names someone or something (``customer: "Ana
  Ruiz"``), the text names none of it, and names someone else instead ("Hi Maria").

A capitalised word counts as a name when it is not the first word of a sentence (unless a
second capitalised word or a past-tense verb follows it: "Jordan Blake started", "Sarah
closed"), not an acronym or a code (no lower-case letter), not a day, month, nationality or
greeting, and not a word the sources use in lower case ("open Reports" when the prompt says
"reports"). Possessives count as the name ("Kemal's").

Precision and recall are measured on tests/data/meaning_names_roles.json (``python -m
bench.bench_meaning``). The check cannot know the prompts of committed data, so it runs only
when the build does (``doit validate`` and ``doit status`` skip it), and it is off unless
``checks`` names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["KnownNames", "invented_name"]


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Capitalised words that are not names of anything invented.
_NOT_NAMES = _set(
    "i i'm i've i'd i'll ok okay dear hi hello hey thanks thank regards best cheers sincerely yes no "
    "mr mrs ms miss dr prof sir madam mx "
    "monday tuesday wednesday thursday friday saturday sunday "
    "january february march april may june july august september october november december "
    "spring summer autumn fall winter christmas easter "
    "english french german spanish italian portuguese dutch greek polish russian chinese japanese "
    "korean arabic hindi turkish swedish norwegian danish finnish irish scottish welsh british "
    "american canadian mexican brazilian indian european african asian australian "
    "the a an this that these those our my your his her their its we you he she they it "
    "in on at for from with after before when if as by to and but so or of then there here "
    "please note update fyi re fwd"
)
_TITLES = _set("mr mrs ms miss dr prof sir madam mx")
_SENTENCE_END = re.compile(r"[.!?:;\u2026]['\"\u2019\u201d)]*$")
_TOKEN = re.compile(r"[\w'\u2019&.-]+|\S", re.UNICODE)
_POSSESSIVE = re.compile(r"['\u2019]s?$")
# Stand-ins and machine-made names: never a real party in realistic data.
_STAND_IN = re.compile(
    r"\b[A-Z][a-z]+-\d{1,3}\b|"  # Premise-1, Agent-7
    r"\b[A-Z][a-z]+(?:Corp|Co|Inc|Tech|Soft|Mart|Shop|Store|Systems|Solutions)\b|"  # TechCorp, ShopCo
    r"\b(?:John|Jane) (?:Doe|Smith)\b|\bJoe Bloggs\b|\bCompany [A-Z]\b|\bAcme\b|"
    r"\b(?:XYZ|ABC) (?:[A-Z][a-z]+ ?){1,3}|"
    r"\b(?:Restaurant|Company|Hotel|Customer|Business|Store|Shop|Brand|Product) Name\b|"
    r"\bSmolLM\w*"
)
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
_QUOTED = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


@dataclass(frozen=True)
class KnownNames:
    """What a fixture was given, as the ``names`` check reads it."""

    words: frozenset[str]  # every word of the sources, lower-cased
    lower: frozenset[str]  # the words the sources write in lower case
    names: frozenset[str]  # the capitalised words of the sources: the names it was given
    allowed: frozenset[str]  # the allow-list's words, lower-cased

    @classmethod
    def of(cls, sources: Iterable[str], fields: Iterable[str], allowed: Iterable[str]) -> KnownNames:
        """From free sources (prompts, material), the fixture's short fields and the allow-list."""
        words: set[str] = set()
        lower: set[str] = set()
        names: set[str] = set()
        for text, is_field in [*((s, False) for s in sources), *((f, True) for f in fields)]:
            for found in _WORD.finditer(text):
                word = found.group()
                words.add(word.lower())
                if word.islower():
                    lower.add(word)
                elif word[0].isupper() and len(word) >= 3 and word.lower() not in _NOT_NAMES:
                    # a field is a name when capitalised; a prompt's first word is not
                    if is_field or not _sentence_start(text, found.start()):
                        names.add(word.lower())
        allow = {w.lower() for entry in allowed for w in _WORD.findall(entry)}
        return cls(frozenset(words), frozenset(lower), frozenset(names), frozenset(allow))

    def knows(self, word: str) -> bool:
        low = word.lower()
        return low in self.words or low in self.allowed


def _sentence_start(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return not before or bool(_SENTENCE_END.search(before)) or "\n" in text[len(before) : at]


def _candidates(text: str) -> list[list[str]]:
    """Runs of capitalised words that read as names (see the module's rules)."""
    tokens = [(m.group().strip(".-"), m.start()) for m in _TOKEN.finditer(text)]
    runs: list[list[str]] = []
    run: list[str] = []
    for i, (token, at) in enumerate(tokens):
        word = _POSSESSIVE.sub("", token)
        capital = bool(word) and word[0].isupper() and any(c.islower() for c in word) and word.isalpha()
        if capital and word.lower() not in _NOT_NAMES:
            initial = _sentence_start(text, at) and not run
            after = _POSSESSIVE.sub("", tokens[i + 1][0]) if i + 1 < len(tokens) else ""
            followed = bool(after) and after[0].isupper() and after.isalpha()
            verb = after.islower() and after.endswith("ed") and len(after) > 3
            titled = i > 0 and tokens[i - 1][0].lower().rstrip(".") in _TITLES
            if not initial or followed or verb or titled or token != word:
                run.append(word)
                if token != word:  # a possessive ends the name
                    runs.append(run)
                    run = []
                continue
        if run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    return runs


def invented_name(text: str, known: KnownNames) -> str | None:
    """Why ``text`` names something nothing the fixture was given supplies, or None."""
    text = _QUOTED.sub(" ", text)  # reported speech may name anyone
    for found in _STAND_IN.finditer(text):
        name = found.group().strip()
        if not all(known.knows(w) for w in _WORD.findall(name)):
            return f"names {name!r}, a stand-in name nothing the fixture was given supplies"
    if not known.names:
        return None  # given no names, the text may name anyone
    mine = _words(text)
    if mine & known.names:
        return None  # it uses a name it was given: others beside it are incidental
    for run in _candidates(text):
        unknown = [w for w in run if not known.knows(w) and w.lower() not in known.lower]
        if unknown:
            given = ", ".join(sorted(known.names)[:4])
            return (
                f"names {' '.join(run)!r} instead of any name the fixture was given ({given})"
            )
    return None
