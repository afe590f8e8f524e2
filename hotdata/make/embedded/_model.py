"""``hotdata-local`` as ``llm`` models: what hotdata's generate stage talks to.

The model objects hold no native state: every request goes to the engine's worker
process (``_worker``), shared by every object ``llm`` makes of this model in the
process. The async flavour is the one hotdata uses, so that cancelling a request
(``fixture_timeout``) can stop a decode stuck in native code.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Iterator, Mapping
from typing import Any

import llm
from pydantic import Field

from ._build import reinstall_command
from ._worker import ModelWorker, WorkerCrashed, WorkerRegistry, default_workers

__all__ = ["LOCAL_MODEL_ID", "AsyncLocalModel", "LocalModel", "WorkerModel"]

LOCAL_MODEL_ID = "hotdata-local"
_ENGINE = "hotdata.make.embedded._engine:LlamaEngine"


class WorkerModel:
    """What both flavours of a worker-backed model share: the request, the reply, the worker.

    A subclass names its engine (``engine``, ``engine_arguments``); test doubles use the
    same class with an engine of their own, so they run in the same kind of process."""

    model_id = LOCAL_MODEL_ID
    engine = _ENGINE
    engine_arguments: Mapping[str, Any] = {"n_ctx": 4096}
    can_stream = False
    supports_schema = True

    def __init__(self, workers: WorkerRegistry | None = None) -> None:
        self._workers = workers or default_workers
        self._noted: set[str] = set()  # schema notes already printed: each is said once

    def worker(self) -> ModelWorker:
        fix = f"reinstall the portable build: {reinstall_command()}"
        return self._workers.get(self.engine, self.engine_arguments, fix=fix)

    @staticmethod
    def request(prompt: llm.Prompt) -> dict[str, Any]:
        schema = prompt.schema
        if schema is not None and not isinstance(schema, dict):
            import json

            schema = json.loads(str(schema))
        options = prompt.options.model_dump(exclude_none=True) if prompt.options else {}
        return {"prompt": prompt.prompt or "", "system": prompt.system, "schema": schema, "options": options}

    def reply(self, reply: Mapping[str, Any], response: Any) -> str:
        for note in reply.get("notes") or ():
            if note not in self._noted:
                self._noted.add(note)
                print(f"{self.model_id}: {note}", file=sys.stderr, flush=True)
        response.set_usage(input=reply.get("input_tokens"), output=reply.get("output_tokens"))
        response.response_json = {"finish_reason": reply.get("finish_reason")}
        return str(reply.get("text") or "")

    def answer(self, prompt: llm.Prompt, response: Any) -> str:
        try:
            reply = self.worker().call(self.request(prompt))
        except WorkerCrashed as exc:  # llm's own error type: hotdata shows its message as it is
            raise llm.errors.ModelError(str(exc)) from None
        return self.reply(reply, response)

    async def answer_async(self, prompt: llm.Prompt, response: Any) -> str:
        try:
            reply = await self.worker().acall(self.request(prompt))
        except WorkerCrashed as exc:
            raise llm.errors.ModelError(str(exc)) from None
        return self.reply(reply, response)


class _Local(WorkerModel):
    """SmolLM2-135M-Instruct with schema-constrained decoding, in a worker process."""

    hotdata_copies_feedback = True  # a 135M model pastes error text into its fields
    hotdata_reads_no_schema_text = True  # only its grammar sees the schema: describe fields in words
    hotdata_writes_prose_apart = True  # prose inside a grammar is cut mid-word or loops: write it as text

    class Options(llm.Model.Options):
        temperature: float | None = Field(default=None, ge=0, le=2, description="sampling temperature")
        seed: int | None = Field(default=None, description="sampling seed, for repeatable output")
        max_tokens: int | None = Field(default=None, ge=1, description="cap on generated tokens")
        # Free text (hotdata's ctx.write): the answer begun for the model, and how it ends.
        prefill: str | None = Field(
            default=None, description="the start of the answer, continued as free text"
        )
        sentences: int | None = Field(default=None, ge=1, description="stop after this many sentences")
        one_line: bool | None = Field(default=None, description="stop at the end of the line")
        protect: list[str] | None = Field(
            default=None, description="words exempt from the repetition penalty"
        )


class LocalModel(_Local, llm.Model):
    """The synchronous flavour (``llm -m hotdata-local``)."""

    def __init__(self) -> None:
        _Local.__init__(self)

    def execute(
        self, prompt: llm.Prompt, stream: bool, response: llm.Response, conversation: llm.Conversation | None
    ) -> Iterator[str]:
        yield self.answer(prompt, response)


class AsyncLocalModel(_Local, llm.AsyncModel):
    """The asynchronous flavour, which hotdata's generate stage uses."""

    def __init__(self) -> None:
        _Local.__init__(self)

    async def execute(
        self,
        prompt: llm.Prompt,
        stream: bool,
        response: llm.AsyncResponse,
        conversation: llm.AsyncConversation | None,
    ) -> AsyncGenerator[str, None]:
        yield await self.answer_async(prompt, response)
