"""Batch mode: first requests sent as provider batch jobs (half the price), collected by a later run.

``_run`` is one run's batch jobs (collect, submit, tidy); ``_queue`` is what a run's
fixtures see of them; ``_jobs`` is a job as saved in ``fixtures/.batches/``; ``_api`` is
the provider's side (OpenAI's Batch API through the ``openai`` SDK).
"""

from ._api import BatchResults, ItemResult, OpenAIBatches, RemoteBatch, batchable_model, chat_body
from ._jobs import BatchItem, BatchJob, BrokenJobFile, now_utc, read_job_file
from ._queue import BatchQueue
from ._run import BatchRun

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
