"""What the fake OpenAI server reads and writes on the wire: the JSON Schema a chat request
asks for, ``chat.completion`` objects with their usage, multipart uploads, the Files and
Batches routes, and the token bucket behind ``rate_limit`` with OpenAI's headers."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from email.parser import HeaderParser
from typing import Any

from ._batches import BatchApiError

__all__ = [
    "BATCH_CANCEL_ROUTE",
    "BATCH_ROUTE",
    "FILE_CONTENT_ROUTE",
    "FILE_ROUTE",
    "RateLimiter",
    "chat_completion",
    "multipart_fields",
    "route_id",
    "schema_from",
]

_SCHEMA_MARKER = "JSON Schema:\n"


def schema_from(body: dict[str, Any]) -> dict[str, Any] | None:
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


def _usage(body: dict[str, Any], content: str) -> dict[str, int]:
    prompt = len(json.dumps(body.get("messages", []))) // 4 + 1
    completion = len(content) // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_completion(body: dict[str, Any], content: str, created: int) -> dict[str, Any]:
    """The ``chat.completion`` object, the same for synchronous requests and batch items."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": created,
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(body, content),
    }


def _seconds(value: float) -> str:
    """``0.35`` for 0.35 s: header values without float noise, never zero."""
    return f"{max(value, 0.001):.3f}".rstrip("0").rstrip(".")


class RateLimiter:
    """A token bucket over chat completions: ``rate`` a second, bursts of up to ``rate``."""

    def __init__(self, rate: float | None) -> None:
        self._lock = threading.Lock()
        self.set(rate)

    def set(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate_limit must be a positive number of requests per second, not {rate}")
        with self._lock:
            self.rate = rate
            self._capacity = max(rate or 0.0, 1.0)
            self._tokens = self._capacity
            self._stamp = time.monotonic()

    def acquire(self) -> tuple[bool, dict[str, str]]:
        """Take one request from the bucket: whether it may pass, and the headers to send."""
        with self._lock:
            rate = self.rate
            if rate is None:
                return True, {}
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            allowed = self._tokens >= 1.0
            if allowed:
                self._tokens -= 1.0
            headers = {
                "x-ratelimit-limit-requests": f"{rate:g}",
                "x-ratelimit-remaining-requests": str(int(self._tokens)),
                "x-ratelimit-reset-requests": _seconds((self._capacity - self._tokens) / rate) + "s",
            }
            if not allowed:
                wait = (1.0 - self._tokens) / rate
                headers["Retry-After"] = _seconds(wait)
                headers["retry-after-ms"] = str(max(1, math.ceil(wait * 1000)))
            return allowed, headers


FILE_ROUTE = re.compile(r"/files/([^/]+)")
FILE_CONTENT_ROUTE = re.compile(r"/files/([^/]+)/content")
BATCH_ROUTE = re.compile(r"/batches/([^/]+)")
BATCH_CANCEL_ROUTE = re.compile(r"/batches/([^/]+)/cancel")


def route_id(route: re.Pattern[str], path: str) -> str:
    """The id a route captures from ``path``, or "" when the route does not match."""
    match = route.fullmatch(path)
    return match[1] if match else ""


def multipart_fields(content_type: str, data: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name → (filename, bytes)."""
    header = HeaderParser().parsestr(f"Content-Type: {content_type}\r\n\r\n")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str):
        raise BatchApiError(400, "multipart/form-data without a boundary")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in data.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, payload = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = HeaderParser().parsestr(head.decode("utf-8", errors="replace") + "\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = (headers.get_filename(), payload.removesuffix(b"\r\n"))
    return fields
