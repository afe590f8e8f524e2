"""The model seam: what a generator's context asks of a model, and what comes back.

Every model — the embedded default, any provider, the test doubles — is an
``llm`` model, registered through ``llm``'s ``register_models`` plugin hook, and
reached through one client (``hotdata.make.models.open_model``). To add a backend,
write an ``llm`` plugin; nothing in hotdata needs to change. ``ModelClient`` is
the small interface the generate stage talks to: ``complete`` and the model's
``ModelCapabilities``, so unit tests can hand it any object that has both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ModelCapabilities", "ModelClient", "ModelReply", "ModelRequest"]


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


@dataclass(frozen=True)
class ModelCapabilities:
    """What a model does with a request, so each model is asked the way it works best."""

    # it takes the JSON Schema itself (structured output, constrained decoding); when it does
    # not, the schema is written into the prompt
    supports_schema: bool = False
    # it pastes re-ask feedback into its answers: it is resampled instead of told what was wrong
    copies_feedback: bool = False
    # it decodes under the schema but never reads its descriptions: they are put in the prompt
    reads_no_schema_text: bool = False
    # its prose fields are asked for as free text, apart from the structure (``ctx.write``)
    writes_prose_apart: bool = False
    # the options it accepts (None: not known, so any option is sent)
    option_names: frozenset[str] | None = None


class ModelClient(Protocol):
    """Anything that answers a ``ModelRequest``; raises ``ModelError`` on failure."""

    @property
    def capabilities(self) -> ModelCapabilities: ...

    async def complete(self, request: ModelRequest) -> ModelReply: ...
