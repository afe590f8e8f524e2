"""A test double of the embedded model's engine: it runs in the same worker process as the
real one, answers like ``hotdata-fake``, and misbehaves in native ways on request.

A prompt holding ``[crash SIGILL]`` (or any other signal name) makes the worker kill
itself with that signal; ``[abort]`` prints a last line on stderr and aborts, as a
failed llama.cpp assertion does; ``[block]`` blocks in C (``sleep(3)`` of the C
library through ctypes, which Python cannot interrupt) until the worker is killed.
``die_at_start`` kills the worker while it warms up. Every request is logged to
``HOTDATA_FAKE_LOG`` as it arrives (with the worker's pid), so tests wait for it, and
every start of a worker to ``HOTDATA_FAKE_WORKER_STARTS``.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._faker import fake_from_schema

__all__ = ["MisbehavingEngine"]

_CRASH = re.compile(r"\[crash (SIG[A-Z]+)\]")


class MisbehavingEngine:
    """``hotdata.make.embedded.Engine`` for tests (a double, never a model)."""

    def __init__(self, model: str, die_at_start: str | None = None) -> None:
        self.model = model
        self.die_at_start = die_at_start

    def warm_up(self) -> None:
        starts = os.environ.get("HOTDATA_FAKE_WORKER_STARTS")
        if starts:
            with Path(starts).open("a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()}\n")
        if self.die_at_start:
            os.kill(os.getpid(), signal.Signals[self.die_at_start])

    def answer(self, request: Mapping[str, Any]) -> dict[str, Any]:
        prompt = str(request.get("prompt") or "")
        options = request.get("options") or {}
        log = os.environ.get("HOTDATA_FAKE_LOG")
        if log:
            line = {"model": self.model, "prompt": prompt, "options": options, "pid": os.getpid()}
            with Path(log).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
        crash = _CRASH.search(prompt)
        if crash:
            os.kill(os.getpid(), signal.Signals[crash[1]])
        if "[abort]" in prompt:
            print("GGML_ASSERT(fake) failed: a test double's last words", file=sys.stderr, flush=True)
            os.abort()
        if "[block]" in prompt:
            libc = ctypes.CDLL(None)
            while True:
                libc.sleep(3)  # in C: no Python signal handler or timeout runs until it returns
        schema = request.get("schema") or {"type": "string"}
        digest = hashlib.sha256(f"{options.get('seed')}|{prompt}".encode()).hexdigest()
        text = json.dumps(fake_from_schema(schema, digest), ensure_ascii=False)
        return {"text": text, "input_tokens": len(prompt) // 4 + 1, "output_tokens": len(text) // 4 + 1}
