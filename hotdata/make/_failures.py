"""The last failure of each fixture, kept in ``.hotdata/failures.json`` so ``doit status`` can show it.

A run's failure messages otherwise scroll away with its output; the next
``doit status`` (or CI's) says which fixtures failed last time, when, and why.
Each entry also keeps the recorded answers the unfinished build used (a failed
one, one stopped by the budget or waiting for a batch): paid for, referred to by
no record yet, and replayed by the next build, so ``doit prune`` keeps them.
Local state: never committed (``.hotdata/`` ignores itself).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .._duration import format_duration
from .._errors import HotDataError
from ._files import ensure_state_dir, write_atomic
from ._outcome import Outcome, OutcomeKind

__all__ = ["FailureLog", "LastFailure"]


@dataclass(frozen=True)
class LastFailure:
    message: str  # empty: the build did not fail but did not finish (budget, batch)
    at: datetime
    answers: tuple[str, ...] = ()

    def describe(self, now: datetime) -> str:
        return f"the last build failed {format_duration(now - self.at)} ago: {self.message}"


def _failure(entry: object) -> LastFailure | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("message"), str):
        return None
    try:
        at = datetime.fromisoformat(str(entry.get("at")))
    except ValueError:
        return None
    answers = entry.get("answers") or []
    if not isinstance(answers, list) or not all(isinstance(k, str) for k in answers):
        return None
    return LastFailure(entry["message"], at, tuple(answers)) if at.tzinfo is not None else None


class FailureLog:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / "failures.json"
        self._entries: dict[str, LastFailure] | None = None

    def entries(self) -> dict[str, LastFailure]:
        if self._entries is None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raw = None  # none yet, or unreadable local state: start over
            self._entries = {}
            for name, entry in (raw if isinstance(raw, dict) else {}).items():
                found = _failure(entry)
                if found is not None:  # an entry of another shape is dropped, like garbage
                    self._entries[name] = found
        return self._entries

    def get(self, name: str) -> LastFailure | None:
        """The last failure of ``name``, if its last build failed."""
        found = self.entries().get(name)
        return found if found is not None and found.message else None

    def held_answers(self) -> set[str]:
        """The answers the unfinished builds used: their next build replays them."""
        return {key for entry in self.entries().values() for key in entry.answers}

    def update(self, outcomes: Iterable[Outcome]) -> None:
        """Remember this run's failures; forget those of fixtures built since."""
        entries = dict(self.entries())
        changed = False
        now = datetime.now(UTC)
        for outcome in outcomes:
            if outcome.kind is OutcomeKind.FAILED:
                entries[outcome.name] = LastFailure(outcome.message, now, outcome.answers)
                changed = True
            elif outcome.kind in (OutcomeKind.BUDGET, OutcomeKind.WAITING) and outcome.answers:
                entries[outcome.name] = LastFailure("", now, outcome.answers)
                changed = True
            elif outcome.kind in (OutcomeKind.GENERATED, OutcomeKind.STAGED) and outcome.name in entries:
                del entries[outcome.name]
                changed = True
        if changed:
            self._entries = entries
            doc = {
                n: {"message": f.message, "at": f.at.isoformat(), "answers": list(f.answers)}
                for n, f in sorted(entries.items())
            }
            # local state: when it cannot be written (a directory in its place), only the note is lost
            with contextlib.suppress(OSError, HotDataError):
                ensure_state_dir(self.state_dir)
                write_atomic(self.path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"))
