"""The ``names`` check: a proper name in prose that nothing the fixture was given supplies.

What a fixture was given: the prompts it sent, the material it built on
(``QualityContext.context``), its own short (structured) string fields, and the allow-list
(``names = ["Ingrid", "Acme"]``). Realistic text invents names all the time (a reviewer's
husband Tom, a street, a product the reader knows), so a name is refused in two narrow cases:

* a stand-in or machine-made name: ``Premise-1``, ``Agent-7``, ``TechCorp``, ``ShopCo``,
  ``John Doe``, ``Company X``, ``Acme``, ``XYZ Logistics``, ``SmolLM``;
* a replaced name: what the fixture was given names someone or something (``customer: "Ana
  Ruiz"``), the text names none of it, and puts another name where a person's name goes: after
  a greeting ("Hi Maria"), a title ("Mr Johnson"), a role ("the incident commander, Jordan
  Blake", "Instructor Kevin"), or as a sentence's subject ("Max had", "Emma and David invite").

A name the sources use is never refused, nor one they write in lower case; days, months,
nationalities and greetings are not names; quoted text is reported speech. A text that uses a
given name may add others ("Casa Azul … the owner, Lupita"). What this check cannot see: a
plausibly invented person where the fixture gave a person ("Sarah closed the most
escalations" for Lena), a wrong place ("Oslo to Paris" for Rome).

Precision and recall are measured on tests/data/meaning_names_roles.json, held out (``python
-m bench.bench_meaning``); it was tuned on tests/data/meaning_names_roles_tuning.json. The
check cannot know the prompts of committed data, so it runs only when the build does (``doit
validate`` and ``doit status`` skip it), and it is off unless ``checks`` names it.
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
_SENTENCE_END = re.compile(r"[.!?:;\u2026]['\"\u2019\u201d)]*$")
# Stand-ins and machine-made names: never a real party in realistic data.
_STAND_IN = re.compile(
    r"\b[A-Z][a-z]+-\d{1,3}\b|"  # Premise-1, Agent-7
    r"\b[A-Z][a-z]+(?:Corp|Co|Inc|Tech|Soft|Mart|Shop|Store|Systems|Solutions)\b|"  # TechCorp, ShopCo
    r"\b(?:John|Jane) (?:Doe|Smith)\b|\bJoe Bloggs\b|\bCompany [A-Z]\b|\bAcme\b|"
    r"\b(?:XYZ|ABC) (?:[A-Z][a-z]+ ?){1,3}|"
    r"\b(?:Restaurant|Company|Hotel|Customer|Business|Store|Shop|Brand|Product|Author|Person|Agent|"
    r"Employee|Venue|Event|Client|Manager) Name\b|"
    r"\bSmolLM\w*"
)
# Where a person's name goes: the slots a replaced name is looked for in.
_NAME = r"(?P<name>[A-Z][a-z]+(?:['\u2019-][A-Z]?[a-z]+)*(?: [A-Z][a-z]+(?:-[A-Z][a-z]+)*){0,2})"
_SLOTS = [
    re.compile(r"\b(?i:hi|hello|hey|dear|thanks|thank you|regards|cheers),? " + _NAME),
    re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Mx)\.? " + _NAME),
    re.compile(
        r"\b(?i:instructor|handler|agent|manager|author|commander|customer|client|owner|chef|driver|"
        r"teacher|student|nurse|doctor|engineer|technician|host|guide|assignee|officer|"
        r"advisor|adviser|representative|specialist|coordinator|supervisor|recruiter|reviewer),? " + _NAME
    ),
]
# A name as the subject of a sentence: "Max had", "Emma and David invite". Not any verb: a note's
# "Monitoring alerted", "Price reduced", "Patient asked" start with nouns.
_SUBJECT = re.compile(_NAME + r"(?: and [A-Z][a-z]+ (?:[a-z]+)| (?:had|has|says|said|will|wrote))\b")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['\u2019]s$")
_QUOTED = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d")


def _words(text: str) -> set[str]:
    return {_POSSESSIVE.sub("", w).lower() for w in _WORD.findall(text)}


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
                # a field is a name when capitalised; a prompt's first word is not
                elif (
                    word[0].isupper()
                    and len(word) >= 3
                    and word.lower() not in _NOT_NAMES
                    and (is_field or not _sentence_start(text, found.start()))
                ):
                    names.add(word.lower())
        allow = {w.lower() for entry in allowed for w in _WORD.findall(entry)}
        return cls(frozenset(words), frozenset(lower), frozenset(names), frozenset(allow))

    def knows(self, word: str) -> bool:
        low = word.lower()
        return low in self.words or low in self.allowed


def _sentence_start(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return not before or bool(_SENTENCE_END.search(before)) or "\n" in text[len(before) : at]


def _slot_names(text: str) -> list[str]:
    """Names in the slots where a person's name goes (see the module's rules)."""
    found = [m for slot in _SLOTS for m in slot.finditer(text)]
    found += [m for m in _SUBJECT.finditer(text) if _sentence_start(text, m.start())]
    names = []
    for match in sorted(found, key=lambda m: m.start("name")):
        kept = [w for w in match.group("name").split() if w.lower() not in _NOT_NAMES]
        if kept:
            names.append(" ".join(kept))
    return names


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
    for name in _slot_names(text):
        if any(not known.knows(w) and w.lower() not in known.lower for w in _words(name)):
            given = ", ".join(sorted(known.names)[:4])
            return f"names {name!r} instead of any name the fixture was given ({given})"
    return None
