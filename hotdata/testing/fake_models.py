"""Deterministic fake models (test doubles, never real models), as an ``llm`` plugin.

They reach hotdata the way every model does: through ``llm``'s ``register_models``
hook. They are not installed as an entry point, so they never show up in a
user's ``llm models``; a project turns them on in pyproject.toml::

    [tool.hotdata]
    model = "hotdata-fake"
    llm_plugins = ["hotdata.testing.fake_models"]

Models:

* ``hotdata-fake`` — schema-valid JSON derived from the request's schema and prompt;
* ``hotdata-fake:fail`` — every call fails (a model that must not be called);
* ``hotdata-fake:invalid-first`` — the first answer to each prompt (by its first
  line) does not match the schema; later ones do;
* ``hotdata-fake:script`` — answers read from the JSON file ``HOTDATA_FAKE_SCRIPT``:
  ``{"<text the prompt contains>": [answer, answer, ...]}``; each answer is the
  text, or ``{"text": ..., "finish_reason": "length"}``. The n-th call whose
  prompt contains a key gets that key's n-th answer (the last one repeats);
* ``hotdata-fake:script-small`` — answers like ``hotdata-fake:script``, and declares the
  embedded model's capabilities (it copies feedback, reads no schema text, writes prose
  apart), so it is asked the way a small grammar-decoding model is.

Like a real model, they see only the prompt, the system prompt, the schema and
the options. ``HOTDATA_FAKE_LOG`` names a file that gets one JSON line per call
(model, prompt, system, options, schema) as the call arrives, so tests can count calls
across processes and wait for the first one; ``HOTDATA_FAKE_LATENCY`` (seconds)
delays every answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import llm
from pydantic import ConfigDict

from ._faker import fake_from_schema

__all__ = [
    "FAKE_MODEL_IDS",
    "SMALL_MODEL_IDS",
    "FakeAsyncModel",
    "FakeModel",
    "FakeSmallAsyncModel",
    "FakeSmallModel",
    "fake_answer",
    "register_models",
]

FAKE_MODEL_IDS = ("hotdata-fake", "hotdata-fake:fail", "hotdata-fake:invalid-first", "hotdata-fake:script")
SMALL_MODEL_IDS = ("hotdata-fake:script-small",)
_INVALID = '{"not": "what the schema wants"}'


def _log_path() -> Path | None:
    value = os.environ.get("HOTDATA_FAKE_LOG")
    return Path(value) if value else None


def _latency() -> float:
    return float(os.environ.get("HOTDATA_FAKE_LATENCY") or 0)


class _Behaviour:
    """What every fake model does with a prompt; shared by the sync and async flavours."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.mode = model_id.split(":", 1)[1] if ":" in model_id else "ok"
        self._seen: set[str] = set()
        self._asked: dict[str, int] = {}
        self._lock = threading.Lock()

    def log(self, prompt: llm.Prompt) -> None:
        path = _log_path()
        if path is None:
            return
        options = prompt.options.model_dump(exclude_none=True) if prompt.options else {}
        schema = prompt.schema if isinstance(prompt.schema, dict) else None
        line = json.dumps(
            {
                "model": self.model_id,
                "prompt": prompt.prompt,
                "system": prompt.system,
                "options": options,
                "schema": schema,
            }
        )
        with path.open("a", encoding="utf-8") as fh:  # one write per line: safe across processes
            fh.write(line + "\n")

    def answer(self, prompt: llm.Prompt, response: Any) -> str:
        if self.mode == "fail":
            raise RuntimeError(f"the fake model {self.model_id!r} refuses every call")
        text_prompt = prompt.prompt or ""
        if self.mode == "invalid-first":
            first_line = text_prompt.splitlines()[0] if text_prompt else ""
            with self._lock:
                first = first_line not in self._seen
                self._seen.add(first_line)
            if first:
                return self._finish(response, text_prompt, _INVALID)
        if self.mode in ("script", "script-small"):
            text, finish = self._scripted(text_prompt)
            return self._finish(response, text_prompt, text, finish)
        schema = prompt.schema if isinstance(prompt.schema, dict) else None
        options = prompt.options.model_dump(exclude_none=True) if prompt.options else {}
        return self._finish(response, text_prompt, fake_answer(schema, text_prompt, options.get("seed")))

    def _scripted(self, prompt: str) -> tuple[str, str]:
        path = os.environ.get("HOTDATA_FAKE_SCRIPT")
        if not path:
            raise RuntimeError("hotdata-fake:script needs HOTDATA_FAKE_SCRIPT naming a JSON file of answers")
        script: dict[str, list[Any]] = json.loads(Path(path).read_text(encoding="utf-8"))
        key = next((k for k in script if k in prompt), None)
        if key is None:
            raise RuntimeError(f"no answer in {path} for a prompt starting {prompt[:60]!r}")
        with self._lock:
            n = self._asked[key] = self._asked.get(key, 0) + 1
        answer = script[key][min(n, len(script[key])) - 1]
        if isinstance(answer, dict):
            return str(answer["text"]), str(answer.get("finish_reason", "stop"))
        return answer if isinstance(answer, str) else json.dumps(answer), "stop"

    @staticmethod
    def _finish(response: Any, prompt: str, text: str, finish_reason: str = "stop") -> str:
        response.set_usage(input=len(prompt) // 4 + 1, output=len(text) // 4 + 1)
        response.response_json = {"finish_reason": finish_reason}
        return text


def fake_answer(schema: dict[str, Any] | None, prompt: str, seed: Any = None) -> str:
    """The deterministic answer of ``hotdata-fake`` to ``prompt`` under ``schema``."""
    digest = hashlib.sha256(f"{seed}|{prompt}".encode()).hexdigest()
    return json.dumps(fake_from_schema(schema or {"type": "string"}, digest), ensure_ascii=False)


class _Fake:
    """What both flavours share: the id, the options a double accepts, the behaviour."""

    can_stream = False
    supports_schema = True

    class Options(llm.Model.Options):
        # A double accepts whatever options a project configures (temperature, seed, ...).
        model_config = ConfigDict(extra="allow")

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self._behaviour = _Behaviour(model_id)


class FakeModel(_Fake, llm.Model):
    """The synchronous flavour (for ``llm -m hotdata-fake`` and sync callers)."""

    def execute(
        self, prompt: llm.Prompt, stream: bool, response: llm.Response, conversation: Any
    ) -> Iterator[str]:
        self._behaviour.log(prompt)
        if _latency():
            threading.Event().wait(_latency())
        yield self._behaviour.answer(prompt, response)


class FakeAsyncModel(_Fake, llm.AsyncModel):
    """The asynchronous flavour, which hotdata's generation stage uses."""

    async def execute(
        self, prompt: llm.Prompt, stream: bool, response: llm.AsyncResponse, conversation: Any
    ) -> AsyncGenerator[str, None]:
        self._behaviour.log(prompt)
        if _latency():
            await asyncio.sleep(_latency())
        yield self._behaviour.answer(prompt, response)


class _Small:
    """The capabilities the embedded model declares (see ``hotdata.make.embedded``)."""

    hotdata_copies_feedback = True
    hotdata_reads_no_schema_text = True
    hotdata_writes_prose_apart = True


class FakeSmallModel(_Small, FakeModel):
    """A scripted double asked the way the embedded model is (sync flavour)."""


class FakeSmallAsyncModel(_Small, FakeAsyncModel):
    """A scripted double asked the way the embedded model is (async flavour)."""


@llm.hookimpl
def register_models(register: Any) -> None:
    for model_id in FAKE_MODEL_IDS:
        register(FakeModel(model_id), FakeAsyncModel(model_id))
    for model_id in SMALL_MODEL_IDS:
        register(FakeSmallModel(model_id), FakeSmallAsyncModel(model_id))
