"""Batch mode: model requests sent as provider batch jobs (half the price), collected by a later run.

With batch mode on (``doit fixtures batch=1``, ``batch = true``, ``HOTDATA_BATCH=1``), the
first attempt of a request that has no recorded answer is not sent: it is *wanted*
(``BatchQueue.want``) and its fixture ends as waiting for a batch (``AnswerDeferred``,
not a failure; it stays stale). At the end of the run every wanted request goes out as
one batch job per endpoint and model (``BatchRun.submit``). A later ``doit fixtures``
first polls the jobs (``BatchRun.collect``) and writes each answer into the answer
store under its request key, so the build that follows replays it through exactly the
synchronous path: validation, quality gates, re-asks (attempt 2 and later are always
synchronous), commit or staging for review.

A job's state lives in ``fixtures/.batches/<local id>.json``, written before the upload
and again once the provider named the batch; the local id also goes to the provider as
batch metadata, so a run killed between the two finds its batch again by listing them.
A request held by a live batch is never submitted again, in any mode. Items that failed
continue on the synchronous path; items a batch never ran (expired, cancelled, or a
batch the provider refused) are resubmitted once, then asked synchronously, and so are
the items of a batch, or of a result file, the provider no longer has (HTTP 404).

Every job file is checked before use (``_batch_jobs``). A file that cannot be read
(truncated, merge-conflicted, the wrong shape) is looked up at the provider by its
local id, as after a kill: a live batch found holds the requests its input file
names, a finished one brings its answers, recorded as their fixtures ask for them.
A file whose batch cannot be found holds every request it may hold until it is
repaired or removed: nothing is asked twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._errors import ModelError
from .._secrets import redact
from ..answers._store import AnswerStore
from ..models._seam import ModelReply
from ._api import (
    CHAT_URL,
    BatchResults,
    OpenAIBatches,
    RemoteBatch,
    batchable_model,
    describe_error,
    is_gone,
)
from ._jobs import (
    COLLECTED,
    CREATE_GRACE,
    KEEP_COLLECTED,
    LIVE,
    BatchItem,
    BatchJob,
    BrokenJobFile,
    ago,
    is_request_key,
    now_utc,
    read_job_file,
)
from ._queue import BatchQueue, FoundBatch, Wanted

__all__ = ["BatchRun"]

MAX_ITEMS = 50_000  # the most requests OpenAI takes in one batch
_REPAIR = "resolve its merge conflict or `git checkout` it"

ApiFor = Callable[[str, "str | None"], Any]


@dataclass(frozen=True)
class _Found:
    """A finished batch found by its metadata for a job file that cannot be read."""

    file: BrokenJobFile
    remote: RemoteBatch
    answered: frozenset[str]


class BatchRun:
    """The batch jobs of one project, for one run.

    Args:
        directory: ``fixtures/.batches``.
        write: writes bytes at a path atomically (the Writer's).
        batching: batch mode is on for this run.
        offline: no provider may be reached (jobs are reported, not polled).
        plugins: project-local ``llm`` plugin modules (``llm_plugins``).
        model: the project's model: where the batch of a job file that cannot be read is looked for
            (besides the model its text names).
        api_for: the batch API of a model id (and the endpoint a job went to).
    """

    def __init__(
        self,
        directory: Path,
        write: Callable[[Path, bytes], Any],
        *,
        batching: bool,
        offline: bool = False,
        plugins: Iterable[str] = (),
        model: str | None = None,
        api_for: ApiFor | None = None,
    ) -> None:
        self.directory = directory
        self._write = write
        self.offline = offline
        self._plugins = tuple(plugins)
        self._model = model
        self._api_for: ApiFor = api_for or (
            lambda model, endpoint: OpenAIBatches.for_model(model, endpoint, self._plugins)
        )
        self._apis: dict[tuple[str, str | None], Any] = {}
        self.queue = BatchQueue(batching, lambda model: batchable_model(model, self._plugins) is not None)
        self.notes: list[str] = []  # what the run did with batches, for its summary
        self._jobs: list[BatchJob] = []  # the jobs this run polled or carried
        self._found: list[_Found] = []  # finished batches of job files that cannot be read
        self._collect_lock = threading.Lock()
        self._collected = False

    @property
    def batching(self) -> bool:
        return self.queue.batching

    def _note(self, text: str) -> None:
        self.notes.append(redact(text))  # a provider's error may echo what it was sent

    def _path(self, job: BatchJob) -> Path:
        return self.directory / f"{job.local_id}.json"  # the local id was checked when the file was read

    def _save(self, job: BatchJob) -> None:
        self._write(self._path(job), job.to_bytes())

    def _forget(self, job: BatchJob) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(job))

    def read(self) -> tuple[list[BatchJob], list[BrokenJobFile]]:
        """Every job saved in the project, oldest first, and every file there that is not one."""
        jobs: list[BatchJob] = []
        broken: list[BrokenJobFile] = []
        if not self.directory.is_dir():
            return jobs, broken
        for path in sorted(self.directory.glob("b_*.json")):
            found = read_job_file(path)
            if isinstance(found, BatchJob):
                jobs.append(found)
            else:
                broken.append(found)
        return sorted(jobs, key=lambda j: (j.submitted_at, j.local_id)), broken

    def jobs(self) -> list[BatchJob]:
        """Every job saved in the project that hotdata can read, oldest first."""
        return self.read()[0]

    def answer_keys(self) -> set[str]:
        """The request keys every file in ``fixtures/.batches`` names, readable or not: answers a
        live batch will bring, or a collected one brought for fixtures not built yet (a dependent
        generator's earlier rounds). ``doit prune`` keeps them."""
        jobs, broken = self.read()
        return {key for job in jobs for key in job.items} | {key for file in broken for key in file.keys}

    def _api(self, job_or_model: BatchJob | str) -> Any:
        if isinstance(job_or_model, BatchJob):
            key: tuple[str, str | None] = (job_or_model.model, job_or_model.endpoint)
        else:
            key = (job_or_model, None)
        api = self._apis.get(key)
        if api is None:
            api = self._apis[key] = self._api_for(*key)
        return api

    # -- collect ------------------------------------------------------------------------

    def collect(self, store: AnswerStore) -> None:
        """Poll every saved job once per run and write finished answers into ``store``.

        Never raises: a provider that cannot be reached leaves its jobs live (their
        fixtures keep waiting) and says so in the run's notes.
        """
        with self._collect_lock:
            if self._collected:
                return
            self._collected = True
            jobs, broken = self.read()
            for job in jobs:
                self._collect_job(job, store)
            for file in broken:
                try:
                    self._recover(file)
                except Exception as exc:  # the provider, the network: nothing it may hold is asked
                    self._block(file, f"its batch could not be looked for ({describe_error(exc)})")

    def _collect_job(self, job: BatchJob, store: AnswerStore) -> None:
        if job.status == COLLECTED:
            self._jobs.append(job)
            for key, item in job.items.items():
                self.queue.carry(key, item, job)
            return
        if self.offline:
            self.queue.hold(job)
            self._jobs.append(job)
            self._note(f"offline: batch {job.describe(now_utc())} was not polled; its fixtures wait")
            return
        try:
            api = self._api(job)
            remote = self._find(job, api)
            if remote is None:
                return
            if remote.status in LIVE:
                if remote.status != job.status:
                    job.status = remote.status
                    self._save(job)
                self.queue.hold(job)
                self._jobs.append(job)
                self._note(f"{len(job.items)} request(s) in batch {job.describe(now_utc())}")
                return
            results = api.outcomes(remote) if remote.status != "failed" else BatchResults({})
            self._finish(job, remote, results, store)
        except Exception as exc:  # the provider, the network, a file: the requests keep waiting
            if is_gone(exc) and job.batch_id is not None:
                self._gone(job, describe_error(exc))
                return
            self.queue.hold(job)
            self._jobs.append(job)
            later = "" if isinstance(exc, ModelError) else ": run `doit fixtures` again later"
            self._note(
                f"could not poll batch {job.local_id} ({describe_error(exc)}); its {len(job.items)} "
                f"request(s) keep waiting{later}"
            )

    def _find(self, job: BatchJob, api: Any) -> RemoteBatch | None:
        """The provider's batch for ``job``: by its saved id, else by the local id in its metadata."""
        if job.batch_id is not None:
            remote: RemoteBatch = api.retrieve(job.batch_id)
            if remote.local_id in (None, job.local_id):
                return remote
            # the saved id names another job's batch (an edit, a merge): this job's own is found as after a kill
            self._note(
                f"{self._path(job)} names batch {job.batch_id}, which the provider says is job "
                f"{remote.local_id}'s, not {job.local_id}'s; its own batch is looked for by its metadata"
            )
        found: RemoteBatch | None = api.find(job.local_id, job.submitted_at.timestamp())
        if found is None and job.batch_id is not None:
            self.queue.hold(job)  # it may run under an id nobody knows any more: nothing is asked twice
            self._jobs.append(job)
            self._note(
                f"no batch of job {job.local_id} was found at {api.endpoint}; its {len(job.items)} "
                f"request(s) wait: repair its batch_id in {self._path(job)}, or remove the file (its "
                "requests are then asked again, and billed twice if its batch still runs)"
            )
            return None
        if found is None and job.creating_at is not None and now_utc() - job.creating_at < CREATE_GRACE:
            self.queue.hold(job)  # asked for just before that run stopped: it may yet show
            self._jobs.append(job)
            self._note(
                f"batch {job.local_id} was being created when the run submitting it stopped and does not "
                f"show yet; its {len(job.items)} request(s) wait for it (asked again after "
                f"{CREATE_GRACE.total_seconds() / 60:.0f} minutes if it never shows)"
            )
            return None
        if found is None:
            self._forget(job)  # never created: nothing was billed, the requests are asked anew
            self._note(
                f"batch {job.local_id} was never created (the run submitting it stopped first); "
                f"its {len(job.items)} request(s) are asked again"
            )
            return None
        recorded = job.batch_id is None
        job.batch_id = found.id
        self._save(job)
        if recorded:
            self._note(f"found batch {job.local_id} ({found.id}), which the run submitting it did not record")
        return api.retrieve(found.id) if found.status in LIVE else found

    def _again(self, job: BatchJob, keys: Iterable[str]) -> tuple[int, int]:
        """Carry ``keys`` of ``job`` to be asked again: resubmitted once, then synchronously."""
        once = again = 0
        for key in keys:
            item = job.items[key]
            if item.resubmitted == 0:
                item.carry, once = "resubmit", once + 1
            else:
                item.carry, again = "synchronous", again + 1
        return once, again

    def _asked_again(self, once: int, again: int) -> str:
        where = "in this run's batch" if self.batching else "synchronously"
        said = [f"{once} are asked again, once, {where}"] if once else []
        said += [f"{again} already asked again once are asked synchronously"] if again else []
        return " and ".join(said)

    def _gone(self, job: BatchJob, why: str) -> None:
        """The provider no longer has the job's batch: whatever it held is asked again."""
        once, again = self._again(job, job.items)
        job.ended, job.status, job.errors = "gone", COLLECTED, [why]
        self._save(job)
        self._jobs.append(job)
        for key, item in job.items.items():
            self.queue.carry(key, item, job)
        self._note(
            f"the provider no longer has batch {job.local_id} ({job.batch_id}; {why}); of its "
            f"{len(job.items)} request(s), {self._asked_again(once, again)}"
        )

    def _finish(self, job: BatchJob, remote: RemoteBatch, results: BatchResults, store: AnswerStore) -> None:
        """Record a finished job's answers; decide what becomes of the rest."""
        answered, failed, unfinished, lost = 0, [], [], []
        to_record: list[tuple[str, BatchItem, ModelReply]] = []
        for key, item in job.items.items():
            result = results.items.get(key)
            if result is not None and result.reply is not None:
                # recorded under the key it was sent with: the saved request may be redacted
                to_record.append((key, item, result.reply))
                item.carry = "answered"
                answered += 1
            elif result is not None and result.ran:
                item.carry = "synchronous"
                failed.append(f"{item.fixture}: {result.error}")
            elif result is None and results.lost:
                lost.append(key)  # its answer or error was in a file the provider no longer has
            else:
                unfinished.append(key)
        # each answer is an fsynced file of its own: written a few at a time, as fixtures would
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="hotdata-collect") as pool:
            for done in [
                pool.submit(store.put, k, i.request, r, i.fixture, i.round) for k, i, r in to_record
            ]:
                done.result()
        lost_once, lost_again = self._again(job, lost)
        once, again = self._again(job, unfinished)
        job.ended, job.status = remote.status, COLLECTED  # only once every answer is recorded
        job.errors = list(remote.errors) + list(results.lost)
        self._save(job)
        self._jobs.append(job)
        for key, item in job.items.items():
            self.queue.carry(key, item, job)
        total = len(job.items)
        self._note(f"collected {answered} of {total} answer(s) from batch {job.local_id} ({remote.status})")
        if failed:
            self._note(
                f"{len(failed)} request(s) failed in batch {job.local_id}; they are asked synchronously: "
                + "; ".join(failed[:3])
                + (" ..." if len(failed) > 3 else "")
            )
        if lost:
            self._note(
                f"the provider no longer has {' nor '.join(results.lost)} of batch {job.local_id}: the "
                f"answers or errors of {len(lost)} request(s) are lost (answers in it were billed); "
                f"{self._asked_again(lost_once, lost_again)}"
            )
        why = {"failed": "was refused by the provider", "cancelled": "was cancelled"}.get(
            remote.status, "expired"
        )
        if remote.errors:
            why += f" ({'; '.join(remote.errors[:2])})"
        if once:
            self._note(
                f"batch {job.local_id} {why} with {once} request(s) unfinished; "
                "they are resubmitted once, in this run's batch"
            )
        if again:
            self._note(
                f"batch {job.local_id} {why} with {again} resubmitted request(s) unfinished again; "
                "they are asked synchronously"
            )

    # -- job files that cannot be read ---------------------------------------------------------

    def _block(self, file: BrokenJobFile, why: str) -> None:
        """Nothing the file may hold is asked while it is there; say how to get out."""
        self.queue.block(file)
        names = f"it names {len(file.keys)} request(s); " if file.keys else ""
        self._note(
            f"{file.path} is not a batch job hotdata can read ({file.reason}) and {why}; no request it "
            f"may hold is asked, in a batch or not, while it is there ({names}fixtures of "
            f"{'model ' + file.model if file.model else 'every batchable model'} wait): repair it "
            f"({_REPAIR}) or remove it (its requests are then asked again, and billed twice if its "
            "batch still runs)"
        )

    def _recover(self, file: BrokenJobFile) -> None:
        """Find the batch of a job file that cannot be read by the local id in its name, as after a kill."""
        if self.offline:
            self._block(file, "offline: its batch was not looked for")
            return
        if file.local_id is None:
            self._block(file, "its name is not a job's (b_<id>.json): its batch cannot be looked for")
            return
        remote: RemoteBatch | None = None
        api: Any = None
        looked: list[str] = []
        for model in dict.fromkeys(m for m in (file.model, self._model) if m):
            try:
                api = self._api(model)
                remote = api.find(file.local_id, None)
            except Exception as exc:
                looked.append(f"not at the endpoint of model {model}: {describe_error(exc)}")
                continue
            if remote is not None:
                break
            looked.append(f"none at {api.endpoint}")
        if remote is None or api is None:
            self._block(
                file, f"no batch of job {file.local_id} was found ({'; '.join(looked) or 'no model'})"
            )
            return
        what = (
            f"{file.path} is not a batch job hotdata can read ({file.reason}); found its batch {remote.id} "
            f"({remote.status}) at the provider by its metadata"
        )
        if remote.status in LIVE:
            keys = {k for k in api.input_keys(remote) if is_request_key(k)}
            created = datetime.fromtimestamp(remote.created_at, UTC)
            self.queue.hold_keys(
                keys, FoundBatch(file.path, file.local_id, remote.id, remote.status, created)
            )
            self._note(
                f"{what}: its {len(keys)} request(s) wait for it, none is asked again. Repair the file "
                f"({_REPAIR}) so that `doit fixtures` collects it as usual; meanwhile each run looks it up"
            )
            return
        results = api.outcomes(remote) if remote.status != "failed" else BatchResults({})
        answered: set[str] = set()
        for key, result in results.items.items():
            if not is_request_key(key):
                continue  # a custom_id hotdata did not make: it names no answer
            if result.reply is not None:
                self.queue.bring(key, result.reply)
                answered.add(key)
            elif result.ran:
                self.queue.ask_synchronously(key)
            else:
                self.queue.resubmit(key, 1, file.local_id)
        self._found.append(_Found(file, remote, frozenset(answered)))
        lost = f"; the provider no longer has {' nor '.join(results.lost)}" if results.lost else ""
        self._note(f"{what}: its {len(answered)} answer(s) are recorded as their fixtures are built{lost}")

    # -- submit ----------------------------------------------------------------------------

    def submit(self) -> None:
        """Send every wanted request as one batch per model (and endpoint); save each job first."""
        for model in sorted(self.queue.unbatchable):
            self._note(
                f"model {model} cannot be batched (hotdata batches OpenAI and OpenAI-compatible chat models "
                "configured for llm); its requests were asked synchronously"
            )
        wanted = self.queue.take_wanted()
        by_model: dict[str, dict[str, Wanted]] = {}
        for key, want in sorted(wanted.items()):
            by_model.setdefault(want.request.model, {})[key] = want
        for model, requests in sorted(by_model.items()):
            keys = sorted(requests)
            for start in range(0, len(keys), MAX_ITEMS):
                self._submit_one(model, {k: requests[k] for k in keys[start : start + MAX_ITEMS]})

    def _submit_one(self, model: str, requests: Mapping[str, Wanted]) -> None:
        job: BatchJob | None = None
        try:
            api = self._api(model)
            lines = [
                json.dumps(
                    {"custom_id": key, "method": "POST", "url": CHAT_URL, "body": api.body(w.request)},
                    ensure_ascii=False,
                )
                for key, w in requests.items()
            ]
            job = BatchJob(
                local_id=f"b_{secrets.token_hex(6)}",
                model=model,
                endpoint=api.endpoint,
                submitted_at=now_utc(),
            )
            origins: dict[str, int] = {}
            for key, w in requests.items():
                resubmission = self.queue.resubmission(key)
                times = resubmission[0] if resubmission else 0
                if resubmission:
                    origins[resubmission[1]] = origins.get(resubmission[1], 0) + 1
                job.items[key] = BatchItem(w.fixture, w.round, w.request, times)
            self._save(job)  # before the upload: a run killed from here on finds its job again
            data = ("\n".join(lines) + "\n").encode("utf-8")
            job.input_file_id = api.upload(data, f"{job.local_id}.jsonl")
            job.status, job.creating_at = "creating", now_utc()
            self._save(job)  # from here on the batch may exist: a later run looks for it before asking again
            remote = api.create(job.input_file_id, job.local_id)
            job.batch_id, job.status = remote.id, remote.status
            self._save(job)
        except Exception as exc:
            what = describe_error(exc)
            # an HTTP error is the provider's answer (no batch); a lost connection or a timeout is not
            refused = isinstance(getattr(exc, "status_code", None), int)
            if job is not None and (job.creating_at is None or refused):
                self._forget(job)  # nothing reached the provider's batches: nothing to find later
            elif job is not None:
                # the batch may exist even though its creation failed to answer: the next run looks
                self._note(
                    f"could not confirm batch {job.local_id} ({what}); the next `doit fixtures` looks for it "
                    "before asking again"
                )
                return
            self._note(
                f"could not submit {len(requests)} request(s) of model {model} as a batch ({what}); "
                "their fixtures stay stale: run `doit fixtures batch=1` again"
            )
            return
        for origin, count in sorted(origins.items()):
            self._note(f"resubmitted {count} request(s) of batch {origin}, which ended unfinished, once")
        self._note(
            f"submitted {len(requests)} request(s) as batch {job.local_id} ({job.batch_id}); "
            "run `doit fixtures` again to collect"
        )

    # -- after the run -------------------------------------------------------------------

    def tidy(self, outcomes: Mapping[str, str], store: AnswerStore) -> None:
        """Forget collected jobs nothing needs any more: every item's fixture was built (or failed)
        this run, or its answer is recorded, or it rides in a newer live batch; or a week passed."""
        live_keys = {k for job in self.jobs() if job.live for k in job.items}
        now = now_utc()
        for job in self._jobs:
            if job.status != COLLECTED:
                continue

            def settled(key: str, item: BatchItem) -> bool:
                built = outcomes.get(item.fixture) not in (None, "waiting")
                if item.carry == "answered":
                    return built
                if item.carry == "synchronous":
                    return built or store.get(key) is not None
                return built or key in live_keys

            if now - job.submitted_at > KEEP_COLLECTED or all(settled(k, i) for k, i in job.items.items()):
                self._forget(job)
        for found in self._found:  # left to the user: it is their file, maybe mid-merge
            waiting = sum(1 for key in found.answered if store.get(key) is None)
            if waiting:
                self._note(
                    f"{waiting} answer(s) of batch {found.remote.id} wait for their fixtures to be built; "
                    f"keep {found.file.path} until then (or repair it: {_REPAIR})"
                )
            else:
                self._note(f"every answer of batch {found.remote.id} is recorded: remove {found.file.path}")

    # -- reporting ---------------------------------------------------------------------------

    def status_lines(self, poll: bool) -> tuple[list[str], dict[str, str]]:
        """For ``doit status``: a line per live job (polled when ``poll``, never collected nor
        written), and the batch each waiting fixture is in."""
        lines: list[str] = []
        fixtures: dict[str, str] = {}
        now = now_utc()
        jobs, broken = self.read()
        for file in broken:
            lines.append(
                f"{file.path} is not a batch job hotdata can read ({file.reason}): `doit fixtures` looks "
                "its batch up at the provider, and asks nothing it may hold until it is found; repair "
                f"the file ({_REPAIR}) or remove it (its requests are then asked again)"
            )
        for job in jobs:
            if not job.live:
                continue
            status = job.status
            if poll and job.batch_id is not None:
                try:
                    status = self._api(job).retrieve(job.batch_id).status
                except Exception as exc:
                    status = f"{job.status}; could not poll: {describe_error(exc)}"
            elif job.batch_id is None:
                status = f"{job.status}; the run submitting it stopped: the next `doit fixtures` looks for it"
            described = f"{job.local_id} ({status}, submitted {ago(job.submitted_at, now)})"
            done = (
                " (finished: `doit fixtures` collects it)"
                if status in ("completed", "expired", "cancelled", "failed")
                else ""
            )
            lines.append(f"{len(job.items)} request(s) in batch {described}{done}")
            for item in job.items.values():
                fixtures[item.fixture] = job.local_id
        return lines, fixtures
