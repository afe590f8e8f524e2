"""The Batch API behind ``FakeOpenAIServer``: uploaded files, batches, and a clock tests drive.

A batch moves ``validating → in_progress → completed`` at the first status poll at
least ``batch_delay`` seconds (on the server's clock) after it was created; nothing
waits on wall-clock time. Tests steer it from outside::

    server.hold_batches()                 # batches stay in_progress ...
    server.advance_batches(items=2)       # ... run two items of each ...
    server.expire_batch(batch_id)         # ... and let the 24 h window run out
    server.fail_batch_items(0.25, kind="500")  # a quarter of later items fail
    server.advance_clock(3600)            # move the server's clock, not the test's
    server.forget_batch(batch_id)         # the provider no longer has it (404)

What the real API does, the fake does: the input file is JSONL of
``{custom_id, method, url, body}``; an input that fails validation (a duplicate
``custom_id``, a line that is not JSON, a missing field, a ``url`` other than the
batch's endpoint, two models in one file, an empty file) makes the batch ``failed``
with ``errors``; successful items go to the output file as
``{id, custom_id, response: {status_code, request_id, body}, error: null}``; items
that failed (a 4xx/5xx response, or ``response: null`` with an ``error``) and items
never run because the batch expired (``batch_expired``) or was cancelled
(``batch_cancelled``, a name of the fake's own) go to the error file. Request counts
``completed`` are items answered 200, ``failed`` everything else, so
``completed + failed == total`` once a batch is over. Only ``completed`` items are
billed (``batch_requests_billed``; an ``invalid`` or ``truncated`` answer is a 200 and
billed too), as the real API bills completed requests only. ``batch_executions`` lists
every item run, so a test can check that no custom_id or request body ran twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BATCH_ITEM_FAULTS", "BatchApiError", "BatchExecution", "BatchStore"]

BATCH_ITEM_FAULTS = ("400", "500", "error", "invalid", "truncated")
"""How a batch item can fail: an HTTP 400 or 500 response in the error file, ``error``
(``response: null`` and an error object), or a 200 answer whose content is ``invalid``
(JSON that fails the schema) or ``truncated`` (JSON cut in half)."""

_ENDPOINT = "/v1/chat/completions"
_WINDOW_SECONDS = {"24h": 24 * 3600}
_FILE_TTL = 30 * 24 * 3600  # files with purpose "batch" expire after 30 days by default
_DUPLICATE_MESSAGE = (
    "The custom_id for this request is a duplicate of another request. "
    "The custom_id parameter must be unique for each request in a batch."
)
_ITEM_ERRORS = {
    "expired": ("batch_expired", "This request could not be executed before the completion window expired."),
    "cancelled": ("batch_cancelled", "This request was not executed because the batch was cancelled."),
}

Answer = Callable[[dict[str, Any]], str]
Completion = Callable[[dict[str, Any], str, int], dict[str, Any]]


class BatchApiError(Exception):
    """A request the Files or Batches endpoint refuses, as the HTTP error it becomes."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param


@dataclass(frozen=True)
class BatchExecution:
    """One batch item the fake ran: what a test checks for double execution and billing."""

    batch_id: str
    custom_id: str
    body_sha256: str
    status_code: int | None
    billed: bool


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int
    expires_at: int | None

    def as_object(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass
class _Item:
    line: int
    custom_id: str
    body: dict[str, Any]
    done: bool = False


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    created: float
    expires_at: int
    input_data: bytes
    status: str = "validating"
    stamps: dict[str, int] = field(default_factory=dict)
    items: list[_Item] = field(default_factory=list)
    model: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    output_lines: list[dict[str, Any]] = field(default_factory=list)
    error_lines: list[dict[str, Any]] = field(default_factory=list)
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None

    def as_object(self) -> dict[str, Any]:
        stamp = self.stamps.get
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": {"object": "list", "data": list(self.errors)} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created),
            "in_progress_at": stamp("in_progress"),
            "expires_at": self.expires_at,
            "finalizing_at": stamp("finalizing"),
            "completed_at": stamp("completed"),
            "failed_at": stamp("failed"),
            "expired_at": stamp("expired"),
            "cancelling_at": stamp("cancelling"),
            "cancelled_at": stamp("cancelled"),
            "request_counts": {
                "total": len(self.items),
                "completed": self.completed,
                "failed": self.failed,
            },
            "usage": {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": self.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + self.output_tokens,
            },
            "metadata": self.metadata,
        }


def _page(objects: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    """A cursor page as the API lists objects: ``after`` is the id the previous page ended on."""
    if after is not None:
        ids = [o["id"] for o in objects]
        objects = objects[ids.index(after) + 1 :] if after in ids else []
    data = objects[: max(limit, 1)]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(objects) > len(data),
    }


class BatchStore:
    """Files and batches of one fake server; every method is safe to call from any thread.

    ``answer`` turns a chat request body into the assistant's content and ``completion``
    wraps it in the ``chat.completion`` object the synchronous path sends, so batch
    items and synchronous requests answer alike.
    """

    def __init__(self, *, seed: int, answer: Answer, completion: Completion, delay: float = 0.0) -> None:
        self.seed = seed
        self.delay = delay
        self._answer = answer
        self._completion = completion
        self._files: dict[str, _File] = {}
        self._batches: dict[str, _Batch] = {}
        self._executions: list[BatchExecution] = []
        self._held = False
        self._clock_offset = 0.0
        self._fail_ids: dict[str, str] = {}
        self._fail_fraction = 0.0
        self._fail_kind = "500"
        self._ids = 0
        self._lock = threading.RLock()

    # -- the clock and ids --------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        with self._lock:
            self._clock_offset += seconds

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return prefix + hashlib.sha256(f"{self.seed}|{prefix}|{self._ids}".encode()).hexdigest()[:24]

    # -- files ----------------------------------------------------------------------------

    def create_file(self, filename: str, purpose: str, data: bytes, ttl: int | None = None) -> dict[str, Any]:
        with self._lock:
            created = int(self.now())
            if ttl is None and purpose == "batch":
                ttl = _FILE_TTL
            stored = _File(
                self._new_id("file-"),
                filename,
                purpose,
                data,
                created,
                None if ttl is None else created + ttl,
            )
            self._files[stored.id] = stored
            return stored.as_object()

    def _file(self, file_id: str) -> _File:
        stored = self._files.get(file_id)
        if stored is None:
            raise BatchApiError(404, f"No such File object: {file_id}", "id")
        return stored

    def get_file(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            return self._file(file_id).as_object()

    def file_content(self, file_id: str) -> bytes:
        with self._lock:
            return self._file(file_id).data

    def delete_file(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            self._file(file_id)
            del self._files[file_id]
            return {"id": file_id, "object": "file", "deleted": True}

    def list_files(self, *, after: str | None, limit: int, order: str, purpose: str | None) -> dict[str, Any]:
        with self._lock:
            files = [f for f in self._files.values() if purpose is None or f.purpose == purpose]
            if order != "asc":
                files.reverse()
            return _page([f.as_object() for f in files], after, limit)

    # -- batches --------------------------------------------------------------------------

    def create_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        input_file_id = request.get("input_file_id")
        endpoint = request.get("endpoint")
        window = request.get("completion_window")
        metadata = request.get("metadata")
        if not isinstance(input_file_id, str):
            raise BatchApiError(400, "Missing required parameter: 'input_file_id'.", "input_file_id")
        if endpoint != _ENDPOINT:
            raise BatchApiError(
                400, f"Invalid 'endpoint': {endpoint!r}; the fake serves only {_ENDPOINT!r}.", "endpoint"
            )
        if window not in _WINDOW_SECONDS:
            raise BatchApiError(
                400, f"Invalid 'completion_window': {window!r}; only '24h' is supported.", "completion_window"
            )
        if metadata is not None and not isinstance(metadata, dict):
            raise BatchApiError(400, "Invalid 'metadata': expected an object of strings.", "metadata")
        with self._lock:
            stored = self._files.get(input_file_id)
            if stored is None:
                raise BatchApiError(
                    400, f"Invalid 'input_file_id': no such file {input_file_id!r}.", "input_file_id"
                )
            if stored.purpose != "batch":
                raise BatchApiError(
                    400,
                    f"File {input_file_id} has purpose {stored.purpose!r}; batches need 'batch'.",
                    "input_file_id",
                )
            created = self.now()
            batch = _Batch(
                id=self._new_id("batch_"),
                input_file_id=input_file_id,
                endpoint=endpoint,
                completion_window=window,
                metadata=metadata,
                created=created,
                expires_at=int(created) + _WINDOW_SECONDS[window],
                # the bytes as they were at submission: deleting the file later changes nothing
                input_data=stored.data,
            )
            self._batches[batch.id] = batch
            return batch.as_object()

    def _batch(self, batch_id: str) -> _Batch:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise BatchApiError(404, f"No batch found with id '{batch_id}'.", "batch_id")
        return batch

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        """The batch after a status poll: the moment time-driven transitions happen."""
        with self._lock:
            batch = self._batch(batch_id)
            self._tick(batch)
            return batch.as_object()

    def list_batches(self, *, after: str | None, limit: int) -> dict[str, Any]:
        with self._lock:
            batches = list(reversed(self._batches.values()))  # newest first, as the API lists them
            for batch in batches:
                self._tick(batch)
            return _page([b.as_object() for b in batches], after, limit)

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._batch(batch_id)
            if batch.status in ("validating", "in_progress"):
                batch.status = "cancelling"
                batch.stamps["cancelling"] = int(self.now())
            elif batch.status != "cancelling":
                raise BatchApiError(409, f"Cannot cancel a batch with status '{batch.status}'.")
            return batch.as_object()

    # -- what tests steer -----------------------------------------------------------------

    def hold(self, held: bool) -> None:
        with self._lock:
            self._held = held

    def advance(self, items: int | None = None) -> int:
        """Run up to ``items`` pending items of every in-progress batch (all when None).

        A batch with nothing left to run completes; a cancelling one becomes cancelled.
        Returns how many items ran.
        """
        ran = 0
        with self._lock:
            for batch in self._batches.values():
                if batch.status == "validating":
                    self._validate(batch)
                if batch.status == "in_progress":
                    ran += self._run(batch, items)
                    if all(item.done for item in batch.items):
                        self._finish(batch, "completed")
                elif batch.status == "cancelling":
                    self._finish(batch, "cancelled")
        return ran

    def expire(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._batch(batch_id)
            if batch.status == "validating":
                self._validate(batch)
            if batch.status not in ("in_progress", "cancelling"):
                raise BatchApiError(
                    409, f"Batch {batch_id} is {batch.status}; only a running batch can expire."
                )
            self._finish(batch, "expired")
            return batch.as_object()

    def forget(self, batch_id: str) -> None:
        """Drop a batch, as a provider that no longer has it: a retrieve answers 404, a listing
        leaves it out. Its result files stay (delete them through the Files API)."""
        with self._lock:
            self._batch(batch_id)
            del self._batches[batch_id]

    def fail_items(self, target: float | Iterable[str], kind: str) -> None:
        """Fail the next run of each listed custom_id, or a ``fraction`` of every later item."""
        if kind not in BATCH_ITEM_FAULTS:
            raise ValueError(f"unknown batch item fault {kind!r}; choose from {', '.join(BATCH_ITEM_FAULTS)}")
        with self._lock:
            if isinstance(target, int | float):
                if not 0.0 <= target <= 1.0:
                    raise ValueError(f"fraction must be between 0 and 1, not {target}")
                self._fail_fraction = float(target)
                self._fail_kind = kind
            else:
                self._fail_ids.update(dict.fromkeys(target, kind))

    def clear_faults(self) -> None:
        with self._lock:
            self._fail_ids.clear()
            self._fail_fraction = 0.0

    @property
    def executions(self) -> list[BatchExecution]:
        with self._lock:
            return list(self._executions)

    @property
    def billed(self) -> int:
        with self._lock:
            return sum(e.billed for e in self._executions)

    # -- transitions ----------------------------------------------------------------------

    def _tick(self, batch: _Batch) -> None:
        now = self.now()
        if batch.status == "validating":
            self._validate(batch)
        if batch.status in ("in_progress", "cancelling") and now >= batch.expires_at:
            self._finish(batch, "expired")
        elif batch.status == "in_progress" and not self._held and now >= batch.created + self.delay:
            self._run(batch, None)
            self._finish(batch, "completed")
        elif batch.status == "cancelling" and not self._held:
            self._finish(batch, "cancelled")

    def _validate(self, batch: _Batch) -> None:
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        models: set[str] = set()

        def error(code: str, message: str, line: int | None, param: str | None = None) -> None:
            errors.append({"code": code, "message": message, "param": param, "line": line})

        lines = batch.input_data.decode("utf-8", errors="replace").splitlines()
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                request = json.loads(text)
            except ValueError:
                request = None
            if not isinstance(request, dict):
                error("invalid_json_line", "This line is not parseable as valid JSON.", number)
                continue
            custom_id, body = request.get("custom_id"), request.get("body")
            missing = [
                name
                for name, ok in (
                    ("custom_id", isinstance(custom_id, str) and custom_id),
                    ("method", request.get("method") == "POST"),
                    ("url", isinstance(request.get("url"), str)),
                    ("body", isinstance(body, dict)),
                )
                if not ok
            ]
            if missing:
                error("missing_required_parameter", f"Missing or invalid {missing[0]!r}.", number, missing[0])
                continue
            assert isinstance(custom_id, str) and isinstance(body, dict)
            if request["url"] != batch.endpoint:
                message = (
                    f"The URL {request['url']!r} does not match the batch's endpoint {batch.endpoint!r}."
                )
                error("url_mismatch", message, number, "url")
            if custom_id in seen:
                error("duplicate_custom_id", _DUPLICATE_MESSAGE, number, "custom_id")
            seen.add(custom_id)
            models.add(str(body.get("model")))
            batch.items.append(_Item(number, custom_id, body))
        if not batch.items and not errors:
            error("empty_file", "The input file is empty.", None)
        if len(models) > 1:
            error(
                "model_mismatch", f"Every request of a batch must use one model, not {sorted(models)}.", None
            )
        if errors:
            batch.status = "failed"
            batch.errors = errors
            batch.stamps["failed"] = int(self.now())
            return
        batch.model = models.pop() if models else None
        batch.status = "in_progress"
        batch.stamps["in_progress"] = int(self.now())

    def _item_fault(self, custom_id: str) -> str | None:
        if custom_id in self._fail_ids:
            return self._fail_ids.pop(custom_id)
        if self._fail_fraction:
            digest = hashlib.sha256(f"{self.seed}|{len(self._executions)}|{custom_id}".encode()).digest()
            if int.from_bytes(digest[:8], "big") / 2**64 < self._fail_fraction:
                return self._fail_kind
        return None

    def _run(self, batch: _Batch, limit: int | None) -> int:
        ran = 0
        for item in batch.items:
            if limit is not None and ran >= limit:
                break
            if item.done:
                continue
            self._execute(batch, item)
            ran += 1
        return ran

    def _execute(self, batch: _Batch, item: _Item) -> None:
        item.done = True
        fault = self._item_fault(item.custom_id)
        line: dict[str, Any] = {"id": self._new_id("batch_req_"), "custom_id": item.custom_id}
        status: int | None
        if fault in ("400", "500"):
            status = int(fault)
            kind = "invalid_request_error" if status == 400 else "server_error"
            body: dict[str, Any] = {
                "error": {"message": f"fake HTTP {status}", "type": kind, "param": None, "code": None}
            }
            line.update(
                response={"status_code": status, "request_id": self._new_id("req_"), "body": body}, error=None
            )
        elif fault == "error":
            status = None
            line.update(
                response=None, error={"code": "server_error", "message": "The fake failed this request."}
            )
        else:
            status = 200
            content = self._answer(item.body)
            if fault == "invalid":
                content = json.dumps({"unexpected": True})
            elif fault == "truncated":
                content = content[: max(1, len(content) // 2)]
            completion = self._completion(item.body, content, int(self.now()))
            usage = completion.get("usage") or {}
            batch.input_tokens += int(usage.get("prompt_tokens", 0))
            batch.output_tokens += int(usage.get("completion_tokens", 0))
            line.update(
                response={"status_code": 200, "request_id": self._new_id("req_"), "body": completion},
                error=None,
            )
        if status == 200:
            batch.completed += 1
            batch.output_lines.append(line)
        else:
            batch.failed += 1
            batch.error_lines.append(line)
        body_hash = hashlib.sha256(json.dumps(item.body, sort_keys=True).encode()).hexdigest()
        self._executions.append(BatchExecution(batch.id, item.custom_id, body_hash, status, status == 200))

    def _finish(self, batch: _Batch, status: str) -> None:
        """End a batch: items never run go to the error file, then the result files are written."""
        now = int(self.now())
        if status in _ITEM_ERRORS:
            code, message = _ITEM_ERRORS[status]
            for item in batch.items:
                if not item.done:
                    item.done = True
                    batch.failed += 1
                    batch.error_lines.append(
                        {
                            "id": self._new_id("batch_req_"),
                            "custom_id": item.custom_id,
                            "response": None,
                            "error": {"code": code, "message": message},
                        }
                    )
        if status == "completed":
            batch.stamps["finalizing"] = now
        batch.status = status
        batch.stamps[status] = now
        batch.output_file_id = self._result_file(batch, "output", batch.output_lines)
        batch.error_file_id = self._result_file(batch, "error", batch.error_lines)

    def _result_file(self, batch: _Batch, name: str, lines: list[dict[str, Any]]) -> str | None:
        # the real API leaves output_file_id empty when no item succeeded, error_file_id when none failed
        if not lines:
            return None
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        file_id: str = self.create_file(f"batch_{batch.id}_{name}.jsonl", "batch_output", data)["id"]
        return file_id
