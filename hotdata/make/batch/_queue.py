"""What a run's fixtures see of batch mode: which request waits, which is wanted for a batch.

The queue is the generate stage's ``Detour`` (``generate._answering``): its answer source
asks it, from any thread, about each request the store has no answer for: is it held by a
live batch (it waits: never asked twice), did a batch bring its answer, may it be in a batch
whose job file cannot be read (it waits too), and, in batch mode, is it wanted for this
run's batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ..models._seam import ModelReply, ModelRequest
from ._jobs import BatchItem, BatchJob, BrokenJobFile, ago, now_utc

__all__ = ["BatchQueue", "FoundBatch", "Wanted"]


class Holder(Protocol):
    def describe(self, now: datetime | None = None) -> str: ...


@dataclass(frozen=True)
class FoundBatch:
    """A live batch found at the provider by its metadata, whose job file hotdata cannot read."""

    path: Path
    local_id: str
    batch_id: str
    status: str
    created_at: datetime

    def describe(self, now: datetime | None = None) -> str:
        when = ago(self.created_at, now or now_utc())
        return f"{self.local_id} ({self.status}, submitted {when}; its job file {self.path} cannot be read)"


@dataclass(frozen=True)
class Wanted:
    request: ModelRequest
    fixture: str
    round: int


class BatchQueue:
    """What this run knows about batches, asked by the generate stage's answer source from any
    thread (it is a ``generate.Detour``).

    Args:
        batching: batch mode is on (new first attempts are wanted, not sent).
        batchable: whether a model id can be batched.
    """

    def __init__(self, batching: bool, batchable: Callable[[str], bool]) -> None:
        self.batching = batching
        self._batchable = batchable
        self._models: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._held: dict[str, Holder] = {}  # key -> the live batch that holds it
        self._answered: set[str] = set()
        self._brought: dict[str, ModelReply] = {}  # answers of a batch found without its job file
        self._blocked: list[BrokenJobFile] = []  # job files hotdata can neither read nor find a batch for
        self._synchronous: set[str] = set()
        self._resubmits: dict[str, tuple[int, str]] = {}  # key -> (times, the job it ended unfinished in)
        self._wanted: dict[str, Wanted] = {}
        self.unbatchable: set[str] = set()  # models asked synchronously in batch mode

    # -- what collecting the jobs tells the queue ------------------------------------------

    def hold(self, job: BatchJob) -> None:
        self.hold_keys(job.items, job)

    def hold_keys(self, keys: Iterable[str], holder: Holder) -> None:
        with self._lock:
            for key in keys:
                self._held[key] = holder

    def carry(self, key: str, item: BatchItem, job: BatchJob) -> None:
        if item.carry == "answered":
            with self._lock:
                self._answered.add(key)
        elif item.carry == "synchronous":
            self.ask_synchronously(key)
        elif item.carry == "resubmit":
            self.resubmit(key, item.resubmitted + 1, job.local_id)

    def ask_synchronously(self, key: str) -> None:
        with self._lock:
            self._synchronous.add(key)

    def resubmit(self, key: str, times: int, origin: str) -> None:
        with self._lock:
            self._resubmits[key] = (times, origin)

    def bring(self, key: str, reply: ModelReply) -> None:
        """An answer of a batch whose job file cannot be read: recorded when a fixture asks ``key``
        (only the fixture has the request it answers)."""
        with self._lock:
            self._brought[key] = reply

    def block(self, file: BrokenJobFile) -> None:
        """A job file whose batch cannot be identified: requests it may hold wait while it is there."""
        with self._lock:
            self._blocked.append(file)

    # -- what a fixture's request asks ---------------------------------------------------------

    def answered(self, key: str) -> bool:
        """A batch answered ``key``: its recorded answer is used even under ``replay = off``."""
        with self._lock:
            return key in self._answered

    def brought(self, key: str) -> ModelReply | None:
        with self._lock:
            return self._brought.get(key)

    def waits(self, key: str, request: ModelRequest) -> str | None:
        """Why this request, missing from the store, must not be asked now (None: it may be)."""
        with self._lock:
            holder = self._held.get(key)
            blocked = list(self._blocked)
        if holder is not None:  # never asked twice: its answer is on the way
            return f"waiting for batch {holder.describe()}; run `doit fixtures` again to collect"
        if request.attempt != 1 or not blocked or not self._is_batchable(request.model):
            return None  # re-asks are never batched; nor are other models' requests
        for file in blocked:
            if key in file.keys or file.model in (None, request.model):
                return (
                    f"its request may be in the batch of {file.path}, which hotdata can neither read nor "
                    "find at the provider; repair or remove that file"
                )
        return None

    def wants(self, key: str, request: ModelRequest) -> bool:
        """Whether this request, missing from the store, should wait for a batch."""
        if not self.batching or request.attempt != 1:
            return False  # re-asks stay synchronous: they depend on the answer just refused
        with self._lock:
            if key in self._synchronous:
                return False
        return self._is_batchable(request.model)

    def _is_batchable(self, model: str) -> bool:
        with self._lock:
            known = self._models.get(model)
        if known is None:
            known = self._batchable(model)
            with self._lock:
                self._models[model] = known
                if not known and self.batching:
                    self.unbatchable.add(model)
        return known

    def want(self, key: str, request: ModelRequest, fixture: str, round_: int) -> None:
        with self._lock:
            self._wanted.setdefault(key, Wanted(request, fixture, round_))

    def take_wanted(self) -> dict[str, Wanted]:
        with self._lock:
            wanted = {k: w for k, w in self._wanted.items() if k not in self._held}
            self._wanted.clear()
            return wanted

    def resubmission(self, key: str) -> tuple[int, str] | None:
        with self._lock:
            return self._resubmits.get(key)
