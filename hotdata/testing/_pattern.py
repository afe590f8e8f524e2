"""Strings that match a JSON Schema ``pattern``, for the test doubles' answers.

A small generator for the common regex subset: literals, escapes (``\\d \\w \\s`` and
friends), character classes with ranges and negation, quantifiers (``? * + {n} {n,}
{n,m}``), groups, alternation and anchors; lookarounds are skipped and every candidate
is checked against the real regex before it is used.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["matching_string"]


_DIGITS = string.digits
_WORD_CHARS = string.ascii_lowercase + string.ascii_uppercase + string.digits + "_"
# the characters '.' and negated classes draw from: readable ASCII, no control or zero-width
_PRINTABLE = string.ascii_letters + string.digits + " -_.,:;!?@#%&*+=/()"
_ESCAPE_CLASSES = {
    "d": _DIGITS,
    "D": string.ascii_letters + "-_ ",
    "w": _WORD_CHARS,
    "W": " -.,:;",
    "s": " ",
    "S": string.ascii_letters + string.digits,
}
_ESCAPE_CHARS = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}
_BRACES = re.compile(r"\{(\d+)(,(\d*))?\}")


class _UnsupportedRegex(ValueError):
    pass


@dataclass(frozen=True)
class _Chars:
    choices: str


@dataclass(frozen=True)
class _Seq:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Alt:
    options: tuple[_Node, ...]


@dataclass(frozen=True)
class _Repeat:
    node: _Node
    lo: int
    hi: int | None


_Node = _Chars | _Seq | _Alt | _Repeat
_EMPTY = _Seq(())


class _RegexParser:
    """Recursive descent over the regex subset; anchors and lookarounds parse to nothing."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pos = 0

    def parse(self) -> _Node:
        node = self._alternation()
        if self.pos != len(self.pattern):
            raise _UnsupportedRegex(f"unbalanced ')' at {self.pos} in {self.pattern!r}")
        return node

    def _peek(self, ahead: int = 0) -> str | None:
        index = self.pos + ahead
        return self.pattern[index] if index < len(self.pattern) else None

    def _take(self) -> str:
        char = self._peek()
        if char is None:
            raise _UnsupportedRegex(f"{self.pattern!r} ends too early")
        self.pos += 1
        return char

    def _alternation(self) -> _Node:
        options = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            options.append(self._sequence())
        return options[0] if len(options) == 1 else _Alt(tuple(options))

    def _sequence(self) -> _Node:
        items: list[_Node] = []
        while (char := self._peek()) is not None and char not in "|)":
            items.append(self._quantified(self._atom()))
        return items[0] if len(items) == 1 else _Seq(tuple(items))

    def _quantified(self, atom: _Node) -> _Node:
        char = self._peek()
        lo: int
        hi: int | None
        if char == "?":
            lo, hi = 0, 1
        elif char == "*":
            lo, hi = 0, None
        elif char == "+":
            lo, hi = 1, None
        elif char == "{" and (match := _BRACES.match(self.pattern, self.pos)):
            lo = int(match[1])
            hi = lo if match[2] is None else (int(match[3]) if match[3] else None)
            self.pos = match.end()
        else:
            return atom
        if char in "?*+":
            self.pos += 1
        if self._peek() in ("?", "+"):  # lazy and possessive forms match the same strings
            self.pos += 1
        return self._quantified(_Repeat(atom, lo, hi))

    def _atom(self) -> _Node:
        char = self._take()
        if char == "(":
            return self._group()
        if char == "[":
            return self._class()
        if char == ".":
            return _Chars(_PRINTABLE)
        if char in "^$":
            return _EMPTY
        if char == "\\":
            return self._escape()
        if char in "*+?":
            raise _UnsupportedRegex(f"nothing to repeat at {self.pos - 1} in {self.pattern!r}")
        return _Chars(char)

    def _group(self) -> _Node:
        zero_width = False
        rest = self.pattern[self.pos :]
        if rest.startswith(("?=", "?!")):
            self.pos += 2
            zero_width = True
        elif rest.startswith(("?<=", "?<!")):
            self.pos += 3
            zero_width = True
        elif rest.startswith(("?P<", "?<")):
            self.pos = self.pattern.index(">", self.pos) + 1
        elif rest.startswith("?:"):
            self.pos += 2
        elif rest.startswith("?"):
            raise _UnsupportedRegex(f"group flags at {self.pos} in {self.pattern!r}")
        node = self._alternation()
        if self._take() != ")":
            raise _UnsupportedRegex(f"unbalanced '(' in {self.pattern!r}")
        return _EMPTY if zero_width else node

    def _escape(self) -> _Node:
        char = self._take()
        if char in _ESCAPE_CLASSES:
            return _Chars(_ESCAPE_CLASSES[char])
        if char in "bBAzZ":
            return _EMPTY
        if char.isdigit() and char != "0":
            raise _UnsupportedRegex(f"backreference \\{char} in {self.pattern!r}")
        return _Chars(self._escaped_char(char))

    def _escaped_char(self, char: str) -> str:
        if char in _ESCAPE_CHARS:
            return _ESCAPE_CHARS[char]
        if char in "xu":
            if char == "u" and self._peek() == "{":
                end = self.pattern.index("}", self.pos)
                digits, self.pos = self.pattern[self.pos + 1 : end], end + 1
            else:
                width = 2 if char == "x" else 4
                digits = self.pattern[self.pos : self.pos + width]
                self.pos += width
            try:
                return chr(int(digits, 16))
            except ValueError:
                raise _UnsupportedRegex(f"bad \\{char} escape in {self.pattern!r}") from None
        return char

    def _class(self) -> _Chars:
        negate = self._peek() == "^"
        if negate:
            self.pos += 1
        members: set[str] = set()
        first = True
        while True:
            char = self._take()
            if char == "]" and not first:
                break
            first = False
            if char == "\\":
                escaped = self._take()
                if escaped in _ESCAPE_CLASSES:
                    members.update(_ESCAPE_CLASSES[escaped])
                    continue
                char = self._escaped_char(escaped)
            if self._peek() == "-" and self._peek(1) not in ("]", None):
                self.pos += 1
                end = self._take()
                if end == "\\":
                    end = self._escaped_char(self._take())
                members.update(_char_range(char, end))
            else:
                members.add(char)
        pool = [c for c in _PRINTABLE if c not in members] if negate else sorted(members)
        readable = [c for c in pool if c.isascii() and c.isprintable()] or [
            c for c in pool if c.isprintable()
        ]
        if not readable:
            raise _UnsupportedRegex(f"no readable character in a class of {self.pattern!r}")
        return _Chars("".join(readable))


def _char_range(start: str, end: str) -> set[str]:
    lo, hi = ord(start), ord(end)
    if lo > hi:
        raise _UnsupportedRegex(f"bad range {start}-{end}")
    # a huge range (\u0000-\uffff) contributes its readable ASCII and a few of its own
    ascii_part = {c for c in _PRINTABLE if lo <= ord(c) <= hi}
    return ascii_part | {chr(code) for code in range(lo, min(hi, lo + 256) + 1)}


class _RegexWriter:
    def __init__(self, rng: random.Random, words: Sequence[str]) -> None:
        self.rng = rng
        self.words = words

    def write(self, node: _Node) -> str:
        out: list[str] = []
        self._emit(node, out)
        return "".join(out)

    def _emit(self, node: _Node, out: list[str]) -> None:
        rng = self.rng
        if isinstance(node, _Chars):
            out.append(rng.choice(node.choices))
        elif isinstance(node, _Seq):
            for item in node.items:
                self._emit(item, out)
        elif isinstance(node, _Alt):
            self._emit(rng.choice(node.options), out)
        else:
            hi = node.hi if node.hi is not None else node.lo + 8
            if isinstance(node.node, _Chars) and rng.random() < 0.8:
                # a run of letters reads better as a word when one fits the class and the bounds
                choices = set(node.node.choices)
                words = [
                    form
                    for word in self.words
                    for form in (word, word.upper(), word.capitalize())
                    if node.lo <= len(form) <= hi and set(form) <= choices
                ]
                if words:
                    out.append(rng.choice(words))
                    return
            for _ in range(rng.randint(node.lo, max(node.lo, min(hi, node.lo + 6)))):
                self._emit(node.node, out)


def matching_string(
    rng: random.Random,
    pattern: str,
    min_len: int,
    max_len: int,
    *,
    words: Sequence[str],
    filler: Callable[[random.Random, int, int], str],
) -> str:
    """A string of the right length that ``pattern`` finds (JSON Schema patterns search);
    ``words`` is the vocabulary for runs of word characters; ``filler`` writes the text
    around an unanchored match, or the whole string when the pattern is beyond this parser."""
    try:
        checker: re.Pattern[str] | None = re.compile(pattern)
    except re.error:
        checker = None
    try:
        tree: _Node | None = _RegexParser(pattern).parse()
    except (_UnsupportedRegex, ValueError):
        tree = None
    writer = _RegexWriter(rng, words)
    candidate = ""
    for _ in range(200):
        candidate = writer.write(tree) if tree is not None else filler(rng, min_len, max_len)
        if len(candidate) < min_len:
            # an unanchored pattern tolerates words around its match
            if not pattern.endswith("$"):
                candidate = (candidate + " " + filler(rng, min_len, max_len))[:max_len]
            elif not pattern.startswith("^"):
                candidate = (filler(rng, min_len, max_len) + " " + candidate)[-max_len:]
        if min_len <= len(candidate) <= max_len and (checker is None or checker.search(candidate)):
            return candidate
    return candidate
