"""Switches from the environment and the command line, parsed one way everywhere.

A switch takes exactly ``1``, ``true``, ``yes`` or ``on`` (on) and ``0``, ``false``,
``no`` or ``off`` (off), in any case. Anything else is refused in one line: a typo
such as ``review=y`` or ``force=ture`` silently read as "off" overwrote committed
fixtures or made paid calls the user had switched off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ._errors import SwitchError

__all__ = ["FALSE_WORDS", "TRUE_WORDS", "env_switch", "parse_switch"]

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def parse_switch(value: object, name: str) -> bool:
    """``value`` of switch ``name`` (``force``, ``HOTDATA_OFFLINE`` ...) as a bool.

    >>> [parse_switch(v, "force") for v in ("On", "0", "TRUE", " no ")]
    [True, False, True, False]

    Raises ``SwitchError`` naming the switch and the accepted spellings for anything else.
    """
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise SwitchError(
        f"{name}={value!r} is not a switch value: use {_either(TRUE_WORDS)} to turn it on, "
        f"or {_either(FALSE_WORDS)} to turn it off"
    )


def _either(words: tuple[str, ...]) -> str:
    return f"{', '.join(words[:-1])} or {words[-1]}"


def env_switch(name: str, environ: Mapping[str, str] | None = None) -> bool | None:
    """The switch in environment variable ``name``; None when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(name)
    if value is None or not value.strip():
        return None
    return parse_switch(value, name)
