"""Review before accept: ``doit review``, ``doit accept``, ``doit reject``.

With review on (``review = true``, ``doit fixtures review=1``, ``HOTDATA_REVIEW=1``)
a rebuilt fixture is staged as ``NAME.json.new`` and ``NAME.meta.json.new`` beside
the committed pair, which stays untouched. ``doit review`` shows each staged
fixture with why it was rebuilt and a field-level diff, and asks a/r/s (accept,
reject, skip) or A/R/S for all remaining; without a terminal it only prints.

The answers a staged build recorded are staged with it (``<key>.json.new`` in the
answer store): accepting a fixture moves the ones its record used into the store,
rejecting it drops those nothing else uses, so the committed fixtures keep the
answers they were built from.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from doit.exceptions import TaskFailed

from .._provenance import Provenance
from .._store import read_staged
from ._diff import Change, diff_values, render_changes
from ._pipeline import Pipeline
from ._prune import drop_unused_staged

__all__ = ["StagedChange", "accept", "reject", "review", "staged_changes"]

_MAX_LINES = 40


@dataclass(frozen=True)
class StagedChange:
    """One fixture awaiting review: why it was rebuilt and what changed."""

    name: str
    data_path: Path
    meta_path: Path
    record: Provenance
    changes: list[Change]

    @property
    def reason(self) -> str:
        return self.record.reason or "regenerated"

    def lines(self) -> list[str]:
        new = "new fixture, " if self.changes and self.changes[0].pointer == "" else ""
        head = f"{self.name}  ({new}{self.reason}; {len(self.changes)} change(s))"
        return [head, *(f"    {line}" for line in render_changes(self.changes, _MAX_LINES))]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "reason": self.reason,
            "file": str(self.data_path),
            "staged": str(self.data_path) + ".new",
            "generated_at": self.record.generated_at.isoformat().replace("+00:00", "Z"),
            "model": self.record.model,
            "changes": [c.to_json() for c in self.changes],
        }


def staged_changes(pipeline: Pipeline, names: list[str] | None = None) -> Iterator[StagedChange]:
    """Every complete staged pair of the catalog (or of ``names``), with its diff."""
    for spec in pipeline.catalog:
        if names is not None and spec.name not in names:
            continue
        data_path, meta_path = pipeline.planner.paths(spec)
        pair = read_staged(data_path, meta_path)
        if pair is None:
            continue
        raw, record = pair
        try:
            old = json.loads(data_path.read_bytes())
        except (OSError, ValueError):
            old = None  # nothing committed yet (or unreadable): everything is added
        yield StagedChange(spec.name, data_path, meta_path, record, diff_values(old, json.loads(raw)))


def _unknown(pipeline: Pipeline, names: list[str]) -> list[str]:
    return [n for n in names if n not in pipeline.catalog]


def _accept_one(pipeline: Pipeline, change: StagedChange) -> bool:
    """The staged pair replaces the committed one, then the staged answers it used join the store."""
    accepted = pipeline.writer.accept(change.data_path, change.meta_path)
    if accepted:
        pipeline.answers.promote(change.record.answer_digests)
    return accepted


def _reject_one(pipeline: Pipeline, change: StagedChange) -> bool:
    """The staged pair goes (its staged answers with it: ``drop_unused_staged`` once all are decided)."""
    return pipeline.writer.reject(change.data_path, change.meta_path)


def _decide(
    pipeline: Pipeline,
    names: list[str],
    all_: bool,
    verb: str,
    act: Callable[[Pipeline, StagedChange], bool],
) -> bool | TaskFailed:
    if not names and not all_:
        return TaskFailed(f"doit {verb} needs fixture names or --all (`doit review` lists what is pending)")
    if unknown := _unknown(pipeline, names):
        return TaskFailed(
            f"no fixture named {', '.join(map(repr, unknown))}; `doit list` shows every fixture"
        )
    changes = list(staged_changes(pipeline, None if all_ else names))
    if not changes:
        print(f"doit {verb}: nothing is pending review" + ("" if all_ else f" for {', '.join(names)}"))
        return True
    for change in changes:
        act(pipeline, change)
        print(f"{verb}ed {change.name} ({change.reason})")
    return True


def accept(pipeline: Pipeline, names: list[str], all_: bool) -> bool | TaskFailed:
    """Replace committed pairs with the staged ones (crash-safe, like a build)."""
    return _decide(pipeline, names, all_, "accept", _accept_one)


def reject(pipeline: Pipeline, names: list[str], all_: bool) -> bool | TaskFailed:
    """Delete the staged pairs and their staged answers; the committed ones stay as they are."""
    decided = _decide(pipeline, names, all_, "reject", _reject_one)
    drop_unused_staged(pipeline)
    return decided


@contextlib.contextmanager
def _keys(stream: TextIO) -> Iterator[Callable[[], str]]:
    """Single key presses without Enter, for the whole review (the terminal is put back after).

    The terminal is switched once, before the first prompt, and without flushing
    (TCSANOW): a key typed right after a prompt must not be thrown away.
    """
    import termios
    import tty

    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd, termios.TCSANOW)
    try:
        yield lambda: os.read(fd, 1).decode(errors="replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def review(pipeline: Pipeline, json_output: bool, stdin: TextIO | None = None) -> bool | TaskFailed:
    """List staged fixtures with their diffs; on a terminal, decide each with a key."""
    stdin = stdin or sys.stdin
    changes = list(staged_changes(pipeline))
    if json_output:
        print(json.dumps([c.to_json() for c in changes], indent=2, ensure_ascii=False))
        return True
    if not changes:
        print("doit review: nothing is pending review")
        return True
    interactive = stdin.isatty() and sys.stdout.isatty()
    if not interactive:
        for i, change in enumerate(changes, 1):
            print(f"\n[{i}/{len(changes)}] " + "\n".join(change.lines()), flush=True)
        print(
            f"\ndoit review: {len(changes)} fixture(s) pending; nothing changed (not a terminal). "
            "Decide with `doit accept NAME...` / `doit reject NAME...` (or --all)."
        )
        return True
    with _keys(stdin) as read_key:
        counts = _decide_each(pipeline, changes, read_key)
    if counts["rejected"]:
        drop_unused_staged(pipeline)
    print("\ndoit review: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    return True


def _decide_each(
    pipeline: Pipeline, changes: list[StagedChange], read_key: Callable[[], str]
) -> dict[str, int]:
    sticky = ""  # A, R or S: the decision for every remaining fixture
    counts = {"accepted": 0, "rejected": 0, "skipped": 0}
    for i, change in enumerate(changes, 1):
        print(f"\n[{i}/{len(changes)}] " + "\n".join(change.lines()), flush=True)
        key = sticky
        while key.lower() not in ("a", "r", "s", "q"):
            print("  a accept · r reject · s skip · A/R/S for all remaining · q quit > ", end="", flush=True)
            key = read_key()
            print(key, flush=True)
        if key == "q":
            break
        if key in "ARS":
            sticky = key
        if key.lower() == "a":
            _accept_one(pipeline, change)
            counts["accepted"] += 1
        elif key.lower() == "r":
            _reject_one(pipeline, change)
            counts["rejected"] += 1
        else:
            counts["skipped"] += 1
    return counts
