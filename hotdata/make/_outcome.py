"""What happened to each fixture in one build, and the run's summary."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .._provenance import Usage

__all__ = ["BuildSummary", "Outcome", "OutcomeKind"]


class OutcomeKind(enum.StrEnum):
    GENERATED = "generated"
    STAGED = "staged"  # generated and staged for review beside the committed pair
    SKIPPED = "skipped"  # another run built it while this one waited for the lock
    FAILED = "failed"
    BUDGET = "budget"  # the run's budget was spent; the fixture stays stale
    WAITING = "waiting"  # its request is in a provider batch (batch mode); the fixture stays stale


@dataclass(frozen=True)
class Outcome:
    """One fixture's result; ``seconds`` is time generating, ``waited`` time waiting for the build
    lock (the reporter adds the time the fixture was queued for a concurrency slot)."""

    name: str
    kind: OutcomeKind
    message: str = ""
    seconds: float = 0.0
    waited: float = 0.0
    usage: Usage = field(default_factory=Usage)  # model calls and tokens paid in this run
    replaced_staged: bool = False  # a newer change replaced one awaiting review
    replayed: int = 0  # answers taken from the store instead of the model
    kept_data: bool = False  # a schema change that did not matter: the record updated, no call
    filled: tuple[str, ...] = ()  # kept with these new fields filled from the schema's defaults
    asked_alone: str = ""  # its new required fields asked alone (or why it was rebuilt whole), in words
    # the answers a build that did not finish used (paid for): no record refers to them yet
    answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildSummary:
    """The totals a run ends with."""

    generated: int
    pending_review: tuple[str, ...]
    replaced_staged: int
    up_to_date: int
    failed: tuple[Outcome, ...]
    budget: tuple[str, ...]
    edited_kept: tuple[str, ...]
    calls: int
    replayed: int
    tokens: int
    seconds: float
    waiting: tuple[str, ...] = ()  # fixtures waiting for a provider batch
    batches: tuple[str, ...] = ()  # what the run did with batches: collected, failed, submitted
    notes: tuple[str, ...] = ()  # anything else the run has to say (a catalog left unwritten)
    records_updated: int = 0  # data kept under a changed schema: only the record was rewritten
    filled: int = 0  # of those, kept with new fields filled from the schema's defaults

    def lines(self) -> list[str]:
        waiting = f", {len(self.waiting)} waiting for a batch" if self.waiting else ""
        filled = f"; {self.filled} with new fields filled from defaults" if self.filled else ""
        kept = (
            f", {self.records_updated} record(s) updated (data kept{filled})" if self.records_updated else ""
        )
        out = [
            f"hotdata: {self.generated} generated{kept}, {self.up_to_date} up to date, "
            f"{len(self.failed)} failed, {len(self.edited_kept)} edited and kept, "
            f"{len(self.budget)} stopped by budget{waiting}; {self.calls} model call(s), "
            f"{self.replayed} replayed, {self.tokens} tokens, {self.seconds:.1f}s"
        ]
        if self.budget:
            out.append(f"Budget reached: {len(self.budget)} fixture(s) stay stale: {', '.join(self.budget)}")
        if self.failed:
            out.append(f"{len(self.failed)} fixture(s) failed:")
            out += [f"  - {o.name}: {o.message}" for o in self.failed]
        if self.replaced_staged:
            out.append(f"{self.replaced_staged} change(s) awaiting review were replaced by newer ones")
        if self.pending_review:
            out.append(f"{len(self.pending_review)} fixture(s) pending review: doit review")
        out += [f"hotdata: {line}" for line in self.notes]
        out += [f"batch: {line}" for line in self.batches]  # last: it ends with what to do next
        return out
