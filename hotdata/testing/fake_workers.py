"""Worker-process test doubles of the embedded model, as an ``llm`` plugin.

They run in the embedded model's own kind of worker process
(``hotdata.make.embedded.WorkerModel``) with a misbehaving engine
(``hotdata.testing._engines.MisbehavingEngine``): a prompt holding ``[crash SIGILL]``
kills the worker with that signal, ``[abort]`` aborts it, ``[block]`` blocks it in C.
A project turns them on in pyproject.toml::

    [tool.hotdata]
    llm_plugins = ["hotdata.testing.fake_workers"]

Models: ``hotdata-fake-worker`` (answers like ``hotdata-fake``) and
``hotdata-fake-worker:dies-at-start`` (its worker dies of SIGILL while warming up).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any

import llm
from pydantic import ConfigDict

from ..make.embedded import WorkerModel

__all__ = ["FAKE_WORKER_IDS", "register_models"]

FAKE_WORKER_IDS = ("hotdata-fake-worker", "hotdata-fake-worker:dies-at-start")


class _FakeWorker(WorkerModel):
    engine = "hotdata.testing._engines:MisbehavingEngine"

    class Options(llm.Model.Options):
        model_config = ConfigDict(extra="allow")  # a double accepts whatever a project configures

    def __init__(self, model_id: str) -> None:
        super().__init__()
        self.model_id = model_id
        dies = "SIGILL" if model_id.endswith(":dies-at-start") else None
        self.engine_arguments = {"model": model_id, "die_at_start": dies}


class FakeWorkerModel(_FakeWorker, llm.Model):
    def execute(
        self, prompt: llm.Prompt, stream: bool, response: llm.Response, conversation: Any
    ) -> Iterator[str]:
        yield self.answer(prompt, response)


class FakeAsyncWorkerModel(_FakeWorker, llm.AsyncModel):
    async def execute(
        self, prompt: llm.Prompt, stream: bool, response: llm.AsyncResponse, conversation: Any
    ) -> AsyncGenerator[str, None]:
        yield await self.answer_async(prompt, response)


@llm.hookimpl
def register_models(register: Any) -> None:
    for model_id in FAKE_WORKER_IDS:
        register(FakeWorkerModel(model_id), FakeAsyncWorkerModel(model_id))
