"""Test doubles for hotdata and for users' own generators.

* ``FakeModelClient`` — an in-process deterministic fake at the model seam
  (model ids ``hotdata-fake``, ``hotdata-fake:fail``, ``hotdata-fake:invalid-first``).
* ``fake_from_schema`` — deterministic schema-valid JSON from a JSON Schema.
"""

from ._fake_model import FakeModelClient
from ._faker import fake_from_schema

__all__ = ["FakeModelClient", "fake_from_schema"]
