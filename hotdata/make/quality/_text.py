"""Text as the gates and the prose path both read it: words, sentences, word shingles.

One sentence splitter serves the gates that judge prose and the trimmer that cuts a
model's prose back to whole sentences (``generate._write``), so the two never disagree
about where a sentence ends.

    >>> split_sentences('Dr. Kim met J. R. Vance at 9. "Stop. Now." She left, e.g. at noon.')
    ['Dr. Kim met J. R. Vance at 9. "Stop. Now."', 'She left, e.g. at noon.']
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = [
    "CLOSE_QUOTES",
    "CLOSERS",
    "OPEN_QUOTES",
    "count_words",
    "is_prose",
    "jaccard",
    "ngrams",
    "open_quote",
    "shingles",
    "split_sentences",
    "words",
]

OPEN_QUOTES, CLOSE_QUOTES = "\u201c\u2018", "\u201d\u2019"  # typographic quotes
CLOSERS = "\"'" + CLOSE_QUOTES + ")]"  # what may follow a sentence's stop and still belong to it
_EDGE_PUNCT = "\"'()[]{}<>.,;:!?*_`\u2026-\u2014\u2013" + OPEN_QUOTES + CLOSE_QUOTES
# A whitespace-separated token that is an alphabetic word, punctuation around it allowed.
_WORD_TOKEN = re.compile(
    rf"(?<!\S)[{re.escape(_EDGE_PUNCT)}]*[^\W\d_]+(?:['\u2019-][^\W\d_]+)*[{re.escape(_EDGE_PUNCT)}]*(?!\S)"
)
_NORM_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "no",
        "fig",
        "approx",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "mt",
        "lt",
        "prof",
    ]
)
# A stop (with what closes around it), then the space before what may be the next sentence.
_STOP = re.compile(rf"(?<=[.!?])[{re.escape(CLOSERS)}]*\s+")
# A sentence begins with a capital or a digit, after an opening quote or bracket at most.
_BEGINS = re.compile(rf"[\"'{OPEN_QUOTES}(]?[A-Z0-9]")


def words(text: str) -> list[str]:
    """Lowercased words and numbers, punctuation dropped (for comparing and counting)."""
    return _NORM_WORD.findall(text.lower())


def count_words(text: str) -> int:
    """The alphabetic words of ``text`` (whitespace-separated, punctuation around them allowed)."""
    return len(_WORD_TOKEN.findall(text))


def is_prose(text: str, min_words: int) -> bool:
    """At least ``min_words`` alphabetic words, and words are at least half the tokens."""
    found = count_words(text)
    return found >= min_words and 2 * found >= len(text.split())


def open_quote(text: str) -> bool:
    """``text`` leaves a quotation open (an odd number of double quotes, straight or curly)."""
    return (text.count('"') + text.count("\u201c") + text.count("\u201d")) % 2 == 1


def _ends_sentence(before: str, after: str) -> bool:
    """Whether the stop at the end of ``before`` ends a sentence, ``after`` being what follows."""
    if not _BEGINS.match(after) or open_quote(before):
        return False
    tail = before.rstrip(CLOSERS).rsplit(None, 1)[-1].rstrip(".").lower()
    # "Dr. Smith", "J. R. Tolkien" and "H.A.L.O. Seven" do not end a sentence.
    return not (tail in _ABBREVIATIONS or len(tail) == 1 or "." in tail)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, each with the quotes and brackets that close after its stop.

    A stop ends a sentence when what follows begins like one (a capital or a digit), unless
    it follows an abbreviation, an initial or a dotted word, or a quotation is still open.
    """
    sentences: list[str] = []
    start = 0
    text = text.strip()
    for stop in _STOP.finditer(text):
        piece = text[start : stop.start()] + stop.group().rstrip()
        if sentences and not _ends_sentence(sentences[-1], piece):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
        start = stop.end()
    rest = text[start:]
    if rest:
        if sentences and not _ends_sentence(sentences[-1], rest):
            sentences[-1] += " " + rest
        else:
            sentences.append(rest)
    return sentences


def ngrams(items: list[str], n: int) -> Iterator[tuple[str, ...]]:
    """Every run of ``n`` consecutive items."""
    return (tuple(items[i : i + n]) for i in range(len(items) - n + 1))


def shingles(text_words: list[str]) -> set[tuple[str, ...]]:
    """The word 3-shingles of a text's words (near-duplicate comparisons)."""
    return set(ngrams(text_words, 3))


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    """Jaccard similarity of two shingle sets (0 when either is empty)."""
    return len(a & b) / len(a | b) if a and b else 0.0
