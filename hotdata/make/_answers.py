"""The answer store: every model request and its answer, recorded once and replayed.

A rebuild whose requests were all asked before is answered from the store: zero
model calls, identical data. So a change to the code around an answer (rounding
a number, renaming a computed field) costs nothing and churns nothing, and a
teammate's clone replays the same answers (the store is committed, under
``fixtures/.answers/``).

An answer is keyed on the request alone: the model id, the prompt and system
prompt, the hash of the JSON Schema asked with, the options (seed and temperature
included), the attempt index and the generator's run. Never on headers or keys:
option values that are secrets are left out of the key and the file, and known
secret values are redacted from everything stored.

Modes (``replay`` in ``[tool.hotdata]``, ``HOTDATA_REPLAY``, ``doit fixtures replay=...``):
``auto`` replays what is recorded and calls on a miss; ``only`` fails on a miss
naming what differed from the closest recorded request (for CI and ``doit
verify``); ``off`` always calls, recording the new answers over the old.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ._model import ModelReply, ModelRequest
from ._secrets import SECRET_MARK, mask_secrets, redact, secret_values

__all__ = ["ANSWERS_DIR", "AnswerStore", "ReplayMode", "request_key"]

ANSWERS_DIR = ".answers"
ReplayMode = Literal["auto", "only", "off"]


def _public_options(options: Mapping[str, Any], secrets: list[str]) -> dict[str, Any]:
    # credentials are never part of a key or a file: masked by name, and by value
    return {k: v for k, v in mask_secrets(dict(options), secrets).items() if v != SECRET_MARK}


def _schema_hash(schema: Mapping[str, Any] | None) -> str | None:
    if schema is None:
        return None
    return "sha256:" + hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()


def _identity(request: ModelRequest, run: int, secrets: list[str]) -> dict[str, Any]:
    return {
        "model": request.model,
        "prompt": request.prompt,
        "system": request.system,
        "schema": _schema_hash(request.json_schema),
        "options": _public_options(request.options, secrets),
        "attempt": request.attempt,
        "run": run,
    }


def request_key(request: ModelRequest, run: int = 0, secrets: list[str] | None = None) -> str:
    """The content address of a request: sha256 of its identity as canonical JSON.

    ``secrets``: the secret values to mask (default: read llm's configuration now)."""
    identity = _identity(request, run, secret_values() if secrets is None else secrets)
    text = json.dumps(identity, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredAnswer:
    key: str
    request: dict[str, Any]
    fixture: str
    reply: ModelReply


class AnswerStore:
    """``fixtures/.answers/<2 hex>/<sha256>.json``; ``write`` puts bytes at a path atomically."""

    def __init__(self, directory: Path, write: Callable[[Path, bytes], None]) -> None:
        self.directory = directory
        self._write = write
        self._secrets: list[str] | None = None

    @property
    def secrets(self) -> list[str]:
        """The secret values masked in keys and files, read once per store (once per run)."""
        if self._secrets is None:
            self._secrets = secret_values()
        return self._secrets

    def key(self, request: ModelRequest, run: int = 0) -> str:
        """``request_key`` with this store's secrets."""
        return request_key(request, run, self.secrets)

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> StoredAnswer | None:
        try:
            doc = json.loads(self.path(key).read_bytes())
            answer = doc["answer"]
            reply = ModelReply(
                text=str(answer["text"]),
                input_tokens=answer.get("input_tokens"),
                output_tokens=answer.get("output_tokens"),
                finish_reason=answer.get("finish_reason"),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, or damaged: asked again, and recorded afresh
        return StoredAnswer(key, doc.get("request", {}), str(doc.get("fixture", "")), reply)

    def put(self, key: str, request: ModelRequest, reply: ModelReply, fixture: str, run: int) -> None:
        identity = _identity(request, run, self.secrets)
        doc = {
            "request": identity,
            "fixture": fixture,
            "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "answer": {
                "text": reply.text,
                "finish_reason": reply.finish_reason,
                "input_tokens": reply.input_tokens,
                "output_tokens": reply.output_tokens,
            },
        }
        text = json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        self._write(self.path(key), redact(text, self.secrets).encode("utf-8"))

    def keys(self) -> set[str]:
        if not self.directory.is_dir():
            return set()
        return {p.stem for p in self.directory.glob("??/*.json")}

    def entries(self) -> Iterator[StoredAnswer]:
        for key in sorted(self.keys()):
            found = self.get(key)
            if found is not None:
                yield found

    def remove(self, keys: set[str]) -> int:
        removed = 0
        for key in keys:
            try:
                os.unlink(self.path(key))
                removed += 1
            except FileNotFoundError:
                continue
        for shard in self.directory.glob("??"):
            if shard.is_dir() and not any(shard.iterdir()):
                shard.rmdir()
        return removed

    def closest(self, fixture: str, request: ModelRequest, run: int) -> str:
        """What differs between ``request`` and the closest recorded request of ``fixture``."""
        wanted = _identity(request, run, self.secrets)
        best: tuple[int, str] | None = None
        for entry in self.entries():
            if entry.fixture != fixture:
                continue
            diffs = [k for k in wanted if entry.request.get(k) != wanted[k]]
            if best is None or len(diffs) < best[0]:
                best = (len(diffs), _describe(diffs, entry.request, wanted, self.secrets))
        if best is None:
            return f"nothing is recorded for fixture {fixture}"
        return best[1]


def _describe(
    diffs: list[str], recorded: Mapping[str, Any], wanted: Mapping[str, Any], secrets: list[str]
) -> str:
    if not diffs:
        return "the closest recorded request is identical (the store file may be damaged)"
    field = diffs[0]
    if field == "prompt":
        # redacted before the excerpt is cut: a cut can leave part of a key that redaction misses
        old = redact(str(recorded.get("prompt", "")), secrets)
        new = redact(str(wanted.get("prompt", "")), secrets)
        i = next(
            (n for n, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new))
        )
        return f"the prompt differs from the recorded one at {old[max(0, i - 20) : i + 30]!r} -> {new[max(0, i - 20) : i + 30]!r}"
    return redact(
        f"the {field} differs from the recorded request ({recorded.get(field)!r} -> {wanted.get(field)!r})",
        secrets,
    )
