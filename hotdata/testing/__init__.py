"""Test doubles for hotdata and for users' own generators.

* ``hotdata.testing.fake_models`` — deterministic fake models, an ``llm`` plugin a
  project turns on with ``llm_plugins = ["hotdata.testing.fake_models"]`` in
  ``[tool.hotdata]`` (model ids ``hotdata-fake``, ``hotdata-fake:fail``,
  ``hotdata-fake:invalid-first``). Imported only by name: it needs ``llm``.
* ``FakeOpenAIServer`` — an OpenAI-compatible HTTP server on 127.0.0.1 with fault
  injection, used through ``llm``'s OpenAI plugin (``write_llm_config``).
* ``fake_from_schema`` — deterministic schema-valid JSON from a JSON Schema.
* ``write_fixture`` — a value written as a build writes it (data file and record).
"""

from ._faker import fake_from_schema
from ._server import BATCH_ITEM_FAULTS, FAULT_KINDS, BatchExecution, FakeOpenAIServer
from ._write import write_fixture

__all__ = [
    "BATCH_ITEM_FAULTS",
    "FAULT_KINDS",
    "BatchExecution",
    "FakeOpenAIServer",
    "fake_from_schema",
    "write_fixture",
]
