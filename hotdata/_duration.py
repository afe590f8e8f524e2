"""Time-to-live values: ``timedelta``, seconds, or strings such as ``"7d"`` / ``"12h 30m"``."""

from __future__ import annotations

import math
import re
from datetime import timedelta

__all__ = ["MAX_TTL", "TTL", "format_duration", "parse_ttl"]

TTL = timedelta | float | int | str | None
# Longer is "forever" in disguise, and generated_at + ttl must stay inside the calendar
# (a ttl of 1e300 seconds overflowed every command).
MAX_TTL = timedelta(days=100 * 365)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_ttl(value: TTL) -> timedelta | None:
    """Normalise a TTL; ``None`` means valid forever.

    >>> parse_ttl("1d 12h")
    datetime.timedelta(days=1, seconds=43200)
    """
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"ttl {value!r} is not a duration; use e.g. '7d', '12h' or seconds")
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "none", "never", "forever"):
            return None
        parts = _PART.findall(text)
        if not parts or _PART.sub("", text).strip():
            raise ValueError(
                f"ttl {value!r} is not a duration; write a number with a unit s/m/h/d/w, e.g. '7d' or '12h 30m'"
            )
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise ValueError(f"ttl {value!r} is not a duration; use e.g. '7d', '12h' or seconds")
    if math.isnan(seconds):
        raise ValueError(f"ttl {value!r} is not a number of seconds; use e.g. '7d', '12h' or seconds")
    if seconds <= 0:
        raise ValueError(f"ttl {value!r} must be positive (use None for 'valid forever')")
    if seconds > MAX_TTL.total_seconds():
        raise ValueError(
            f"ttl {value!r} is longer than 100 years; leave the ttl out (or write 'never') for "
            "data that never expires"
        )
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """A short human duration: ``2d``, ``5h``, ``3m``, ``12s``."""
    seconds = abs(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"
