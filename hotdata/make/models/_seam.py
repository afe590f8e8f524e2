"""The model seam: what a generator's context asks of a model, and what comes back.

Every model — the embedded default, any provider, the test doubles — is an
``llm`` model, registered through ``llm``'s ``register_models`` plugin hook, and
reached through one client (``hotdata.make.models.open_model``). To add a backend,
write an ``llm`` plugin; nothing in hotdata needs to change. ``ModelClient`` is
the small interface the generation stage talks to, so unit tests can hand it
any object with a ``complete`` method.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ModelClient", "ModelReply", "ModelRequest"]


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
    """A model's answer; ``finish_reason`` is ``"length"`` when it stopped at its token limit."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None


class ModelClient(Protocol):
    """Anything that answers a ``ModelRequest``; raises ``ModelError`` on failure.

    ``supports_schema`` says whether the model takes the JSON Schema itself
    (structured output / constrained decoding); when it does not, the schema is
    written into the prompt instead. Optional attributes: ``copies_feedback`` (the
    model pastes re-ask feedback into its answers, so it is resampled instead of
    being told what was wrong), ``reads_no_schema_text`` (it decodes under the schema
    but never reads its descriptions, so they are put in the prompt),
    ``writes_prose_apart`` (its prose fields are asked for as free text, apart from
    the structure) and ``option_names`` (the options it accepts).
    """

    supports_schema: bool

    async def complete(self, request: ModelRequest) -> ModelReply: ...
