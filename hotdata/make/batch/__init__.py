"""Batch mode: first requests sent as provider batch jobs (half the price), collected by a later run.

``_run`` is one run's batch jobs (collect, submit, tidy); ``_queue`` is what a run's
fixtures see of them; ``_jobs`` is a job as saved in ``fixtures/.batches/``; ``_api`` is
the provider's side (OpenAI's Batch API through the ``openai`` SDK).
"""

from typing import TYPE_CHECKING

from ..._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._api import BatchResults, ItemResult, OpenAIBatches, RemoteBatch, batchable_model, chat_body
    from ._jobs import BatchItem, BatchJob, BrokenJobFile, now_utc, read_job_file
    from ._queue import BatchQueue
    from ._run import BatchRun

# Each public name and its submodule, imported on first use.
_LAZY = {
    "BatchResults": "_api",
    "ItemResult": "_api",
    "OpenAIBatches": "_api",
    "RemoteBatch": "_api",
    "batchable_model": "_api",
    "chat_body": "_api",
    "BatchItem": "_jobs",
    "BatchJob": "_jobs",
    "BrokenJobFile": "_jobs",
    "now_utc": "_jobs",
    "read_job_file": "_jobs",
    "BatchQueue": "_queue",
    "BatchRun": "_run",
}

__all__ = [
    "BatchItem",
    "BatchJob",
    "BatchQueue",
    "BatchResults",
    "BatchRun",
    "BrokenJobFile",
    "ItemResult",
    "OpenAIBatches",
    "RemoteBatch",
    "batchable_model",
    "chat_body",
    "now_utc",
    "read_job_file",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
