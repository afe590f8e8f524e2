"""Near-duplicate variants: the fixtures of one family must not say the same thing.

Prose is compared as sets of word 3-shingles (Jaccard similarity). A build compares
each new variant with every other variant of its family, so each variant's shingles
are computed once per run (``FamilyProse``) rather than once per comparison: a
family of N variants costs N shingle sets, not N². The memo also indexes which
variants hold each shingle: a similarity over the threshold (which is above 0) needs
a shared 3-word run, so only the siblings sharing one with the value are compared,
not all N.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._leaves import iter_strings
from ._settings import QualityProblem, QualitySettings
from ._text import is_prose, jaccard, shingles, words

__all__ = ["FamilyProse", "near_duplicates", "similarity"]


@dataclass(frozen=True)
class _Prose:
    fields: dict[str, set[tuple[str, ...]]]  # by JSON pointer
    whole: set[tuple[str, ...]]


def _prose_of(data: Any, min_words: int) -> _Prose:
    fields = {}
    for pointer, text in iter_strings(data):
        if is_prose(text, min_words):
            said = words(text)
            if len(said) >= 3:
                fields[pointer] = shingles(said)
    return _Prose(fields, set().union(*fields.values()))


class FamilyProse:
    """The shingles of a run's fixtures, each computed once per data value, and which
    fixtures hold each shingle.

    A value is known by its name and its identity: a fixture rewritten in the run
    (a new object) is shingled again."""

    def __init__(self) -> None:
        self._memo: dict[int, dict[str, tuple[Any, _Prose]]] = {}  # min_words -> name -> (value, prose)
        # min_words -> shingle -> the names whose memoized value holds it
        self._holders: dict[int, dict[tuple[str, ...], set[str]]] = {}
        self._guard = threading.Lock()

    def _memo_of(self, min_words: int) -> dict[str, tuple[Any, _Prose]]:
        memo = self._memo.get(min_words)
        if memo is None:
            with self._guard:
                memo = self._memo.setdefault(min_words, {})
        return memo

    def of(self, name: str, data: Any, min_words: int) -> _Prose:
        memo = self._memo_of(min_words)
        hit = memo.get(name)
        if hit is not None and hit[0] is data:
            return hit[1]
        prose = _prose_of(data, min_words)
        with self._guard:
            holders = self._holders.setdefault(min_words, {})
            old = memo.get(name)
            for shingle in old[1].whole if old is not None else ():
                holders[shingle].discard(name)
            for shingle in prose.whole:
                holders.setdefault(shingle, set()).add(name)
            memo[name] = (data, prose)
        return prose

    def sharing(self, prose: _Prose, siblings: Mapping[str, Any], min_words: int) -> set[str]:
        """The names of ``siblings`` that share a shingle with ``prose`` (every one that can be
        similar to it), each sibling's shingles taken from its value as given."""
        memo = self._memo_of(min_words)
        for name in [n for n, d in siblings.items() if (hit := memo.get(n)) is None or hit[0] is not d]:
            self.of(name, siblings[name], min_words)  # new in the run, or rewritten: indexed now
        with self._guard:
            holders = self._holders.get(min_words, {})
            found: set[str] = set().union(*(holders.get(s, ()) for s in prose.whole))
            # a sibling rewritten by another thread since it was indexed above: compare it anyway
            moved = {n for n, d in siblings.items() if memo[n][0] is not d}
        return (found & siblings.keys()) | moved


def _field(pointer: str) -> str:
    """``/agents/2/stance`` -> ``/agents/*/stance``: the field, whichever item holds it."""
    return "/".join("*" if seg.isdigit() else seg for seg in pointer.split("/"))


def _same_fields(mine: _Prose, theirs: _Prose) -> Iterator[tuple[str, str]]:
    """Each of my prose fields with each of theirs of the same field, its own item first: two
    gardens whose first and third agents say one sentence word for word are near-duplicates."""
    by_field: dict[str, list[str]] = {}
    for pointer in theirs.fields:
        by_field.setdefault(_field(pointer), []).append(pointer)
    for pointer in mine.fields:
        others = by_field.get(_field(pointer), [])
        for other in sorted(others, key=lambda o: o != pointer):
            yield pointer, other


def similarity(a: Any, b: Any) -> float:
    """Jaccard similarity in [0, 1] of the word 3-shingles of two values' prose (0 when none)."""
    return jaccard(_prose_of(a, 3).whole, _prose_of(b, 3).whole)


def near_duplicates(
    value: Any,
    siblings: Mapping[str, Any],
    settings: QualitySettings,
    family: FamilyProse | None = None,
) -> list[QualityProblem]:
    """Problems where ``value`` says the same as one of its family's other variants (by name).

    ``family``: the run's shingle memo (the siblings' shingles are then computed once per run)."""
    if not settings.enabled or "near-duplicate" not in settings.checks:
        return []
    family = family or FamilyProse()
    limit = settings.near_duplicate_threshold
    mine = _prose_of(value, settings.prose_min_words)
    problems = []
    similar = family.sharing(mine, siblings, settings.prose_min_words) if mine.whole else set()
    for name, sibling in siblings.items():
        if name not in similar:
            continue  # no 3-word run in common: similarity 0, for the whole value and each field
        theirs = family.of(name, sibling, settings.prose_min_words)
        score = jaccard(mine.whole, theirs.whole)
        if score > limit:
            message = f"the value says the same as {name} (prose similarity {score:.2f} > {limit})"
            problems.append(QualityProblem("", "near-duplicate", message))
            continue
        named: set[str] = set()  # one field of a sibling is enough to name one of mine
        for pointer, other in _same_fields(mine, theirs):
            score = jaccard(mine.fields[pointer], theirs.fields[other])
            if pointer not in named and score > limit:
                named.add(pointer)
                message = f"{pointer} says the same as {name}{other} (similarity {score:.2f} > {limit})"
                problems.append(QualityProblem(pointer, "near-duplicate", message))
    return settings.reported(problems)
