"""Batch jobs in-process: the job file, the queue's decisions, and what a run does when the
provider never shows a batch (a typed fake at the batch API seam, no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hotdata.make.answers import AnswerStore, request_key
from hotdata.make.batch import (
    BatchItem,
    BatchJob,
    BatchQueue,
    BatchResults,
    BatchRun,
    BrokenJobFile,
    ItemResult,
    RemoteBatch,
    now_utc,
    read_job_file,
)
from hotdata.make.commit import write_atomic
from hotdata.make.models import ModelReply, ModelRequest

SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}


def request(prompt: str, attempt: int = 1) -> ModelRequest:
    return ModelRequest("fake-gpt", prompt, "cards/0", SCHEMA, None, {"seed": 7, "api_key": "sk-x"}, attempt)


class FakeBatches:
    """The batch API seam: remembers what it was asked, answers what the test says."""

    endpoint = "http://provider.invalid/v1"

    def __init__(self) -> None:
        self.batches: dict[str, RemoteBatch] = {}
        self.results: dict[str, dict[str, ItemResult]] = {}
        self.uploads: list[bytes] = []
        self.created: list[str] = []

    def body(self, request: ModelRequest) -> dict[str, Any]:
        return {"model": request.model, "messages": [{"role": "user", "content": request.prompt}]}

    def upload(self, data: bytes, filename: str) -> str:
        self.uploads.append(data)
        return f"file-{len(self.uploads)}"

    def create(self, file_id: str, local_id: str) -> RemoteBatch:
        batch = RemoteBatch(f"batch_{len(self.created)}", "validating", 0)
        self.created.append(local_id)
        self.batches[batch.id] = batch
        return batch

    def find(self, local_id: str, since: float | None) -> RemoteBatch | None:
        return None

    def retrieve(self, batch_id: str) -> RemoteBatch:
        return self.batches[batch_id]

    def outcomes(self, remote: RemoteBatch) -> BatchResults:
        return BatchResults(self.results.get(remote.id, {}))


def run_for(tmp_path: Path, api: FakeBatches, batching: bool = True) -> tuple[BatchRun, AnswerStore]:
    run = BatchRun(tmp_path / "fixtures/.batches", write_atomic, batching=batching, api_for=lambda m, e: api)
    run.queue._batchable = lambda model: True
    return run, AnswerStore(tmp_path / "fixtures/.answers", write_atomic)


def test_a_job_file_round_trips_and_keeps_no_secret_option() -> None:
    job = BatchJob("b_1", "fake-gpt", "http://x/v1", now_utc(), status="in_progress", batch_id="batch_1")
    key = request_key(request("one"))
    job.items[key] = BatchItem("cards/0", 0, request("one"), resubmitted=1, carry="resubmit")
    data = job.to_bytes()
    assert b"sk-x" not in data
    again = BatchJob.from_bytes(data, "b_1")
    assert again.items[key].request.options == {"seed": 7}  # the secret left out, the key unchanged
    assert request_key(again.items[key].request) == key
    assert (again.batch_id, again.status, again.items[key].carry) == ("batch_1", "in_progress", "resubmit")
    assert again.to_bytes() == data
    doc = json.loads(data)
    assert len(doc["schemas"]) == 1  # schemas once per file


def test_the_queue_wants_first_attempts_of_batchable_models_only() -> None:
    queue = BatchQueue(True, lambda model: model == "fake-gpt")
    first, second = request("one"), request("one", attempt=2)
    assert queue.wants(request_key(first), first)
    assert not queue.wants(request_key(second), second)  # re-asks stay synchronous
    other = ModelRequest("hotdata-local", "one", "cards/0")
    assert not queue.wants(request_key(other), other) and queue.unbatchable == {"hotdata-local"}
    assert not BatchQueue(False, lambda model: True).wants(request_key(first), first)


def test_a_batch_that_never_shows_is_waited_for_then_asked_again(tmp_path: Path) -> None:
    api = FakeBatches()
    run, store = run_for(tmp_path, api)
    req = request("one")
    key = request_key(req)
    run.queue.want(key, req, "cards/0", 0)
    api.create = lambda file_id, local_id: (_ for _ in ()).throw(TimeoutError("no answer"))  # type: ignore[method-assign]
    run.submit()
    [note] = run.notes
    assert "could not confirm batch b_" in note and "looks for it before asking again" in note
    [path] = (tmp_path / "fixtures/.batches").glob("b_*.json")
    assert json.loads(path.read_text())["status"] == "creating"

    # the next run: the provider does not show it yet, the request waits (not asked twice)
    later, store = run_for(tmp_path, api)
    later.collect(store)
    assert later.queue.waits(key, req) is not None
    assert "was being created when the run submitting it stopped" in later.notes[0]

    # long after: it never showed, so it was never created, and the request is asked again
    job = BatchJob.from_bytes(path.read_bytes(), path.stem)
    assert job.creating_at is not None
    job.creating_at -= timedelta(minutes=3)
    path.write_bytes(job.to_bytes())
    last, store = run_for(tmp_path, api)
    last.collect(store)
    assert last.queue.waits(key, req) is None and not path.exists()
    assert "was never created" in last.notes[0]


def test_answers_are_written_under_their_key_and_failures_carried(tmp_path: Path) -> None:
    api = FakeBatches()
    run, store = run_for(tmp_path, api)
    reqs = {name: request(name) for name in ("good", "bad", "unrun")}
    keys = {name: request_key(r) for name, r in reqs.items()}
    for name, req in reqs.items():
        run.queue.want(keys[name], req, f"cards/{name}", 0)
    run.submit()
    [line] = run.notes[-1:]
    assert line.startswith("submitted 3 request(s) as batch b_")
    uploaded = [json.loads(x) for x in api.uploads[0].splitlines()]
    assert sorted(x["custom_id"] for x in uploaded) == sorted(keys.values())
    api.batches["batch_0"] = RemoteBatch("batch_0", "expired", 0)
    api.results["batch_0"] = {
        keys["good"]: ItemResult(ModelReply('{"text": "hi"}', 3, 4, "stop")),
        keys["bad"]: ItemResult(error="HTTP 500: boom"),
        keys["unrun"]: ItemResult(error="batch_expired: too late", ran=False),
    }
    later, store = run_for(tmp_path, api)
    later.collect(store)
    recorded = store.get(keys["good"])
    assert recorded is not None and recorded.reply.text == '{"text": "hi"}'
    assert later.queue.answered(keys["good"])
    assert not later.queue.wants(keys["bad"], reqs["bad"])  # synchronous from now on
    assert later.queue.wants(keys["unrun"], reqs["unrun"]) and later.queue.resubmission(keys["unrun"])
    notes = "\n".join(later.notes)
    assert "collected 1 of 3 answer(s)" in notes
    assert "1 request(s) failed in batch" in notes and "HTTP 500: boom" in notes
    assert "expired with 1 request(s) unfinished; they are resubmitted once" in notes

    # every item settled once its fixture is built: the job file goes
    later.tidy({"cards/good": "generated", "cards/bad": "generated", "cards/unrun": "generated"}, store)
    assert list((tmp_path / "fixtures/.batches").glob("b_*.json")) == []


def test_an_unreadable_job_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    api = FakeBatches()
    run, store = run_for(tmp_path, api)
    broken = tmp_path / "fixtures/.batches/b_broken.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    run.collect(store)
    assert "is not a batch job hotdata can read" in run.notes[0] and broken.exists()


def test_models_that_cannot_be_batched_are_named(tmp_path: Path) -> None:
    run, _ = run_for(tmp_path, FakeBatches())
    run.queue._batchable = lambda model: False
    local = ModelRequest("hotdata-local", "one", "cards/0")
    assert not run.queue.wants(request_key(local), local)
    run.submit()
    assert run.notes == [
        "model hotdata-local cannot be batched (hotdata batches OpenAI and OpenAI-compatible chat models "
        "configured for llm); its requests were asked synchronously"
    ]


class Refused(Exception):
    status_code = 400


def test_a_batch_the_provider_refused_to_create_is_not_waited_for(tmp_path: Path) -> None:
    api = FakeBatches()
    run, _ = run_for(tmp_path, api)
    req = request("one")
    run.queue.want(request_key(req), req, "cards/0", 0)
    api.create = lambda file_id, local_id: (_ for _ in ()).throw(Refused("bad input file"))  # type: ignore[method-assign]
    run.submit()
    assert (
        "could not submit 1 request(s) of model fake-gpt as a batch (Refused: HTTP 400: bad input file)"
        in run.notes[0]
    )
    assert list((tmp_path / "fixtures/.batches").glob("b_*.json")) == []


def _job_doc() -> dict[str, Any]:
    job = BatchJob(
        "b_0123456789ab", "fake-gpt", "http://x/v1", now_utc(), status="in_progress", batch_id="batch_1"
    )
    job.items[request_key(request("one"))] = BatchItem("cards/0", 0, request("one"))
    doc: dict[str, Any] = json.loads(job.to_bytes())
    return doc


def _item(doc: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = next(iter(doc["items"].values()))
    return item


# every way a committed, merged or edited job file can be wrong -> what hotdata says about it
WRONG: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "a string": (lambda d: "job", "it holds a string, not a job object"),
    "a number": (lambda d: 7, "it holds a number, not a job object"),
    "another format": (lambda d: {**d, "format": 2}, "its format is 2, not 1"),
    "no items": (lambda d: {k: v for k, v in d.items() if k != "items"}, "field items: Field required"),
    "an unknown field": (lambda d: {**d, "extra": 1}, "field extra: Extra inputs are not permitted"),
    "a status hotdata never writes": (
        lambda d: {**d, "status": "done"},
        "field status: 'done' is not a status",
    ),
    "a naive time": (lambda d: {**d, "submitted_at": "2024-01-01T00:00:00"}, "should have timezone info"),
    "a float round": (lambda d: (_item(d).update(round=1.0), d)[1], "should be a valid integer (it is 1.0)"),
    "a boolean attempt": (
        lambda d: (_item(d)["request"].update(attempt=True), d)[1],
        "should be a valid integer (it is True)",
    ),
    "a negative resubmitted count": (
        lambda d: (_item(d).update(resubmitted=-1), d)[1],
        "greater than or equal to 0",
    ),
    "an unknown carry": (
        lambda d: (_item(d).update(carry="lost"), d)[1],
        ".carry: Input should be 'answered', 'synchronous' or 'resubmit' (it is 'lost')",
    ),
    "a missing schema": (
        lambda d: {**d, "schemas": {}},
        "is not one of its schemas",
    ),
    "an id not its file name": (lambda d: {**d, "id": "b_other"}, "'b_other' is not its file name's id"),
    "an absolute fixture name": (lambda d: (_item(d).update(fixture="/etc/x"), d)[1], "absolute path"),
    "a prompt that is a list": (
        lambda d: (_item(d)["request"].update(prompt=["a"]), d)[1],
        "should be a valid string",
    ),
}


@pytest.mark.parametrize("wrong", list(WRONG))
def test_a_job_file_is_read_strictly(tmp_path: Path, wrong: str) -> None:
    edit, reason = WRONG[wrong]
    path = tmp_path / "b_0123456789ab.json"
    path.write_text(json.dumps(edit(_job_doc())))
    found = read_job_file(path)
    assert isinstance(found, BrokenJobFile), found
    assert reason in found.reason
    assert found.local_id == "b_0123456789ab"
    assert found.model == "fake-gpt" or wrong in ("a string", "a number")


def test_a_good_job_file_reads_back() -> None:
    data = json.dumps(_job_doc()).encode()
    job = BatchJob.from_bytes(data, "b_0123456789ab")
    assert job.batch_id == "batch_1" and [i.fixture for i in job.items.values()] == ["cards/0"]
