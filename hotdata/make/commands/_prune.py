"""``doit prune``: remove the recorded answers nothing needs any more, and never one that is needed.

An answer is needed while anything may replay it:

* a record under the fixtures directory (committed, pending or staged for review),
  whatever the catalog holds now: narrowing ``generators`` leaves the other modules'
  fixtures committed, and their answers with them;
* a fixture whose record cannot be read: its answers are found by the fixture
  they were recorded for, since the record cannot say;
* a batch job file (live, or collected and not yet settled: a dependent
  generator's first round waits there for its second);
* the last unfinished build of a fixture (failed, stopped by the budget, waiting
  for a batch): paid for, and replayed by its next build.

A staged answer (``<key>.json.new``) is needed only by a record that used that
very answer (by digest), and only while the committed file of its key is another
answer: the committed record of the same key used the committed one. Prune takes the build lock, so it never runs while a build records answers;
a batch job it cannot read stops it (its requests' answers may be needed).
``doit status`` counts the unused answers by the same rule, so it never invites a
prune that would cost money.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from doit.exceptions import TaskFailed

from ..._errors import HotDataError, ProvenanceError
from ..._provenance import parse_provenance
from ..._store import PENDING_SUFFIX, STAGED_SUFFIX
from .._errors import AnswerError
from .._failures import FailureLog
from ..answers._store import AnswerFile, AnswerStore
from ..batch._run import BatchRun
from ..commit._writer import Writer
from ..plan._planner import Planner

__all__ = ["AnswerUse", "Pruner"]

_META = ".meta.json"
_RECORD_SUFFIXES = (_META, _META + PENDING_SUFFIX, _META + STAGED_SUFFIX)


@dataclass
class AnswerUse:
    """What refers to recorded answers, by key."""

    recorded: set[str] = field(default_factory=set)  # keys a record refers to
    digests: dict[str, set[str]] = field(default_factory=dict)  # key -> digests records used
    undigested: set[str] = field(default_factory=set)  # keys of records from before digests were kept
    held: set[str] = field(default_factory=set)  # keys of batch jobs and unfinished builds
    unreadable: set[str] = field(default_factory=set)  # fixtures whose record cannot be read
    problems: list[str] = field(default_factory=list)  # why nothing may be pruned now


def _records(fixtures_dir: Path) -> Iterator[tuple[str, Path]]:
    """(fixture name, path) of every record under the fixtures directory, hidden directories
    (the answer store, batch jobs) left out."""
    for directory, subdirs, files in os.walk(fixtures_dir):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        for name in files:
            suffix = next((s for s in _RECORD_SUFFIXES if name.endswith(s)), None)
            if suffix is not None and not name.startswith("."):
                path = Path(directory, name)
                rel = path.relative_to(fixtures_dir).as_posix()
                yield rel[: -len(suffix)], path


class Pruner:
    """Which recorded answers are needed (module docstring), and the removal of the others.

    Args:
        planner: the catalog (a data file without its record) and where its files are.
        answers: the answer store.
        batches: the batch jobs (every key a job file names is kept).
        failures: the last unfinished build of each fixture (the answers it used are kept).
        writer: holds the build lock while answers are removed.
    """

    def __init__(
        self, planner: Planner, answers: AnswerStore, batches: BatchRun, failures: FailureLog, writer: Writer
    ) -> None:
        self.planner = planner
        self.answers = answers
        self.batches = batches
        self.failures = failures
        self.writer = writer

    def use(self) -> AnswerUse:
        """What refers to recorded answers now."""
        use = AnswerUse()
        for name, path in _records(self.planner.fixtures_path):
            try:
                record = parse_provenance(path, path.read_bytes())
            except (OSError, ProvenanceError):
                use.unreadable.add(name)
                continue
            use.recorded.update(record.answers)
            use.undigested.update(k for k in record.answers if k not in record.answer_digests)
            for key, digest in record.answer_digests.items():
                use.digests.setdefault(key, set()).add(digest)
        for spec in self.planner.catalog:  # a data file without its record: the record says nothing
            try:
                data_path, meta_path = self.planner.paths(spec)
            except HotDataError:
                continue  # a name no file can have: nothing of it is on disk
            if not meta_path.exists() and data_path.exists():
                use.unreadable.add(spec.name)
        use.held |= self.batches.answer_keys()  # readable or not: what their text names is kept
        for file in self.batches.read()[1]:  # and a file that cannot be read may name more
            use.problems.append(f"{file.path} is not a batch job hotdata can read ({file.reason})")
        use.held |= self.failures.held_answers()
        return use

    def _staged_needed(self, file: AnswerFile, use: AnswerUse) -> bool:
        if file.key in use.undigested:
            return True
        try:
            answer = self.answers.parse(file.key, file.path, file.path.read_bytes())
        except (OSError, AnswerError):
            return file.key in use.recorded  # unreadable: reported when used, never guessed away
        if answer.digest not in use.digests.get(file.key, ()):
            return False
        return not self._committed_holds(file.key, answer.digest)

    def _committed_holds(self, key: str, digest: str) -> bool:
        """Whether the committed file of ``key`` is that very answer: a rebuild under review that
        was answered word for word as before stages a copy no record needs beside it."""
        path = self.answers.path(key)
        try:
            return self.answers.parse(key, path, path.read_bytes()).digest == digest
        except (OSError, AnswerError):
            return False

    def unused(self, use: AnswerUse | None = None) -> list[AnswerFile]:
        """The answer files nothing needs (see the module docstring for what needs one)."""
        use = use or self.use()
        owners = self.answers.index.fixtures() if use.unreadable else {}
        unused = []
        for file in self.answers.files():
            if file.key in use.held:
                continue
            if file.staged and self._staged_needed(file, use):
                continue
            if not file.staged and file.key in use.recorded:
                continue
            if owners.get(file.path) in use.unreadable:
                continue
            unused.append(file)
        return unused

    def prune(self) -> bool | TaskFailed:
        """``doit prune``."""
        self.writer.acquire()  # waits for a running build: the answers it records are needed
        use = self.use()
        if use.problems:
            for line in use.problems:
                print(f"doit prune: {line}")
            return TaskFailed(
                "nothing was removed: a batch job that cannot be read may need any answer; "
                "fix or remove the file, then prune again"
            )
        removed = self.answers.remove(f.path for f in self.unused(use))
        kept = sum(1 for _ in self.answers.files())
        print(f"doit prune: removed {removed} recorded answer(s) no fixture uses; {kept} kept")
        return True

    def drop_unused_staged(self) -> int:
        """After a rejection: remove the staged answers no staged or committed record uses any more."""
        self.writer.acquire()
        use = self.use()
        if use.problems:
            return 0  # a batch job that cannot be read may hold any of them: left for a later prune
        return self.answers.remove(f.path for f in self.unused(use) if f.staged)
