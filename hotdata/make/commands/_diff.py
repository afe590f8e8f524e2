"""Field-level differences between two JSON values, by JSON pointer, that stay short.

Used by ``doit review``: changed, added and removed values; long strings as word
diffs; large arrays summarized ("/thoughts: 3 items changed, 2 added"); a cap on
the number of lines, with a count of what was left out. The walk is linear in the
size of the values, so a 5,000-item array change costs milliseconds, not minutes.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._secrets import blank, secret_values

__all__ = ["Change", "diff_values", "render_changes"]

Kind = Literal["changed", "added", "removed", "summary"]

# Arrays longer than this are summarized instead of listed item by item.
_ARRAY_DETAIL = 20
# Strings longer than this are shown as word diffs.
_LONG_TEXT = 60


@dataclass(frozen=True)
class Change:
    pointer: str
    kind: Kind
    old: Any = None
    new: Any = None
    text: str = ""  # the summary line, for kind "summary"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pointer": self.pointer, "kind": self.kind}
        if self.kind == "summary":
            out["summary"] = self.text
        if self.kind in ("changed", "removed"):
            out["old"] = self.old
        if self.kind in ("changed", "added"):
            out["new"] = self.new
        return out


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def diff_values(old: Any, new: Any, pointer: str = "") -> list[Change]:
    """Every difference from ``old`` to ``new``; ``old is None`` means everything was added."""
    if old is None and pointer == "":
        return [Change("", "added", new=new)]
    out: list[Change] = []
    _diff(old, new, pointer, out)
    return out


def _diff(old: Any, new: Any, pointer: str, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            if key not in new:
                out.append(Change(f"{pointer}/{_escape(key)}", "removed", old=old[key]))
        for key in new:
            where = f"{pointer}/{_escape(key)}"
            if key not in old:
                out.append(Change(where, "added", new=new[key]))
            elif old[key] != new[key]:
                _diff(old[key], new[key], where, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        if max(len(old), len(new)) > _ARRAY_DETAIL:
            out.append(Change(pointer or "/", "summary", text=_summarize(old, new)))
            return
        for i in range(min(len(old), len(new))):
            if old[i] != new[i]:
                _diff(old[i], new[i], f"{pointer}/{i}", out)
        out += [Change(f"{pointer}/{i}", "removed", old=old[i]) for i in range(len(new), len(old))]
        out += [Change(f"{pointer}/{i}", "added", new=new[i]) for i in range(len(old), len(new))]
        return
    if old != new:
        out.append(Change(pointer or "/", "changed", old=old, new=new))


def _summarize(old: list[Any], new: list[Any]) -> str:
    common = min(len(old), len(new))
    changed = sum(1 for i in range(common) if old[i] != new[i])
    parts = [f"{changed} item(s) changed"] if changed else []
    if len(new) > common:
        parts.append(f"{len(new) - common} added")
    if len(old) > common:
        parts.append(f"{len(old) - common} removed")
    return f"{len(old)} -> {len(new)} items: " + (", ".join(parts) or "reordered")


def _short(value: Any, secrets: Sequence[str], limit: int = 100) -> str:
    # blanked whole, then cut: a cut can split a secret so that blanking no longer finds it
    text = blank(json.dumps(value, ensure_ascii=False), secrets)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _word_diff(old: str, new: str, secrets: Sequence[str]) -> str:
    a, b = blank(old, secrets).split(), blank(new, secrets).split()
    pieces: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            span = a[i1:i2]
            pieces.append(
                " ".join(span) if len(span) <= 6 else f"{' '.join(span[:3])} … {' '.join(span[-3:])}"
            )
            continue
        if i2 > i1:
            pieces.append("[-" + " ".join(a[i1:i2]) + "-]")
        if j2 > j1:
            pieces.append("{+" + " ".join(b[j1:j2]) + "+}")
    return " ".join(pieces)


def render_changes(
    changes: list[Change], max_lines: int = 40, secrets: Sequence[str] | None = None
) -> list[str]:
    """Lines for a terminal: ``~ /pointer: old -> new``, ``+``, ``-``; capped at ``max_lines``.

    A value holding one of ``secrets`` (default: every secret hotdata knows) shows ``***`` in
    its place, blanked before any cut."""
    if secrets is None:
        secrets = secret_values()
    lines: list[str] = []
    for change in changes:
        where = blank(change.pointer or "/", secrets)
        if change.kind == "summary":
            lines.append(f"~ {where}: {change.text}")
        elif change.kind == "added":
            lines.append(f"+ {where}: {_short(change.new, secrets)}")
        elif change.kind == "removed":
            lines.append(f"- {where}: {_short(change.old, secrets)}")
        elif isinstance(change.old, str) and isinstance(change.new, str) and len(change.old) > _LONG_TEXT:
            lines.append(f"~ {where}: {_word_diff(change.old, change.new, secrets)}")
        else:
            lines.append(f"~ {where}: {_short(change.old, secrets)} -> {_short(change.new, secrets)}")
    if len(lines) > max_lines:
        left_out = len(lines) - max_lines
        lines = [*lines[:max_lines], f"… {left_out} more change(s) left out"]
    return lines
