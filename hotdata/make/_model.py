"""The model seam: what a generator's context asks of a model, and who answers.

``ModelClient`` is the one interface between hotdata and any model. Clients are
resolved from the model id: ids starting with ``hotdata-fake`` are the test
double in ``hotdata.testing``; every other id goes through ``llm``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._config import RetrySettings

__all__ = ["ModelClient", "ModelReply", "ModelRequest", "resolve_client"]


@dataclass(frozen=True)
class ModelRequest:
    """One prompt for one fixture."""

    model: str
    prompt: str
    fixture: str
    json_schema: Mapping[str, Any] | None = None
    system: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    attempt: int = 1


@dataclass(frozen=True)
class ModelReply:
    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None


class ModelClient(Protocol):
    """Anything that answers a ``ModelRequest``; raise ``ModelError`` on failure.

    ``supports_schema`` says whether the model takes the JSON Schema itself
    (structured output / constrained decoding); when it does not, the schema is
    written into the prompt instead.
    """

    supports_schema: bool

    async def complete(self, request: ModelRequest) -> ModelReply: ...


def resolve_client(model_id: str, retries: RetrySettings | None = None) -> ModelClient:
    """The client for ``model_id``."""
    if model_id.startswith("hotdata-fake"):
        from ..testing import FakeModelClient

        return FakeModelClient.from_model_id(model_id)
    from ._llm import LlmClient

    return LlmClient(model_id, retries)
