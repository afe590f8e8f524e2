"""What ``doit migrate`` does to one fixture's data, in memory: renames, then a function.

Pure: nothing here reads or writes a file. A rename moves the value at one path to a new
last key under the same parent; a path is a JSON pointer (``/talks/*/title``) or dotted
(``talks.*.title``), ``*`` standing for every item of an array (or member of an object).
A function given as ``module:function`` is called as ``function(data, name)`` with a deep
copy of the data (after the renames) and the fixture's name, and returns the new data.

>>> rename = parse_rename("talks.*.title=headline")
>>> rename.old, rename.new
('/talks/*/title', '/talks/*/headline')
>>> apply_renames({"talks": [{"title": "A"}, {"title": "B"}]}, [rename])
({'talks': [{'headline': 'A'}, {'headline': 'B'}]}, ['/talks/0/headline', '/talks/1/headline'])
"""

from __future__ import annotations

import asyncio
import copy
import difflib
import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .._provenance import Migration
from ._errors import MigrationError

__all__ = [
    "MigrationFn",
    "Rename",
    "apply_renames",
    "call_function",
    "load_function",
    "migrate_value",
    "parse_path",
    "parse_rename",
    "pointer",
    "replay_migrations",
]

# ``function(data, name) -> data``: a computed default or a transform, decided by code.
MigrationFn = Callable[[Any, str], Any]
# What the user's code may raise, as a generator may (SystemExit included): a refusal of that
# fixture in one line, never a traceback. A KeyboardInterrupt (Ctrl-C while the function runs, or
# raised by it) is left to stop the whole run: ``doit migrate`` says so in one line.
_RAISED = (Exception, SystemExit, asyncio.CancelledError)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(parts: Sequence[str]) -> str:
    """The JSON pointer of ``parts`` (``("talks", "*", "title")`` → ``/talks/*/title``)."""
    return "".join("/" + _escape(p) for p in parts)


def parse_path(text: str) -> tuple[str, ...]:
    """A JSON pointer or a dotted path as its parts; ``MigrationError`` when it names nothing."""
    text = text.strip()
    if text.startswith("/"):
        parts = tuple(_unescape(p) for p in text[1:].split("/"))
    else:
        parts = tuple(text.split("."))
    if not text or any(p == "" for p in parts):
        raise MigrationError(
            f"path {text!r} names no field: give a JSON pointer (/talks/*/title) or a dotted path "
            "(talks.*.title)"
        )
    if parts[-1] == "*":
        raise MigrationError(f"path {text!r} ends in *: a rename names a field, not every item")
    return parts


@dataclass(frozen=True)
class Rename:
    """The value at ``old`` (parts) moves to the key ``new_key`` under the same parent."""

    old_parts: tuple[str, ...]
    new_key: str

    @property
    def old(self) -> str:
        return pointer(self.old_parts)

    @property
    def new(self) -> str:
        return pointer((*self.old_parts[:-1], self.new_key))


def parse_rename(text: str) -> Rename:
    """``old=new`` as a ``Rename``: ``new`` is the full new path (only its last part may differ
    from ``old``) or the new last key alone."""
    old, sep, new = text.partition("=")
    if not sep or not old.strip() or not new.strip():
        raise MigrationError(
            f"--rename {text!r} is not old=new (for example --rename talks.*.title=talks.*.headline)"
        )
    old_parts = parse_path(old)
    new_parts = parse_path(new) if ("/" in new or "." in new) else (new.strip(),)
    if len(new_parts) > 1 and (len(new_parts) != len(old_parts) or new_parts[:-1] != old_parts[:-1]):
        raise MigrationError(
            f"--rename {text!r}: a rename keeps the value under the same parent ({pointer(old_parts[:-1]) or '/'}); "
            "only the last part may differ. Move a value elsewhere with --fn module:function"
        )
    if new_parts[-1] == old_parts[-1]:
        raise MigrationError(f"--rename {text!r} renames {pointer(old_parts)} to itself")
    return Rename(old_parts, new_parts[-1])


def _parents(value: Any, parts: tuple[str, ...], at: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    """Every object the path's last part is looked up in, with its concrete parts; raises on a
    part that is not there."""
    if not parts:
        return [(at, value)]
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(value, list):
            items = [(str(i), v) for i, v in enumerate(value)]
        elif isinstance(value, dict):
            items = list(value.items())
        else:
            raise _MissingPart(at, head, value)
        found = []
        for key, item in items:
            found += _parents(item, rest, (*at, key))
        return found
    if isinstance(value, dict) and head in value:
        return _parents(value[head], rest, (*at, head))
    index = _index(head)
    if isinstance(value, list) and index is not None and index < len(value):
        return _parents(value[index], rest, (*at, head))
    raise _MissingPart(at, head, value)


def _index(part: str) -> int | None:
    """``part`` as an array index: ASCII digits without a leading zero (RFC 6901), else None
    (``str.isdigit`` takes ``²``, which ``int`` refuses)."""
    if part.isascii() and part.isdigit() and (part == "0" or not part.startswith("0")):
        return int(part)
    return None


class _MissingPart(Exception):
    def __init__(self, at: tuple[str, ...], part: str, value: Any) -> None:
        super().__init__(part)
        self.at, self.part, self.value = at, part, value

    def hint(self) -> str:
        if isinstance(self.value, dict):
            close = difflib.get_close_matches(self.part, [str(k) for k in self.value], n=1)
            if close:
                return f"; did you mean {pointer((*self.at, close[0]))}?"
            keys = ", ".join(sorted(str(k) for k in self.value)[:8])
            return f"; it has {keys or 'no keys'}"
        if isinstance(self.value, list):
            return f"; it is an array of {len(self.value)}: use * for every item"
        return f"; it is {type(self.value).__name__}, not an object"


def _apply_rename(data: Any, rename: Rename, name: str) -> list[str]:
    """Rename in place; the pointers of the moved values."""
    try:
        parents = _parents(data, rename.old_parts[:-1], ())
    except _MissingPart as exc:
        where = pointer((*exc.at, exc.part))
        raise MigrationError(
            f"fixture {name}: --rename {rename.old}={rename.new}: {where} is not in its data{exc.hint()}"
        ) from None
    old_key, moved = rename.old_parts[-1], []
    for at, parent in parents:
        if not isinstance(parent, dict) or old_key not in parent:
            hint = _MissingPart(at, old_key, parent).hint()
            raise MigrationError(
                f"fixture {name}: --rename {rename.old}={rename.new}: {pointer((*at, old_key))} is not in "
                f"its data{hint} (already renamed? then leave this fixture out)"
            )
        if rename.new_key in parent:
            raise MigrationError(
                f"fixture {name}: --rename {rename.old}={rename.new}: {pointer((*at, rename.new_key))} is "
                "there already and a rename never overwrites: make this move in the function of --fn "
                "module:function (it runs after the renames), without this --rename"
            )
        parent[rename.new_key] = parent.pop(old_key)
        moved.append(pointer((*at, rename.new_key)))
    return moved


def apply_renames(data: Any, renames: Sequence[Rename], name: str = "") -> tuple[Any, list[str]]:
    """``data`` (a copy) with every rename applied in order, and the pointers of the moved values."""
    out = copy.deepcopy(data)
    moved: list[str] = []
    for rename in renames:
        moved += _apply_rename(out, rename, name)
    return out, moved


def load_function(spec: str) -> MigrationFn:
    """The function named ``module:function`` (a dotted attribute path after the colon), imported."""
    module_name, sep, qualname = spec.partition(":")
    if not sep or not module_name or not qualname:
        raise MigrationError(f"--fn {spec!r} is not module:function (for example --fn migrations:add_level)")
    try:
        obj: Any = importlib.import_module(module_name)
    except (*_RAISED, KeyboardInterrupt) as exc:  # one import: stopping it stops the run
        raise MigrationError(
            f"--fn {spec}: module {module_name!r} cannot be imported ({type(exc).__name__}: {exc}); "
            "give a module importable from the project root"
        ) from None
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise MigrationError(f"--fn {spec}: module {module_name!r} has no {qualname!r}") from None
    if not callable(obj):
        raise MigrationError(
            f"--fn {spec}: {qualname} is a {type(obj).__name__}, not a function (data, name) -> data"
        )
    function: MigrationFn = obj
    return function


def call_function(function: MigrationFn, spec: str, data: Any, name: str) -> Any:
    """``function(copy of data, name)``; ``MigrationError`` naming the fixture when it raises."""
    try:
        result = function(copy.deepcopy(data), name)
    except _RAISED as exc:
        said = f": {exc}" if str(exc) else ""
        raise MigrationError(f"fixture {name}: --fn {spec} raised {type(exc).__name__}{said}") from None
    if result is None:
        raise MigrationError(
            f"fixture {name}: --fn {spec} returned None; it must return the new data (data, name) -> data"
        )
    return result


def migrate_value(
    data: Any, renames: Sequence[Rename], fn: str, function: MigrationFn | None, name: str
) -> tuple[Any, list[str]]:
    """``data`` renamed, then through ``function`` (named ``fn``): what ``doit migrate`` does to one
    fixture; the new data and the pointers the renames moved."""
    out, moved = apply_renames(data, renames, name)
    if function is not None:
        out = call_function(function, fn, out, name)
    return out, moved


def replay_migrations(migrations: Sequence[Migration], name: str) -> Callable[[str], str]:
    """The recorded ``migrations`` of fixture ``name`` as one function of a JSON text: what ``doit
    verify`` applies to each answer replayed for it. Its functions are imported now
    (``MigrationError`` when one cannot be); a text they cannot migrate raises ``MigrationError``."""
    steps = [
        (
            [parse_rename(f"{old}={new}") for old, new in m.renames],
            m.fn,
            load_function(m.fn) if m.fn else None,
        )
        for m in migrations
    ]

    def migrate_text(text: str) -> str:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise MigrationError(f"fixture {name}: a replayed answer is not JSON ({exc})") from None
        for renames, fn, function in steps:
            data, _ = migrate_value(data, renames, fn, function, name)
        return json.dumps(data, ensure_ascii=False)

    return migrate_text
