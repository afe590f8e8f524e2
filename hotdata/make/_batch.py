"""Batch mode: model requests sent as provider batch jobs (half the price), collected by a later run.

With batch mode on (``doit fixtures batch=1``, ``batch = true``, ``HOTDATA_BATCH=1``), the
first attempt of a request that has no recorded answer is not sent: it is *wanted*
(``BatchQueue.want``) and its fixture ends as waiting for a batch (``WaitingForBatch``,
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
batch the provider refused) are resubmitted once, then asked synchronously.
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
from pathlib import Path
from typing import Any

from ._answers import AnswerStore
from ._batch_api import CHAT_URL, OpenAIBatches, RemoteBatch, batchable_model, describe_error
from ._batch_jobs import COLLECTED, CREATE_GRACE, KEEP_COLLECTED, LIVE, BatchItem, BatchJob, ago, now_utc
from ._errors import GenerationError
from ._model import ModelReply, ModelRequest

__all__ = ["BatchJob", "BatchQueue", "BatchRun", "BatchedAnswerStore", "WaitingForBatch"]

MAX_ITEMS = 50_000  # the most requests OpenAI takes in one batch


class WaitingForBatch(GenerationError):
    """The fixture's request is (or is about to be) in a provider batch; the fixture stays stale."""


# -- what the run's fixtures see ------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    request: ModelRequest
    fixture: str
    round: int


class BatchQueue:
    """What this run knows about batches, asked by ``Asker._answer`` from any thread.

    Args:
        batching: batch mode is on (new first attempts are wanted, not sent).
        batchable: whether a model id can be batched.
    """

    def __init__(self, batching: bool, batchable: Callable[[str], bool]) -> None:
        self.batching = batching
        self._batchable = batchable
        self._models: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._held: dict[str, BatchJob] = {}  # key -> the live job that holds it
        self._answered: set[str] = set()
        self._synchronous: set[str] = set()
        self._resubmits: dict[str, tuple[int, str]] = {}  # key -> (times, the job it ended unfinished in)
        self._wanted: dict[str, Wanted] = {}
        self.unbatchable: set[str] = set()  # models asked synchronously in batch mode

    def hold(self, job: BatchJob) -> None:
        with self._lock:
            for key in job.items:
                self._held[key] = job

    def carry(self, key: str, item: BatchItem, job: BatchJob) -> None:
        with self._lock:
            if item.carry == "answered":
                self._answered.add(key)
            elif item.carry == "synchronous":
                self._synchronous.add(key)
            elif item.carry == "resubmit":
                self._resubmits[key] = (item.resubmitted + 1, job.local_id)

    def holder(self, key: str) -> BatchJob | None:
        """The live batch job that holds ``key``: it must not be asked again."""
        with self._lock:
            return self._held.get(key)

    def answered(self, key: str) -> bool:
        """A batch answered ``key``: its recorded answer is used even under ``replay = off``."""
        with self._lock:
            return key in self._answered

    def wants(self, key: str, request: ModelRequest) -> bool:
        """Whether this request, missing from the store, should wait for a batch."""
        if not self.batching or request.attempt != 1:
            return False  # re-asks stay synchronous: they depend on the answer just refused
        with self._lock:
            if key in self._synchronous:
                return False
            known = self._models.get(request.model)
        if known is None:
            known = self._batchable(request.model)
            with self._lock:
                self._models[request.model] = known
                if not known:
                    self.unbatchable.add(request.model)
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


class BatchedAnswerStore(AnswerStore):
    """The answer store of a run, with the run's batches: answers recorded, or on their way."""

    def __init__(
        self,
        directory: Path,
        write: Callable[[Path, bytes], None],
        batches: BatchQueue,
        *,
        root: Path | None = None,
        staging: bool = False,
        state_dir: Path | None = None,
    ) -> None:
        super().__init__(directory, write, root=root, staging=staging, state_dir=state_dir)
        self.batches = batches


# -- the run's side: collect, submit, report --------------------------------------------------

ApiFor = Callable[[str, "str | None"], Any]


class BatchRun:
    """The batch jobs of one project, for one run.

    Args:
        directory: ``fixtures/.batches``.
        store: the answer store collected answers are written to.
        write: writes bytes at a path atomically (the Writer's).
        batching: batch mode is on for this run.
        offline: no provider may be reached (jobs are reported, not polled).
        plugins: project-local ``llm`` plugin modules (``llm_plugins``).
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
        api_for: ApiFor | None = None,
    ) -> None:
        self.directory = directory
        self._write = write
        self.offline = offline
        self._plugins = tuple(plugins)
        self._api_for: ApiFor = api_for or (
            lambda model, endpoint: OpenAIBatches.for_model(model, endpoint, self._plugins)
        )
        self._apis: dict[tuple[str, str | None], Any] = {}
        self.queue = BatchQueue(batching, lambda model: batchable_model(model, self._plugins) is not None)
        self.notes: list[str] = []  # what the run did with batches, for its summary
        self._jobs: list[BatchJob] = []  # the jobs this run polled or carried
        self._collect_lock = threading.Lock()
        self._collected = False

    @property
    def batching(self) -> bool:
        return self.queue.batching

    def _path(self, job: BatchJob) -> Path:
        return self.directory / f"{job.local_id}.json"

    def _save(self, job: BatchJob) -> None:
        self._write(self._path(job), job.to_bytes())

    def _forget(self, job: BatchJob) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(job))

    def jobs(self, *, report: bool = False) -> list[BatchJob]:
        """Every job saved in the project, oldest first (unreadable files skipped; in the notes when
        ``report``)."""
        found: list[BatchJob] = []
        if not self.directory.is_dir():
            return found
        for path in sorted(self.directory.glob("b_*.json")):
            try:
                found.append(BatchJob.from_bytes(path.read_bytes()))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                if report:
                    self.notes.append(
                        f"{path} is not a batch job hotdata can read ({exc}); it was left alone"
                    )
        return sorted(found, key=lambda j: (j.submitted_at, j.local_id))

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
            for job in self.jobs(report=True):
                self._collect_job(job, store)

    def _collect_job(self, job: BatchJob, store: AnswerStore) -> None:
        if job.status == COLLECTED:
            self._jobs.append(job)
            for key, item in job.items.items():
                self.queue.carry(key, item, job)
            return
        if self.offline:
            self.queue.hold(job)
            self._jobs.append(job)
            self.notes.append(f"offline: batch {job.describe(now_utc())} was not polled; its fixtures wait")
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
                self.notes.append(f"{len(job.items)} request(s) in batch {job.describe(now_utc())}")
                return
            self._finish(job, remote, api.outcomes(remote) if remote.status != "failed" else {}, store)
        except Exception as exc:  # the provider, the network, a file: the requests keep waiting
            self.queue.hold(job)
            self._jobs.append(job)
            self.notes.append(
                f"could not poll batch {job.local_id} ({describe_error(exc)}); its {len(job.items)} "
                "request(s) keep waiting: run `doit fixtures` again later"
            )

    def _find(self, job: BatchJob, api: Any) -> RemoteBatch | None:
        """The provider's batch for ``job``: by its saved id, else by the local id in its metadata."""
        if job.batch_id is not None:
            remote: RemoteBatch = api.retrieve(job.batch_id)
            return remote
        found: RemoteBatch | None = api.find(job.local_id, job.submitted_at.timestamp())
        if found is None and job.creating_at is not None and now_utc() - job.creating_at < CREATE_GRACE:
            self.queue.hold(job)  # asked for just before that run stopped: it may yet show
            self._jobs.append(job)
            self.notes.append(
                f"batch {job.local_id} was being created when the run submitting it stopped and does not "
                f"show yet; its {len(job.items)} request(s) wait for it (asked again after "
                f"{CREATE_GRACE.total_seconds() / 60:.0f} minutes if it never shows)"
            )
            return None
        if found is None:
            self._forget(job)  # never created: nothing was billed, the requests are asked anew
            self.notes.append(
                f"batch {job.local_id} was never created (the run submitting it stopped first); "
                f"its {len(job.items)} request(s) are asked again"
            )
            return None
        job.batch_id = found.id
        self._save(job)
        self.notes.append(
            f"found batch {job.local_id} ({found.id}), which the run submitting it did not record"
        )
        return api.retrieve(found.id) if found.status in LIVE else found

    def _finish(
        self, job: BatchJob, remote: RemoteBatch, results: Mapping[str, Any], store: AnswerStore
    ) -> None:
        """Record a finished job's answers; decide what becomes of the rest."""
        answered, failed, unfinished, again = 0, [], 0, 0
        to_record: list[tuple[str, BatchItem, ModelReply]] = []
        for key, item in job.items.items():
            result = results.get(key)
            if result is not None and result.reply is not None:
                if store.key(item.request, item.round) != key:
                    item.carry = "synchronous"
                    failed.append(f"{item.fixture}: the saved request no longer matches its key")
                    continue
                to_record.append((key, item, result.reply))
                item.carry = "answered"
                answered += 1
            elif result is not None and result.ran:
                item.carry = "synchronous"
                failed.append(f"{item.fixture}: {result.error}")
            elif item.resubmitted == 0:
                item.carry = "resubmit"
                unfinished += 1
            else:
                item.carry = "synchronous"
                again += 1
        # each answer is an fsynced file of its own: written a few at a time, as fixtures would
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="hotdata-collect") as pool:
            for done in [
                pool.submit(store.put, k, i.request, r, i.fixture, i.round) for k, i, r in to_record
            ]:
                done.result()
        job.ended, job.status = remote.status, COLLECTED  # only once every answer is recorded
        job.errors = list(remote.errors)
        self._save(job)
        self._jobs.append(job)
        for key, item in job.items.items():
            self.queue.carry(key, item, job)
        total = len(job.items)
        self.notes.append(
            f"collected {answered} of {total} answer(s) from batch {job.local_id} ({remote.status})"
        )
        if failed:
            self.notes.append(
                f"{len(failed)} request(s) failed in batch {job.local_id}; they are asked synchronously: "
                + "; ".join(failed[:3])
                + (" ..." if len(failed) > 3 else "")
            )
        why = {"failed": "was refused by the provider", "cancelled": "was cancelled"}.get(
            remote.status, "expired"
        )
        if remote.errors:
            why += f" ({'; '.join(remote.errors[:2])})"
        if unfinished:
            self.notes.append(
                f"batch {job.local_id} {why} with {unfinished} request(s) unfinished; "
                "they are resubmitted once, in this run's batch"
            )
        if again:
            self.notes.append(
                f"batch {job.local_id} {why} with {again} resubmitted request(s) unfinished again; "
                "they are asked synchronously"
            )

    # -- submit ----------------------------------------------------------------------------

    def submit(self) -> None:
        """Send every wanted request as one batch per model (and endpoint); save each job first."""
        for model in sorted(self.queue.unbatchable):
            self.notes.append(
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
                self.notes.append(
                    f"could not confirm batch {job.local_id} ({what}); the next `doit fixtures` looks for it "
                    "before asking again"
                )
                return
            self.notes.append(
                f"could not submit {len(requests)} request(s) of model {model} as a batch ({what}); "
                "their fixtures stay stale: run `doit fixtures batch=1` again"
            )
            return
        for origin, count in sorted(origins.items()):
            self.notes.append(
                f"resubmitted {count} request(s) of batch {origin}, which ended unfinished, once"
            )
        self.notes.append(
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

    # -- reporting ---------------------------------------------------------------------------

    def status_lines(self, poll: bool) -> tuple[list[str], dict[str, str]]:
        """For ``doit status``: a line per live job (polled when ``poll``, never collected nor
        written), and the batch each waiting fixture is in."""
        lines: list[str] = []
        fixtures: dict[str, str] = {}
        now = now_utc()
        for job in self.jobs():
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
