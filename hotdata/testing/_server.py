"""``FakeOpenAIServer``: an OpenAI-compatible server on 127.0.0.1 for tests.

A test double that speaks real HTTP, so tests exercise the real path through the
``openai`` SDK or ``llm``'s OpenAI plugin (point ``extra-openai-models.yaml`` at it
with ``write_llm_config``). Chat completions, streamed or not, answer schema-valid
JSON derived from the request's JSON Schema (``response_format``, or the schema
hotdata appends to the prompt), deterministic from the seed and the prompt.

Faults are injected on command, for the next N requests or at random::

    with FakeOpenAIServer() as server:
        server.inject("429", count=2, retry_after=1)
        server.inject("hang")
        server.fail_randomly(0.3, kinds=["500", "503", "drop"])

Kinds: ``429`` (with Retry-After), ``500``, ``503``, ``401``, ``hang`` (no answer
until ``hang_seconds``), ``drop`` (connection closed without a response),
``malformed`` (a body that is not JSON), ``invalid`` (JSON that fails the
schema), ``truncated`` (JSON cut in half), ``echo-headers`` (HTTP 400 whose error
message repeats the request's headers, credentials included, as a careless provider
or gateway does: for tests that no key leaks through an error).

``server.hold()`` keeps chat completions waiting, once recorded in ``requests``,
until ``server.release()``: a test can act while a client is inside a model call.

``FakeOpenAIServer(rate_limit=5)`` admits five chat completions a second (a token
bucket holding up to five); the rest get 429 with ``Retry-After``, ``retry-after-ms``
and OpenAI's ``x-ratelimit-*-requests`` headers, which successful answers carry too.

The Files and Batches endpoints (``/v1/files``, ``/v1/batches``) run batches of chat
completions on a clock the test drives: see ``hotdata.testing._batches``. Every
request is recorded in ``server.requests`` (method, path, model, fault, and whether
an Authorization header came, never its value; chat completions also with the sha256
of their body, as ``batch_executions`` has it).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._batches import BATCH_ITEM_FAULTS, BatchApiError, BatchExecution, BatchStore
from ._faker import fake_from_schema
from ._wire import (
    BATCH_CANCEL_ROUTE,
    BATCH_ROUTE,
    FILE_CONTENT_ROUTE,
    FILE_ROUTE,
    RateLimiter,
    chat_completion,
    multipart_fields,
    route_id,
    schema_from,
)

__all__ = ["BATCH_ITEM_FAULTS", "FAULT_KINDS", "BatchExecution", "FakeOpenAIServer"]

FAULT_KINDS = (
    "429",
    "500",
    "503",
    "401",
    "hang",
    "drop",
    "malformed",
    "invalid",
    "truncated",
    "echo-headers",
)
# headers every client sends, left out of an ``echo-headers`` message (x-stainless-*: the SDK's own)
_TRANSPORT_HEADERS = frozenset(
    {"host", "accept", "accept-encoding", "connection", "content-length", "content-type", "user-agent"}
)


class _HTTPServer(ThreadingHTTPServer):
    # the default listen backlog of 5 refuses connections under a burst of concurrent clients
    request_queue_size = 256
    daemon_threads = True


class FakeOpenAIServer:
    """A deterministic OpenAI-compatible server (a test double, not a model).

    Args:
        seed: varies every answer; the same seed and prompt give the same answer.
        latency: seconds every request waits before it is answered.
        hang_seconds: how long a ``hang`` fault keeps the connection silent.
        rate_limit: chat completions admitted a second (None: no limit); see ``set_rate_limit``.
        batch_delay: seconds on the server's clock between creating a batch and the first
            poll that finds it completed (0: the first poll does).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        latency: float = 0.0,
        hang_seconds: float = 30.0,
        rate_limit: float | None = None,
        batch_delay: float = 0.0,
    ) -> None:
        self.seed = seed
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.requests: list[dict[str, Any]] = []
        # the usage of every chat completion answered 200 (what a provider would bill)
        self.usage: list[dict[str, int]] = []
        self._faults: deque[tuple[str, float | None]] = deque()
        self._random_rate = 0.0
        self._random_kinds: list[str] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._limiter = RateLimiter(rate_limit)
        self._batches = BatchStore(
            seed=seed, answer=lambda body: self.answer(body), completion=chat_completion, delay=batch_delay
        )
        self._open = threading.Event()  # cleared by hold(): chat completions wait for release()
        self._open.set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The ``api_base`` to configure, e.g. ``http://127.0.0.1:53121/v1``."""
        if self._httpd is None:
            raise RuntimeError("the server is not started; use start() or `with FakeOpenAIServer() as s:`")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def inject(self, kind: str, count: int = 1, *, retry_after: float | None = None) -> None:
        """Make the next ``count`` requests fail with ``kind`` (queued in order)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._faults.extend([(kind, retry_after)] * count)

    def clear_faults(self) -> None:
        """Forget queued and random faults, batch item faults included."""
        with self._lock:
            self._faults.clear()
        self._random_rate = 0.0
        self._batches.clear_faults()

    def hold(self) -> None:
        """Keep every chat completion from now on waiting, once recorded in ``requests``,
        until ``release`` (or ``stop``)."""
        self._open.clear()

    def release(self) -> None:
        """Let held chat completions (and later ones) be answered."""
        self._open.set()

    def fail_randomly(self, rate: float, kinds: list[str] | None = None) -> None:
        """Fail each request with probability ``rate``, with a kind drawn from ``kinds``."""
        self._random_rate = rate
        self._random_kinds = list(kinds or ["429", "500", "503", "drop"])

    @property
    def rate_limit(self) -> float | None:
        """Chat completions admitted a second, or None for no limit."""
        return self._limiter.rate

    def set_rate_limit(self, rate: float | None) -> None:
        """Change the limit now (None lifts it); the bucket starts full at the new rate."""
        self._limiter.set(rate)

    # -- batches ------------------------------------------------------------------

    @property
    def batch_delay(self) -> float:
        """Seconds on the server's clock before a poll finds a new batch completed."""
        return self._batches.delay

    @batch_delay.setter
    def batch_delay(self, seconds: float) -> None:
        self._batches.delay = seconds

    def advance_clock(self, seconds: float) -> None:
        """Move the server's clock forward: batch delays and the 24 h window elapse at once."""
        self._batches.advance_clock(seconds)

    def hold_batches(self, hold: bool = True) -> None:
        """Keep batches in progress (and cancellations cancelling) until ``advance_batches``."""
        self._batches.hold(hold)

    def advance_batches(self, items: int | None = None) -> int:
        """Run ``items`` more items of every in-progress batch now; all of them when None.

        A batch left with nothing to run completes, a cancelling one is cancelled.
        Returns the number of items run.
        """
        return self._batches.advance(items)

    def expire_batch(self, batch_id: str) -> None:
        """Let the completion window of a running batch end now.

        Items already run stay in the output; the rest go to the error file as ``batch_expired``.
        """
        try:
            self._batches.expire(batch_id)
        except BatchApiError as error:
            raise ValueError(error.message) from None

    def forget_batch(self, batch_id: str) -> None:
        """The provider no longer has this batch: a retrieve answers 404, a listing leaves it out."""
        try:
            self._batches.forget(batch_id)
        except BatchApiError as error:
            raise ValueError(error.message) from None

    def fail_batch_items(self, target: float | Iterable[str], *, kind: str = "500") -> None:
        """Make batch items fail with ``kind`` (one of ``BATCH_ITEM_FAULTS``).

        ``target`` is a fraction of every item run from now on (0 stops it), or custom_ids
        whose next run fails, so a resubmission of them succeeds.
        """
        self._batches.fail_items(target, kind)

    @property
    def batch_executions(self) -> list[BatchExecution]:
        """Every batch item run, in order: custom_id, sha256 of its body, status, billed."""
        return self._batches.executions

    @property
    def batch_requests_billed(self) -> int:
        """Batch items billed: those answered 200, as the real API bills completed requests only."""
        return self._batches.billed

    # -- the llm plugin and the server's life -------------------------------------

    def write_llm_config(
        self,
        user_dir: Path,
        model_id: str = "fake-gpt",
        *,
        supports_schema: bool = True,
        api_key_name: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Path:
        """Write ``extra-openai-models.yaml`` into ``user_dir`` (use it as ``LLM_USER_PATH``);
        ``headers``: HTTP headers llm sends with every request to the model (``headers:``)."""
        user_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"- model_id: {model_id}",
            f"  model_name: {model_id}",
            f"  api_base: {self.url}",
            f"  supports_schema: {'true' if supports_schema else 'false'}",
        ]
        if api_key_name:
            lines.append(f"  api_key_name: {api_key_name}")
        if headers:
            lines.append("  headers:")
            lines += [f"    {json.dumps(name)}: {json.dumps(value)}" for name, value in headers.items()]
        path = user_dir / "extra-openai-models.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> FakeOpenAIServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = _HTTPServer(("127.0.0.1", 0), Handler)
        # a short poll interval: stop() waits for the serving loop to notice, 0.5 s by default
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._open.set()  # held requests end with the server
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering ----------------------------------------------------------------

    def _next_fault(self) -> tuple[str, float | None] | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if self._random_rate and self._rng.random() < self._random_rate:
                return self._rng.choice(self._random_kinds), 0.05
        return None

    def _record(self, method: str, path: str, has_auth: bool, **fields: Any) -> None:
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "model": None,
            "stream": False,
            "fault": None,
        }
        entry.update(fields, has_auth=has_auth)
        with self._lock:
            self.requests.append(entry)

    def answer(self, body: dict[str, Any]) -> str:
        """The assistant's content for a chat request body (batch items answer through it too)."""
        prompt = json.dumps(body.get("messages", []), sort_keys=True)
        seed = hashlib.sha256(f"{self.seed}|{prompt}".encode()).hexdigest()
        schema = schema_from(body)
        if schema is None:
            return "A fake answer."
        return json.dumps(fake_from_schema(schema, seed), ensure_ascii=False)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read results, not logs
        pass

    # -- plumbing -----------------------------------------------------------------

    def _send(
        self,
        status: int,
        payload: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    def _json(self, payload: dict[str, Any], status: int = 200) -> None:
        self._send(status, json.dumps(payload).encode())

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps({"error": {"message": message, "type": "fake_error", "code": status}}).encode()
        self._send(status, payload, headers)

    def _api_error(self, error: BatchApiError) -> None:
        kind = "invalid_request_error" if error.status < 500 else "server_error"
        body = {"error": {"message": error.message, "type": kind, "param": error.param, "code": None}}
        self._json(body, error.status)

    def _route(self) -> tuple[str, dict[str, list[str]]]:
        """The path below ``/v1`` and the query of this request."""
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/")
        return path.removeprefix("/v1"), parse_qs(parts.query)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    @property
    def _has_auth(self) -> bool:
        # only whether it came: the value is a secret and is never stored
        return "authorization" in {k.lower() for k in self.headers}

    def _api(self, method: str, handle: Callable[[], dict[str, Any] | bytes]) -> None:
        """Answer a Files or Batches request: record it, then send what ``handle`` returns."""
        owner = self.owner
        owner._record(method, self.path, self._has_auth)
        if owner.latency:
            time.sleep(owner.latency)
        try:
            result = handle()
        except BatchApiError as error:
            self._api_error(error)
            return
        if isinstance(result, bytes):
            self._send(200, result, content_type="application/octet-stream")
        else:
            self._json(result)

    # -- routes -------------------------------------------------------------------

    def do_GET(self) -> None:
        path, query = self._route()
        store = self.owner._batches

        def first(name: str) -> str | None:
            return query.get(name, [None])[0]

        def limit(default: int) -> int:
            value = first("limit")
            return int(value) if value and value.isdigit() else default

        if path.endswith("/models"):
            self._json({"object": "list", "data": []})
        elif path == "/files":
            order = first("order") or "desc"
            self._api(
                "GET",
                lambda: store.list_files(
                    after=first("after"), limit=limit(10_000), order=order, purpose=first("purpose")
                ),
            )
        elif content_of := route_id(FILE_CONTENT_ROUTE, path):
            self._api("GET", lambda: store.file_content(content_of))
        elif file_id := route_id(FILE_ROUTE, path):
            self._api("GET", lambda: store.get_file(file_id))
        elif path == "/batches":
            self._api("GET", lambda: store.list_batches(after=first("after"), limit=limit(20)))
        elif batch_id := route_id(BATCH_ROUTE, path):
            self._api("GET", lambda: store.get_batch(batch_id))
        else:
            self._error(404, f"no route GET {self.path}")

    def do_DELETE(self) -> None:
        path, _ = self._route()
        if file_id := route_id(FILE_ROUTE, path):
            self._api("DELETE", lambda: self.owner._batches.delete_file(file_id))
        else:
            self._error(404, f"no route DELETE {self.path}")

    def do_POST(self) -> None:
        path, _ = self._route()
        store = self.owner._batches
        if path.endswith("/chat/completions"):  # whatever prefix the client's api_base has
            self._chat()
        elif path == "/files":
            data = self._body()
            self._api("POST", lambda: self._upload(data))
        elif path == "/batches":
            data = self._body()
            self._api("POST", lambda: store.create_batch(self._json_body(data)))
        elif batch_id := route_id(BATCH_CANCEL_ROUTE, path):
            self._body()
            self._api("POST", lambda: store.cancel_batch(batch_id))
        else:
            self.owner._record("POST", self.path, self._has_auth)
            self._error(404, f"no route POST {self.path}")

    @staticmethod
    def _json_body(data: bytes) -> dict[str, Any]:
        try:
            body = json.loads(data or b"{}")
        except ValueError:
            raise BatchApiError(400, "The request body is not JSON.") from None
        if not isinstance(body, dict):
            raise BatchApiError(400, "The request body must be a JSON object.")
        return body

    def _upload(self, data: bytes) -> dict[str, Any]:
        fields = multipart_fields(self.headers.get("Content-Type", ""), data)
        if "file" not in fields:
            raise BatchApiError(400, "Missing required parameter: 'file'.", "file")
        if "purpose" not in fields:
            raise BatchApiError(400, "Missing required parameter: 'purpose'.", "purpose")
        filename, content = fields["file"]
        purpose = fields["purpose"][1].decode()
        seconds = fields.get("expires_after[seconds]")
        ttl = int(seconds[1]) if seconds and seconds[1].isdigit() else None
        return self.owner._batches.create_file(filename or "upload.jsonl", purpose, content, ttl)

    def _chat(self) -> None:
        owner = self.owner
        try:
            body = json.loads(self._body() or b"{}")
        except ValueError:
            self._error(400, "request body is not JSON")
            return
        allowed, limit_headers = owner._limiter.acquire()
        # a refused request consumes no injected fault: the fault is meant for a request that gets in
        fault = owner._next_fault() if allowed else None
        kind = fault[0] if fault else (None if allowed else "rate_limited")
        owner._record(
            "POST",
            self.path,
            self._has_auth,
            model=body.get("model"),
            stream=bool(body.get("stream")),
            fault=kind,
            # the same digest as ``BatchExecution.body_sha256``: a test can match a synchronous
            # request with a batch item
            body_sha256=hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest(),
        )
        owner._open.wait()  # hold(): until release()
        if owner.latency:
            time.sleep(owner.latency)
        if not allowed:
            self._error(429, "rate limit reached for requests (fake)", limit_headers)
            return
        if kind == "echo-headers":
            sent = [
                f"{name}: {value}"
                for name, value in self.headers.items()
                if name.lower() not in _TRANSPORT_HEADERS and not name.lower().startswith("x-stainless")
            ]
            self._error(400, "fake HTTP 400: bad request with headers " + "; ".join(sent))
            return
        if kind == "429":
            retry_after = fault[1] if fault and fault[1] is not None else 1
            self._error(429, "rate limited (fake)", {"Retry-After": f"{retry_after:g}"})
            return
        if kind in ("500", "503", "401"):
            self._error(int(kind), f"fake HTTP {kind}")
            return
        if kind == "hang":
            time.sleep(owner.hang_seconds)
            self.close_connection = True
            return
        if kind == "drop":
            self.close_connection = True
            return
        if kind == "malformed":
            if body.get("stream"):
                self._start_stream(limit_headers)
                self.wfile.write(b'data: {"id": "chatcmpl-fake", "choices": [ this is not json\n\n')
                self.close_connection = True
            else:
                self._send(200, b'{"id": "chatcmpl-fake", "choices": [ this is not json', limit_headers)
            return
        content = owner.answer(body)
        if kind == "invalid":
            content = json.dumps({"unexpected": True})
        elif kind == "truncated":
            content = content[: max(1, len(content) // 2)]
        self._complete(body, content, limit_headers)

    def _start_stream(self, headers: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _complete(self, body: dict[str, Any], content: str, headers: dict[str, str]) -> None:
        created = int(time.time())
        completion = chat_completion(body, content, created)
        with self.owner._lock:
            self.owner.usage.append(completion["usage"])
        if not body.get("stream"):
            self._send(200, json.dumps(completion).encode(), headers)
            return
        self._start_stream(headers)
        pieces = [content[i : i + 16] for i in range(0, len(content), 16)] or [""]

        def event(delta: dict[str, Any], finish: str | None = None, with_usage: bool = False) -> bytes:
            chunk: dict[str, Any] = {
                "id": completion["id"],
                "object": "chat.completion.chunk",
                "created": created,
                "model": completion["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if with_usage:
                chunk["choices"] = []
                chunk["usage"] = completion["usage"]
            return f"data: {json.dumps(chunk)}\n\n".encode()

        self.wfile.write(event({"role": "assistant", "content": ""}))
        for piece in pieces:
            self.wfile.write(event({"content": piece}))
        self.wfile.write(event({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            self.wfile.write(event({}, with_usage=True))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True
