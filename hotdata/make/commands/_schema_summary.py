"""One line per schema change in ``doit status``: how many fixtures it touches, and what each costs.

The rows say it fixture by fixture ("schema: `summary` maxLength 300 → 200 (breaking); /summary no
longer valid (...): asked alone, the rest kept — 1 call"); the summary says it for the change:

>>> rows = [
...     {"state": "stale", "reason": "schema: `s` maxLength 300 → 200; data still valid — record updated, no call"},
...     {"state": "stale", "reason": "schema: `s` maxLength 300 → 200 (breaking); /s no longer valid (at /s: "
...      "String should have at most 200 characters): asked alone, the rest kept — 1 call"},
... ]
>>> schema_change_lines(rows)
['schema: `s` maxLength 300 → 200: 2 fixture(s) — 1 no longer valid: asked field by field (1 call), 1 kept, no call']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["schema_change_lines"]

_CALLS = re.compile(r"— (\d+) calls?\b")
_LABELS = (" (breaking)", " (additive)")


def _change(reason: str) -> str | None:
    """The change a row's reason starts with, without its label; None: not a schema change."""
    if not reason.startswith("schema"):
        return None
    # the change's own words may hold "; " (two fields changed): it ends at its label, or where
    # the kept data is said to be valid
    ends = [reason.find(end) for end in (*(f"{label}; " for label in _LABELS), "; data still valid")]
    head = reason[: min(e for e in ends if e >= 0)] if any(e >= 0 for e in ends) else reason
    for label in _LABELS:
        head = head.removesuffix(label)
    return head


def schema_change_lines(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """A line for each schema change the stale ``rows`` (``doit status``'s) name, in first-seen
    order: how many fixtures, how many keep their data with no call, how many have fields asked
    alone (and the calls), how many are rebuilt whole."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        reason = str(row.get("reason") or "")
        change = _change(reason) if row.get("state") == "stale" else None
        if change is not None:
            groups.setdefault(change, []).append(reason)
    lines = []
    for change, reasons in groups.items():
        kept = sum(r.endswith("no call") for r in reasons)
        asked = [r for r in reasons if "asked alone, the rest kept" in r]
        calls = sum(int(m.group(1)) for r in asked if (m := _CALLS.search(r)))
        rebuilt = len(reasons) - kept - len(asked)
        said = []
        if asked:
            why = "no longer valid" if all("no longer valid" in r for r in asked) else "with new fields"
            said.append(f"{len(asked)} {why}: asked field by field ({calls} call{'s' if calls != 1 else ''})")
        if kept:
            said.append(f"{kept} kept, no call")
        if rebuilt:
            said.append(f"{rebuilt} rebuilt whole")
        lines.append(f"{change}: {len(reasons)} fixture(s) — {', '.join(said)}")
    return lines
