"""The exceptions and warnings hotdata raises.

Every error is a ``HotDataError``; catch that to catch them all::

    HotDataError
    ├── InvalidFixtureName          a name that escapes the root, breaks doit or a file system
    ├── FixtureMissingError         no data file where one was expected
    ├── FixtureInvalidError         a data file that does not match its schema
    ├── ProvenanceError             a provenance record that cannot be read
    ├── SchemaError                 a type hotdata cannot use as a schema
    ├── UnknownFixtureError         a name neither registered nor built (also a KeyError)
    ├── DuplicateFixtureError       two different handles under one name
    └── SwitchError                 a switch (force=, HOTDATA_OFFLINE ...) that is neither on nor off

``HotDataWarning`` is emitted (not raised) when hotdata falls back to a default
because a fixture could not be used.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DuplicateFixtureError",
    "FixtureInvalidError",
    "FixtureMissingError",
    "HotDataError",
    "HotDataWarning",
    "InvalidFixtureName",
    "ProvenanceError",
    "SchemaError",
    "SwitchError",
    "UnknownFixtureError",
]


class HotDataError(Exception):
    """Root of every error hotdata raises."""


class InvalidFixtureName(HotDataError, ValueError):
    """A fixture name is not a safe relative path inside the fixtures root."""

    def __init__(self, name: str, why: str, where: str | None = None) -> None:
        self.name = name
        self.why = why
        self.where = where  # e.g. the @fixture declaration and variant that produced the name
        origin = f" ({where})" if where else ""
        super().__init__(
            f"invalid fixture name {name!r}{origin}: {why}. A fixture name is '/'-separated segments "
            "of letters, digits, '_', '-' and '.', each starting with a letter, digit or '_', "
            "such as 'agent_snapshots/cockpit_demo' (the rules: hotdata._names)."
        )


class FixtureMissingError(HotDataError, FileNotFoundError):
    """The data file of a fixture does not exist."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"fixture file {path} does not exist. Build it with `doit fixtures` "
            "or use load_or_default() to fall back to a default."
        )


class FixtureInvalidError(HotDataError, ValueError):
    """A data file exists but cannot be read or does not validate."""

    def __init__(self, path: Path, errors: list[str]) -> None:
        self.path = path
        self.errors = errors
        lines = "\n".join(f"  - {e}" for e in errors)
        super().__init__(
            f"fixture file {path} is invalid ({len(errors)} error(s)):\n{lines}\n"
            "Fix the file by hand, or regenerate it with `doit fixtures force=1`."
        )


class ProvenanceError(HotDataError, ValueError):
    """A provenance record exists but is unreadable or malformed."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = path
        self.why = why
        super().__init__(
            f"provenance record {path} is unreadable: {why}. Delete it and "
            "rebuild the fixture with `doit fixtures`."
        )


class SchemaError(HotDataError, TypeError):
    """A type that hotdata cannot validate or serialize."""


class UnknownFixtureError(HotDataError, KeyError):
    """No fixture is registered under the requested name."""

    def __init__(self, name: str, known: list[str], why: str | None = None) -> None:
        self.name = name
        hint = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
        what = why or f"no fixture {name!r} is registered or built under the registry's root"
        super().__init__(
            f"{what}. Known: {hint or 'none'}. Build it with `doit fixtures`, or register it "
            "with registry.register(name, HotData(path, Schema))."
        )

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class DuplicateFixtureError(HotDataError, ValueError):
    """A different handle is already registered under the name."""


class SwitchError(HotDataError, ValueError):
    """A switch's value is none of the spellings of on (1, true, yes, on) and off (0, false, no, off)."""


class HotDataWarning(UserWarning):
    """hotdata used a fallback because a fixture could not be loaded."""
