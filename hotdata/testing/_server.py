"""``FakeOpenAIServer``: an OpenAI-compatible chat-completions server on 127.0.0.1.

A test double that speaks real HTTP, so tests exercise the real path through
``llm``'s OpenAI plugin (point ``extra-openai-models.yaml`` at it with
``write_llm_config``). Answers are schema-valid JSON derived from the request's
JSON Schema (``response_format``, or the schema hotdata appends to the prompt),
deterministic from the seed and the prompt. Streaming and non-streaming.

Faults are injected on command, for the next N requests or at random::

    with FakeOpenAIServer() as server:
        server.inject("429", count=2, retry_after=1)
        server.inject("hang")
        server.fail_randomly(0.3, kinds=["500", "503", "drop"])

Kinds: ``429`` (with Retry-After), ``500``, ``503``, ``401``, ``hang`` (no answer
until ``hang_seconds``), ``drop`` (connection closed without a response),
``malformed`` (a body that is not JSON), ``invalid`` (JSON that fails the
schema), ``truncated`` (JSON cut in half).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ._faker import fake_from_schema

__all__ = ["FAULT_KINDS", "FakeOpenAIServer"]

FAULT_KINDS = ("429", "500", "503", "401", "hang", "drop", "malformed", "invalid", "truncated")
_SCHEMA_MARKER = "JSON Schema:\n"


def _schema_from(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        if isinstance(schema, dict):
            return schema
    for message in reversed(body.get("messages", [])):
        content = message.get("content")
        if isinstance(content, str) and _SCHEMA_MARKER in content:
            tail = content.rsplit(_SCHEMA_MARKER, 1)[1]
            try:
                parsed, _ = json.JSONDecoder().raw_decode(tail[tail.index("{") :])
            except ValueError:
                return None
            return parsed if isinstance(parsed, dict) else None
    return None


class _HTTPServer(ThreadingHTTPServer):
    # the default listen backlog of 5 refuses connections under a burst of concurrent clients
    request_queue_size = 256
    daemon_threads = True


class FakeOpenAIServer:
    """A deterministic OpenAI-compatible server (a test double, not a model)."""

    def __init__(self, *, seed: int = 0, latency: float = 0.0, hang_seconds: float = 30.0) -> None:
        self.seed = seed
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.requests: list[dict[str, Any]] = []
        self._faults: deque[tuple[str, float | None]] = deque()
        self._random_rate = 0.0
        self._random_kinds: list[str] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
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
        """Forget queued and random faults."""
        with self._lock:
            self._faults.clear()
        self._random_rate = 0.0

    def fail_randomly(self, rate: float, kinds: list[str] | None = None) -> None:
        """Fail each request with probability ``rate``, with a kind drawn from ``kinds``."""
        self._random_rate = rate
        self._random_kinds = list(kinds or ["429", "500", "503", "drop"])

    def write_llm_config(
        self,
        user_dir: Path,
        model_id: str = "fake-gpt",
        *,
        supports_schema: bool = True,
        api_key_name: str | None = None,
    ) -> Path:
        """Write ``extra-openai-models.yaml`` into ``user_dir`` (use it as ``LLM_USER_PATH``)."""
        user_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"- model_id: {model_id}",
            f"  model_name: {model_id}",
            f"  api_base: {self.url}",
            f"  supports_schema: {'true' if supports_schema else 'false'}",
        ]
        if api_key_name:
            lines.append(f"  api_key_name: {api_key_name}")
        path = user_dir / "extra-openai-models.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> FakeOpenAIServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = _HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
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

    def answer(self, body: dict[str, Any]) -> str:
        prompt = json.dumps(body.get("messages", []), sort_keys=True)
        seed = hashlib.sha256(f"{self.seed}|{prompt}".encode()).hexdigest()
        schema = _schema_from(body)
        if schema is None:
            return "A fake answer."
        return json.dumps(fake_from_schema(schema, seed), ensure_ascii=False)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read results, not logs
        pass

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps({"error": {"message": message, "type": "fake_error", "code": status}}).encode()
        self._send(status, payload, headers)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, json.dumps({"object": "list", "data": []}).encode())
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        owner = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._error(400, "request body is not JSON")
            return
        fault = owner._next_fault()
        with owner._lock:
            owner.requests.append(
                {
                    "path": self.path,
                    "model": body.get("model"),
                    "stream": bool(body.get("stream")),
                    "fault": fault[0] if fault else None,
                    "has_auth": "authorization" in {k.lower() for k in self.headers},
                }
            )
        if owner.latency:
            time.sleep(owner.latency)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(404, f"no route {self.path}")
            return
        kind = fault[0] if fault else None
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
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b'data: {"id": "chatcmpl-fake", "choices": [ this is not json\n\n')
                self.close_connection = True
            else:
                self._send(200, b'{"id": "chatcmpl-fake", "choices": [ this is not json')
            return
        content = owner.answer(body)
        if kind == "invalid":
            content = json.dumps({"unexpected": True})
        elif kind == "truncated":
            content = content[: max(1, len(content) // 2)]
        self._complete(body, content)

    def _complete(self, body: dict[str, Any], content: str) -> None:
        model = body.get("model", "fake")
        usage = {
            "prompt_tokens": len(json.dumps(body.get("messages", []))) // 4 + 1,
            "completion_tokens": len(content) // 4 + 1,
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        created = int(time.time())
        if not body.get("stream"):
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
            self._send(200, json.dumps(payload).encode())
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        pieces = [content[i : i + 16] for i in range(0, len(content), 16)] or [""]

        def event(delta: dict[str, Any], finish: str | None = None, with_usage: bool = False) -> bytes:
            chunk: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if with_usage:
                chunk["choices"] = []
                chunk["usage"] = usage
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
