"""Fixture names: slash-separated relative paths that must stay inside the root.

A fixture name becomes a doit task (``doit fixtures:NAME``), a path under the
fixtures root (``NAME.json`` beside ``NAME.meta.json``) and a file in git on every
platform the project is cloned on. The rules keep all three working::

    agent_snapshots/cockpit_demo      fine
    agents/soul-2.v3                  fine
    agents/café                       fine (written in Unicode NFC)
    agents/a=b                        '=': doit reads `fixtures:agents/a=b` as a variable
    agents/con                        a device name on Windows

- **Segments.** ``/`` separates segments; no empty, ``.`` or ``..`` segment, no
  leading ``/``, drive (``C:``) or backslash.
- **Characters.** Each segment is letters, digits and ``_`` (Unicode ones too,
  in NFC form), ``-`` and ``.``; it starts with a letter, digit or ``_`` and does
  not end with ``.``. That leaves out, on purpose:

  - ``=``: doit takes any command-line word with ``=`` as a variable
    (``doit fixtures:a=b`` sets ``fixtures:a`` to ``b``) and refuses a task name
    containing it, which breaks every doit command, ``doit list`` included;
  - ``*`` ``?`` ``[`` ``]``: doit selects tasks by ``fnmatch`` when a name holds ``*``,
    and shells expand all four;
  - ``:`` ``<`` ``>`` ``"`` ``|`` ``?`` ``*`` and control characters: reserved in Windows
    file names (``:`` also separates a doit task from its subtask);
  - spaces, quotes, ``$ ! & ; ( ) # ~ % ^ ,`` and the like: each needs quoting on
    some command line (POSIX shells, cmd.exe, PowerShell);
  - a leading ``-`` (read as an option by command-line tools), a leading ``.``
    (hidden files; hotdata's own temp files start with one) and a trailing ``.``
    (Windows drops it, so ``a.`` and ``a`` would be one file).
- **Windows device names.** No segment whose part before the first ``.`` is
  ``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM0``-``COM9`` or ``LPT0``-``LPT9`` (also with
  ``¹²³``), in any case: Windows opens the device instead of the file.
- **Suffixes.** No ``.json`` at the end (hotdata adds it) and none of the endings
  hotdata's own files use beside a data file (``.meta``, ``.pending``, ``.tmp``, ``.lock``).
- **Length, in UTF-8 bytes.** A segment is at most ``MAX_SEGMENT_BYTES`` (200): file
  systems allow 255 bytes per file name, and hotdata writes these beside a data
  file (``XXXXXXXX`` is ``tempfile``'s random part)::

      <segment>.json  <segment>.meta.json  <segment>.meta.json.pending
      <segment>.json.new  <segment>.meta.json.new                   (staged for review)
      .<segment>.json.XXXXXXXX.tmp  .<segment>.meta.json.XXXXXXXX.tmp   (atomic writes)
      .<segment>.meta.json.pending.XXXXXXXX.tmp                      (accept: the longest)

  The longest adds 32 bytes, so 223 would be the hard limit; 200 leaves a margin
  for editors' and tools' files (``.<segment>.json.swp``) and for new suffixes. The
  whole name is at most ``MAX_NAME_BYTES`` (512), well inside ``PATH_MAX`` (4096)
  with room for the project's own path. Windows without long paths enabled limits
  the *whole* path to 260 characters: keep names short there.

Two names that differ only in case (``Agents/a``, ``agents/a``) are valid but name
one file on case-insensitive file systems (macOS, Windows).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from ._errors import InvalidFixtureName

__all__ = [
    "DATA_SUFFIX",
    "MAX_NAME_BYTES",
    "MAX_SEGMENT_BYTES",
    "META_SUFFIX",
    "PathCache",
    "fixture_paths",
    "validate_fixture_name",
]

DATA_SUFFIX = ".json"
META_SUFFIX = ".meta.json"
MAX_SEGMENT_BYTES = 200
MAX_NAME_BYTES = 512
# Suffixes hotdata owns beside data files; a name ending in one would collide.
_RESERVED_ENDINGS = (".meta", ".pending", ".tmp", ".lock")
_SEGMENT = re.compile(r"[\w.-]+")
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789¹²³"]
)
# Why a character is left out, for the ones a user is likely to try.
_WHY_NOT: dict[str, str] = {
    "=": "doit reads a command-line word with '=' as a variable and refuses task names containing it",
    ":": "Windows reserves it in file names and doit separates a task from its subtask with it",
    "*": "doit and shells treat it as a wildcard (and Windows reserves it)",
    "?": "shells treat it as a wildcard and Windows reserves it",
    "[": "doit and shells treat it as a wildcard pattern",
    "]": "doit and shells treat it as a wildcard pattern",
    "<": "Windows reserves it in file names (and shells redirect with it)",
    ">": "Windows reserves it in file names (and shells redirect with it)",
    '"': "Windows reserves it in file names (and shells quote with it)",
    "|": "Windows reserves it in file names (and shells pipe with it)",
    " ": "a space needs quoting on every command line; use '_' or '-'",
}


def validate_fixture_name(name: str) -> str:
    """Return ``name`` if it is a safe fixture name, else raise ``InvalidFixtureName``.

    The rules are in this module's docstring.

    >>> validate_fixture_name("agent_snapshots/cockpit_demo")
    'agent_snapshots/cockpit_demo'
    >>> validate_fixture_name("agents/a=b")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    hotdata._errors.InvalidFixtureName: invalid fixture name 'agents/a=b': segment 'a=b' contains '=', ...
    """
    if not isinstance(name, str):
        raise InvalidFixtureName(repr(name), "a fixture name must be a string")
    if not name:
        raise InvalidFixtureName(name, "the name is empty")
    if "\x00" in name:
        raise InvalidFixtureName(name, "it contains a NUL character")
    if "\\" in name:
        raise InvalidFixtureName(name, "it contains a backslash; use '/' between parts")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise InvalidFixtureName(name, "it is an absolute path")
    if name.endswith(DATA_SUFFIX):
        raise InvalidFixtureName(name, "leave out the '.json' suffix")
    parts = name.split("/")
    for part in parts:
        if part == "":
            raise InvalidFixtureName(name, "it has an empty path segment ('//' or a trailing '/')")
        if part in (".", ".."):
            raise InvalidFixtureName(name, f"it contains a {part!r} segment")
        if part.startswith("."):
            raise InvalidFixtureName(name, f"segment {part!r} starts with '.' (hidden files are reserved)")
        if any(ord(c) < 32 or ord(c) == 127 for c in part):
            raise InvalidFixtureName(name, "it contains a control character")
    if name.endswith(_RESERVED_ENDINGS):
        raise InvalidFixtureName(name, "it ends with a suffix hotdata reserves for its own files")
    normal = unicodedata.normalize("NFC", name)
    if normal != name:
        raise InvalidFixtureName(
            name,
            f"it is not in Unicode NFC form (macOS may hand the file back composed); write it as {normal!r}",
        )
    for part in parts:
        _check_segment(name, part)
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise InvalidFixtureName(
            name, f"it is {size} bytes in UTF-8, longer than the {MAX_NAME_BYTES} allowed; shorten it"
        )
    return name


def _check_segment(name: str, part: str) -> None:
    if not _SEGMENT.fullmatch(part):
        bad = next(c for c in part if not _SEGMENT.fullmatch(c))
        why = _WHY_NOT.get(bad, "only letters, digits, '_', '-' and '.' are allowed")
        shown = repr(bad) if bad.isprintable() else f"U+{ord(bad):04X}"
        raise InvalidFixtureName(name, f"segment {part!r} contains {shown}, which is not allowed: {why}")
    if part.startswith("-"):
        raise InvalidFixtureName(
            name, f"segment {part!r} starts with '-', which command-line tools read as an option"
        )
    if part.endswith("."):
        raise InvalidFixtureName(
            name, f"segment {part!r} ends with '.', which Windows drops from file and directory names"
        )
    if part.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        raise InvalidFixtureName(
            name,
            f"segment {part!r} is a device name on Windows ({part.split('.', 1)[0].upper()}), "
            "which cannot be a file there; add to it (e.g. 'con_demo')",
        )
    size = len(part.encode("utf-8"))
    if size > MAX_SEGMENT_BYTES:
        raise InvalidFixtureName(
            name,
            f"segment {part[:24]!r}... is {size} bytes in UTF-8, longer than the {MAX_SEGMENT_BYTES} "
            "allowed (its files need room for hotdata's suffixes within 255 bytes); shorten it",
        )


class PathCache:
    """Resolved directories and their symlinked entries, shared by many ``fixture_paths`` calls.

    One ``scandir`` per directory replaces two ``lstat`` calls per fixture, which
    matters when thousands of fixtures are checked in one run.
    """

    def __init__(self) -> None:
        self.realpaths: dict[str, str] = {}
        self.symlinks: dict[str, frozenset[str]] = {}
        self.names: dict[str, frozenset[str]] = {}

    def realpath(self, path: str) -> str:
        real = self.realpaths.get(path)
        if real is None:
            real = self.realpaths[path] = os.path.realpath(path)
        return real

    def _scan(self, directory: str) -> None:
        try:
            with os.scandir(directory) as entries:
                listed = [(e.name, e.is_symlink()) for e in entries]
        except OSError:
            listed = []
        self.names[directory] = frozenset(n for n, _ in listed)
        self.symlinks[directory] = frozenset(n for n, link in listed if link)

    def listing(self, directory: str) -> frozenset[str]:
        if directory not in self.names:
            self._scan(directory)
        return self.names[directory]

    def linked(self, directory: str) -> frozenset[str]:
        if directory not in self.symlinks:
            self._scan(directory)
        return self.symlinks[directory]

    def clear(self) -> None:
        self.realpaths.clear()
        self.symlinks.clear()
        self.names.clear()


def fixture_paths(
    root: str | os.PathLike[str], name: str, cache: PathCache | None = None, *, validated: bool = False
) -> tuple[Path, Path]:
    """Return ``(data_path, provenance_path)`` for ``name`` under ``root``.

    Raises ``InvalidFixtureName`` when the name is unsafe or resolves outside
    ``root`` (a symlinked directory or file pointing elsewhere included).
    ``validated=True`` skips the name rules for a name already checked (a declared
    fixture's, checked at declaration); the symlink check always runs.
    """
    if not validated:
        validate_fixture_name(name)
    cache = cache or PathCache()
    root_str = os.fspath(root)
    *dirs, leaf = name.split("/")
    parent = os.path.join(root_str, *dirs)
    data_name, meta_name = leaf + DATA_SUFFIX, leaf + META_SUFFIX
    real_root = cache.realpath(root_str)
    candidates = [cache.realpath(parent)]
    linked = cache.linked(parent)
    for entry in (data_name, meta_name):
        if entry in linked:
            candidates.append(os.path.realpath(os.path.join(parent, entry)))
    for real in candidates:
        if real != real_root and not real.startswith(real_root + os.sep):
            raise InvalidFixtureName(
                name, f"it resolves to {real}, outside the fixtures root {real_root} (through a symlink)"
            )
    return Path(parent, data_name), Path(parent, meta_name)
