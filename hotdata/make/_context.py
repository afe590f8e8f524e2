"""``GenerationContext``: what a generator function receives."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._provenance import Usage
from .._schema import SchemaAdapter
from ._errors import GenerationError, TemplateError
from ._model import ModelClient, ModelReply, ModelRequest
from ._spec import FixtureSpec

if TYPE_CHECKING:  # jinja2 is imported only when something is rendered
    from ._templates import TemplateSet

__all__ = ["GenerationContext", "extract_json"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)

Gate = Callable[[], Awaitable[None]]


def extract_json(text: str) -> str:
    """The JSON inside a model answer: tolerates code fences and surrounding prose."""
    stripped = text.strip()
    if stripped[:1] in "{[":
        return stripped
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1).strip()
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        return stripped
    start = min(starts)
    end = max(text.rfind("}"), text.rfind("]"))
    return text[start : end + 1] if end > start else text[start:]


class GenerationContext:
    """Renders the fixture's templates and asks the model for schema-validated objects.

    ``ctx.params`` holds the variant parameters; ``ctx.rng`` is a ``random.Random``
    seeded by the fixture name, for parts a generator computes itself.
    """

    def __init__(
        self,
        spec: FixtureSpec,
        *,
        client: ModelClient,
        model: str,
        model_options: Mapping[str, Any],
        templates: TemplateSet,
        adapter: Callable[[Any], SchemaAdapter[Any]],
        max_attempts: int,
        before_call: Gate,
        after_call: Callable[[ModelReply], None],
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.params: dict[str, Any] = dict(spec.params)
        self.rng = random.Random(spec.name)
        self.model = model
        self.model_options = dict(model_options)
        self.usage = Usage()
        self.usage_per_attempt: list[Usage] = []
        self.attempts = 0
        # Schemas asked of the model besides the fixture's own: inputs too.
        self.schemas_used: dict[str, str] = {}
        self._client = client
        self._templates = templates
        self._adapter = adapter
        self._max_attempts = max_attempts
        self._before_call = before_call
        self._after_call = after_call

    def render(self, template: str | None = None, **variables: Any) -> str:
        """Render ``template`` (default: the fixture's first template) with params + variables."""
        if template is None:
            if not self.spec.templates:
                raise TemplateError(f"fixture {self.name} declares no template; pass one to ctx.render()")
            template = self.spec.templates[0]
        return self._templates.render(template, {**self.params, **variables, "fixture_name": self.name})

    def render_text(self, source: str, **variables: Any) -> str:
        """Render prompt text given inline (jinja2 syntax) with params + variables."""
        return self._templates.render_string(source, {**self.params, **variables, "fixture_name": self.name})

    async def generate(self, prompt: str, schema: Any = None, *, system: str | None = None) -> Any:
        """Ask the model for one object of ``schema`` (default: the fixture's schema).

        The JSON Schema goes with the request; the answer is extracted, parsed and
        validated. On a validation failure the errors are fed back and the model is
        asked again, up to the configured attempts.
        """
        adapter = self._adapter(schema if schema is not None else self.spec.schema)
        if schema is not None and schema is not self.spec.schema:
            self.schemas_used[adapter.name] = adapter.schema_hash()
        json_schema = adapter.json_schema()
        # Models that take the schema (structured output, constrained decoding) get it
        # with the request; the others read it in the prompt.
        in_prompt = json_schema is not None and not getattr(self._client, "supports_schema", False)
        schema_text = json.dumps(json_schema, indent=1) if in_prompt else None
        current = prompt
        if schema_text:
            current = f"{prompt}\n\nAnswer with one JSON value matching this JSON Schema:\n{schema_text}"
        errors: list[str] = []
        for attempt in range(1, self._max_attempts + 1):
            await self._before_call()
            self.attempts += 1
            request = ModelRequest(
                model=self.model,
                prompt=current,
                fixture=self.name,
                json_schema=json_schema,
                system=system,
                options=self.model_options,
                attempt=attempt,
            )
            reply = await self._client.complete(request)
            self._count(reply)
            self._after_call(reply)
            raw = extract_json(reply.text).encode("utf-8")
            errors = adapter.errors_for(raw)
            if not errors:
                return adapter.validate_json(raw)
            current = (
                f"{prompt}\n\nYour previous answer did not validate:\n"
                + "\n".join(f"- {e}" for e in errors[:20])
                + (
                    f"\n\nAnswer again with one JSON value matching this JSON Schema:\n{schema_text}"
                    if schema_text
                    else ""
                )
            )
        raise GenerationError(
            f"fixture {self.name}: the model's answer did not validate against {adapter.name} after "
            f"{self._max_attempts} attempt(s); last errors: {'; '.join(errors[:5])}. Tighten the template "
            "or the schema, or raise retries.validation_attempts in [tool.hotdata]"
        )

    def _count(self, reply: ModelReply) -> None:
        self.usage_per_attempt.append(
            Usage(calls=1, input_tokens=reply.input_tokens, output_tokens=reply.output_tokens)
        )
        usage = self.usage
        usage.calls += 1
        if reply.input_tokens is not None:
            usage.input_tokens = (usage.input_tokens or 0) + reply.input_tokens
        if reply.output_tokens is not None:
            usage.output_tokens = (usage.output_tokens or 0) + reply.output_tokens
