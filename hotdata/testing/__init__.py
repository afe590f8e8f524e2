"""Test doubles for hotdata and for users' own generators.

* ``FakeModelClient`` — an in-process deterministic fake at the model seam
  (model ids ``hotdata-fake``, ``hotdata-fake:fail``, ``hotdata-fake:invalid-first``).
* ``FakeOpenAIServer`` — an OpenAI-compatible HTTP server on 127.0.0.1 with fault
  injection, used through ``llm``'s OpenAI plugin (``write_llm_config``).
* ``fake_from_schema`` — deterministic schema-valid JSON from a JSON Schema.
"""

from ._fake_model import FakeModelClient
from ._faker import fake_from_schema
from ._server import FAULT_KINDS, FakeOpenAIServer

__all__ = ["FAULT_KINDS", "FakeModelClient", "FakeOpenAIServer", "fake_from_schema"]
