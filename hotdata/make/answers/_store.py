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
secret values are blanked in everything stored. An answer that held a secret is
stored blanked, marked, and with the judgement it got when it was asked, so its
replay takes the same path as the build that paid for it.

Every file is untrusted (committed, merged, hand-edited): a damaged one is named
with the way out, never taken for a miss and silently bought again. Each record
carries the digest of every answer it used, so an answer changed since is told
apart from a change of code. A build under review writes its answers beside the
committed ones as ``<key>.json.new``: accepting the fixture moves them in, rejecting
it drops them, and the committed fixtures keep theirs.

Modes (``replay`` in ``[tool.hotdata]``, ``HOTDATA_REPLAY``, ``doit fixtures replay=...``):
``auto`` replays what is recorded and calls on a miss; ``only`` fails on a miss
naming what differed from the closest recorded request (for CI and ``doit
verify``); ``off`` always calls, recording the new answers over the old.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..._store import STAGED_SUFFIX
from .._errors import AnswerError, DamagedAnswer
from .._secrets import public_options, redact, secret_values
from ..models._seam import ModelReply, ModelRequest
from ._index import AnswerIndex

__all__ = [
    "ANSWERS_DIR",
    "AnswerFile",
    "AnswerStore",
    "StoredAnswer",
    "answer_digest",
    "request_key",
]

ANSWERS_DIR = ".answers"
# What git leaves in a file both sides of a merge changed.
_CONFLICT = re.compile(rb"^(<{7}|={7}|>{7})(\s|$)", re.MULTILINE)


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
        "options": public_options(request.options, secrets),  # credentials: never in a key or file
        "attempt": request.attempt,
        "run": run,
    }


def request_key(request: ModelRequest, run: int = 0, secrets: list[str] | None = None) -> str:
    """The content address of a request: sha256 of its identity as canonical JSON.

    ``secrets``: the secret values to mask (default: read llm's configuration now)."""
    identity = _identity(request, run, secret_values() if secrets is None else secrets)
    text = json.dumps(identity, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def answer_digest(text: str, finish_reason: str | None) -> str:
    """What a record keeps of each answer it used: what replaying it gives (text and finish reason)."""
    payload = json.dumps({"text": text, "finish_reason": finish_reason}, sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _blank(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, "***")
    return text


@dataclass(frozen=True)
class StoredAnswer:
    """One recorded answer as read from its file."""

    key: str
    path: Path
    request: dict[str, Any]
    fixture: str
    reply: ModelReply
    # an answer that held a secret is stored blanked; ``refused`` is the judgement it got when asked
    redacted: bool = False
    refused: tuple[str, ...] | None = None

    @property
    def digest(self) -> str:
        return answer_digest(self.reply.text, self.reply.finish_reason)

    @property
    def staged(self) -> bool:
        return self.path.name.endswith(STAGED_SUFFIX)


@dataclass(frozen=True)
class AnswerFile:
    """A file of the store, by key; ``staged``: a build under review wrote it (``<key>.json.new``)."""

    key: str
    path: Path
    staged: bool


def _optional(answer: Mapping[str, Any], field: str, kind: type) -> str | None:
    value = answer.get(field)
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return None
    wanted = "a whole number" if kind is int else "a string"
    return f"answer.{field} is {_kind(value)}, not {wanted}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _problem(doc: Any) -> str | None:
    """Why a parsed answer file is not an answer, or None."""
    if not isinstance(doc, dict):
        return f"it holds {_kind(doc)}, not an object"
    answer = doc.get("answer")
    if not isinstance(answer, dict):
        return "it has no answer object" if answer is None else f"answer is {_kind(answer)}, not an object"
    if not isinstance(answer.get("text"), str):
        return f"answer.text is {_kind(answer.get('text'))}, not a string"
    for field, kind in (("finish_reason", str), ("input_tokens", int), ("output_tokens", int)):
        if (why := _optional(answer, field, kind)) is not None:
            return why
    refused = answer.get("refused")
    if refused is not None and not (isinstance(refused, list) and all(isinstance(r, str) for r in refused)):
        return "answer.refused is not a list of strings"
    if not isinstance(doc.get("request", {}), dict) or not isinstance(doc.get("fixture", ""), str):
        return "its request or fixture field has the wrong type"
    return None


class AnswerStore:
    """``fixtures/.answers/<2 hex>/<sha256>.json``; ``write`` puts bytes at a path atomically.

    Args:
        directory: the store, ``fixtures/.answers``.
        write: writes bytes at a path atomically (the Writer's).
        root: the project root: paths in messages are shown relative to it.
        staging: a build under review: answers are written as ``<key>.json.new`` and read from
            there first, so the committed fixtures keep the answers they were built from.
        state_dir: local state (``.hotdata``), where the index of the store is kept between runs.
    """

    def __init__(
        self,
        directory: Path,
        write: Callable[[Path, bytes], None],
        *,
        root: Path | None = None,
        staging: bool = False,
        state_dir: Path | None = None,
    ) -> None:
        self.directory = directory
        self._write = write
        self.root = root
        self.staging = staging
        self.state_dir = state_dir
        self._secrets: list[str] | None = None
        self._written: dict[str, str] = {}  # key -> digest of the answers this process recorded
        self._guard = threading.Lock()
        self._probed = False
        self._committed_only = False  # staged answers only where a record says it used them
        self.index = AnswerIndex(
            directory, None if state_dir is None else state_dir / "answers-index.json", self._fixture_in
        )

    def committed(self) -> AnswerStore:
        """The same store read the way the committed fixtures were built (``doit verify``)."""
        view = AnswerStore(self.directory, self._write, root=self.root, state_dir=self.state_dir)
        view._secrets, view.index, view._committed_only = self._secrets, self.index, True
        return view

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

    def staged_path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json{STAGED_SUFFIX}"

    def shown(self, path: Path) -> str:
        """``path`` as a message shows it: relative to the project when inside it."""
        if self.root is not None:
            with contextlib.suppress(ValueError):
                return path.relative_to(self.root).as_posix()
        return str(path)

    # -- reading ------------------------------------------------------------------

    def read(self, key: str, expected: Collection[str] = ()) -> StoredAnswer | None:
        """The recorded answer to ``key``, or None when none is recorded.

        The committed file is read first (the staged one first under review); with
        ``expected`` digests, the first file holding one of them wins (a staged answer is
        used by the ``committed`` view only then). Raises
        ``DamagedAnswer`` for a file that is not an answer and ``AnswerError`` for a
        path in the way: never a silent miss that would be bought again.
        """
        paths = (self.path(key), self.staged_path(key))
        found: StoredAnswer | None = None
        for path in reversed(paths) if self.staging else paths:
            answer = self._read_file(key, path)
            if answer is None:
                continue
            matches = not expected or answer.digest in expected
            if answer.staged and self._committed_only and not (expected and matches):
                continue  # awaiting review: no committed record used it
            if matches:
                return answer
            found = found or answer
        return found

    def under_another_schema(
        self, request: ModelRequest, run: int, built_from: Mapping[str, Collection[str]]
    ) -> tuple[str, StoredAnswer] | None:
        """The answer a record was built from (``built_from``: key -> digests) to ``request`` as it
        was asked under another JSON Schema: the same model, prompt, system, options, attempt
        and run. A record kept through a schema change that did not matter was built from such
        answers; its key and the answer, or None."""
        secrets = self.secrets
        wanted = _identity(request, run, secrets)
        wanted["prompt"] = redact(request.prompt, secrets)
        wanted["system"] = None if request.system is None else redact(request.system, secrets)
        del wanted["schema"]
        for key in sorted(built_from):
            answer = self.get(key)
            if answer is None or answer.digest not in built_from[key]:
                continue
            if {k: v for k, v in answer.request.items() if k != "schema"} == wanted:
                return key, answer
        return None

    def get(self, key: str) -> StoredAnswer | None:
        """``read``, for callers that only ask whether an answer is there (a damaged one is not)."""
        try:
            return self.read(key)
        except AnswerError:
            return None

    def _read_file(self, key: str, path: Path) -> StoredAnswer | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            self._check_directories(path)
            raise AnswerError(f"cannot read {self.shown(path)}: a part of its path is a file") from None
        except IsADirectoryError:
            raise AnswerError(
                f"{self.shown(path)} is a directory, not a recorded answer; remove it "
                "(the model is asked again on the next build)"
            ) from None
        except OSError as exc:
            raise AnswerError(
                f"cannot read the recorded answer {self.shown(path)} ({exc.strerror})"
            ) from None
        return self.parse(key, path, raw)

    def parse(self, key: str, path: Path, raw: bytes) -> StoredAnswer:
        """The answer in ``raw`` (the bytes of ``path``), or ``DamagedAnswer`` saying what is wrong."""
        shown = self.shown(path)
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            if _CONFLICT.search(raw):
                raise DamagedAnswer(
                    f"the recorded answer {shown} holds merge-conflict markers; keep one side "
                    f"(`git checkout --theirs -- {shown}` or `--ours`), or delete it to ask the model "
                    "again (a paid call)"
                ) from None
            if not raw.strip():
                why = "the file is empty"
            elif isinstance(exc, json.JSONDecodeError):
                why = f"not valid JSON: {exc.msg} at line {exc.lineno}; truncated or hand-edited"
            else:
                why = "not valid JSON"
            raise self._damaged(shown, why) from None
        problem = _problem(doc)
        if problem is not None:
            raise self._damaged(shown, problem)
        answer = doc["answer"]
        reply = ModelReply(
            text=answer["text"],
            input_tokens=answer.get("input_tokens"),
            output_tokens=answer.get("output_tokens"),
            finish_reason=answer.get("finish_reason"),
        )
        refused = answer.get("refused")
        return StoredAnswer(
            key,
            path,
            doc.get("request", {}),
            doc.get("fixture", ""),
            reply,
            redacted=answer.get("redacted") is True,
            refused=None if refused is None else tuple(refused),
        )

    @staticmethod
    def _damaged(shown: str, why: str) -> DamagedAnswer:
        return DamagedAnswer(
            f"the recorded answer {shown} is damaged ({why}); restore it with `git checkout -- {shown}`, "
            "or delete it to ask the model again (a paid call)"
        )

    def _fixture_in(self, path: Path) -> str | None:
        """The fixture an answer file was recorded for (for the index); None when unreadable."""
        try:
            return self.parse(path.name.split(".", 1)[0], path, path.read_bytes()).fixture
        except (OSError, AnswerError):
            return None

    def recorded_this_run(self, key: str) -> bool:
        """This process recorded ``key``: it is the answer this run paid for, whatever a record says."""
        with self._guard:
            return key in self._written

    # -- writing ------------------------------------------------------------------

    def _check_directories(self, path: Path) -> None:
        for directory in (self.directory, path.parent):
            if directory.exists() and not directory.is_dir():
                raise AnswerError(
                    f"{self.shown(directory)} is a file, not a directory, so no answer can be recorded "
                    "or replayed; move it away (nothing was asked)"
                )

    def check_writable(self, key: str) -> None:
        """Fail now, before the model is paid, when the answer to ``key`` could not be recorded."""
        path = self.staged_path(key) if self.staging else self.path(key)
        self._check_directories(path)
        if path.is_dir():
            raise AnswerError(
                f"{self.shown(path)} is a directory, so the model's answer could not be recorded there; "
                "remove it (nothing was asked)"
            )
        with self._guard:
            if self._probed:
                return
            # the store itself, or where it will be made: nothing is created before an answer is
            where = next(d for d in (self.directory, *self.directory.parents) if d.is_dir())
            try:
                fd, probe = tempfile.mkstemp(prefix=".write-probe.", suffix=".tmp", dir=where)
                os.close(fd)
                os.unlink(probe)
            except OSError as exc:
                raise AnswerError(
                    f"cannot write in {self.shown(where)} ({exc.strerror}), so no answer could be "
                    "recorded; make it writable (nothing was asked)"
                ) from None
            self._probed = True

    def put(
        self,
        key: str,
        request: ModelRequest,
        reply: ModelReply,
        fixture: str,
        run: int,
        refused: list[str] | None = None,
    ) -> StoredAnswer:
        """Record ``reply`` (staged under review); ``refused``: the judgement of an answer that held a
        secret, kept so that its blanked replay is judged the same way."""
        secrets = self.secrets
        identity = _identity(request, run, secrets)
        identity["prompt"] = redact(request.prompt, secrets)
        identity["system"] = None if request.system is None else redact(request.system, secrets)
        text = _blank(reply.text, secrets)
        answer: dict[str, Any] = {
            "text": text,
            "finish_reason": reply.finish_reason,
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens,
        }
        if text != reply.text:
            answer["redacted"] = True
            if refused is not None:
                answer["refused"] = refused
        doc = {
            "request": identity,
            "fixture": redact(fixture, secrets),
            "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "answer": answer,
        }
        payload = (json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
        path = self.staged_path(key) if self.staging else self.path(key)
        self._write(path, payload)
        stored = self.parse(key, path, payload)
        with self._guard:
            self._written[key] = stored.digest
        self.index.note(path, stored.fixture)
        return stored

    def promote(self, digests: Mapping[str, str]) -> int:
        """Move the staged answers a committed record was built from into the store (accept)."""
        moved = 0
        for key, digest in digests.items():
            staged = self.staged_path(key)
            try:
                answer = self.parse(key, staged, staged.read_bytes())
            except (OSError, AnswerError):
                continue  # none staged (or unreadable): the committed answer is the one used
            if answer.digest == digest:
                os.replace(staged, self.path(key))
                moved += 1
        return moved

    # -- listing ------------------------------------------------------------------

    def files(self) -> Iterator[AnswerFile]:
        """Every answer file, committed and staged, without reading one."""
        if not self.directory.is_dir():
            return
        with os.scandir(self.directory) as shards:
            for shard in sorted(shards, key=lambda e: e.name):
                if len(shard.name) != 2 or not shard.is_dir():
                    continue
                with os.scandir(shard.path) as entries:
                    for entry in entries:
                        name = entry.name
                        if name.endswith(".json" + STAGED_SUFFIX):
                            yield AnswerFile(name[: -len(".json" + STAGED_SUFFIX)], Path(entry.path), True)
                        elif name.endswith(".json") and not name.startswith("."):
                            yield AnswerFile(name[: -len(".json")], Path(entry.path), False)

    def remove(self, paths: Iterable[Path]) -> int:
        removed = 0
        for path in paths:
            try:
                os.unlink(path)
                removed += 1
            except FileNotFoundError:
                continue
        if self.directory.is_dir():
            for shard in self.directory.glob("??"):
                if shard.is_dir() and not any(shard.iterdir()):
                    shard.rmdir()
        return removed

    def closest(self, fixture: str, request: ModelRequest, run: int) -> str:
        """What differs between ``request`` and the closest recorded request of ``fixture``.

        Only that fixture's answers are read: the index knows which they are."""
        wanted = _identity(request, run, self.secrets)
        best: tuple[int, str] | None = None
        for path in self.index.files_of(fixture):
            try:
                entry = self.parse(path.name.split(".", 1)[0], path, path.read_bytes())
            except (OSError, AnswerError):
                continue
            diffs = [k for k in wanted if entry.request.get(k) != wanted[k]]
            if best is None or len(diffs) < best[0]:
                best = (len(diffs), _describe(diffs, entry.request, wanted, self.secrets))
        if best is None:
            return f"nothing is recorded for fixture {fixture}"
        return redact(best[1], self.secrets)


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
