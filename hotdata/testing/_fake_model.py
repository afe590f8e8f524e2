"""``FakeModelClient``: an in-process, deterministic test double at the model seam.

Model ids select its behaviour, so a ``doit`` subprocess can be pointed at it:

* ``hotdata-fake`` — answers schema-valid JSON derived from the request's schema;
* ``hotdata-fake:fail`` — every call fails with ``ModelError`` (a model that must not be called);
* ``hotdata-fake:invalid-first`` — the first answer of each fixture fails validation.

When ``HOTDATA_FAKE_LOG`` names a file, every call appends one JSON line
(fixture, model, attempt) to it, so tests can count calls across processes;
``HOTDATA_FAKE_LATENCY`` (seconds) delays every answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..make._errors import ModelError
from ..make._model import ModelReply, ModelRequest
from ._faker import fake_from_schema

__all__ = ["FakeModelClient"]


@dataclass
class FakeModelClient:
    """A deterministic fake model (a test double, never a real model)."""

    mode: str = "ok"
    log: Path | None = None
    seed: str = "0"
    latency: float = 0.0
    supports_schema: bool = True

    @classmethod
    def from_model_id(cls, model_id: str) -> FakeModelClient:
        mode = model_id.split(":", 1)[1] if ":" in model_id else "ok"
        if mode not in ("ok", "fail", "invalid-first"):
            raise ModelError(
                f"unknown fake model mode {mode!r} in {model_id!r}; use ok, fail or invalid-first"
            )
        log = os.environ.get("HOTDATA_FAKE_LOG")
        latency = float(os.environ.get("HOTDATA_FAKE_LATENCY") or 0)
        return cls(mode=mode, log=Path(log) if log else None, latency=latency)

    async def complete(self, request: ModelRequest) -> ModelReply:
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as fh:
                fh.write(
                    json.dumps(
                        {"fixture": request.fixture, "model": request.model, "attempt": request.attempt}
                    )
                    + "\n"
                )
        if self.mode == "fail":
            raise ModelError(
                f"the fake model {request.model!r} refuses every call (fixture {request.fixture})"
            )
        if self.mode == "invalid-first" and request.attempt == 1:
            return ModelReply(text='{"not": "what the schema wants"}', input_tokens=10, output_tokens=5)
        seed = hashlib.sha256(f"{self.seed}|{request.fixture}|{request.prompt}".encode()).hexdigest()
        value = fake_from_schema(request.json_schema or {"type": "string"}, seed)
        text = json.dumps(value, ensure_ascii=False)
        return ModelReply(
            text=text, input_tokens=len(request.prompt) // 4 + 1, output_tokens=len(text) // 4 + 1
        )
