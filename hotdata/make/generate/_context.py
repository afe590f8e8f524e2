"""``GenerationContext``: what a generator function receives."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from ..._provenance import Usage
from ..._schema import SchemaAdapter
from .._errors import TemplateError
from .._where import call_site
from ._ask import Asker
from ._json_answers import schema_for_model
from ._nested import asks_item_by_item, generate_nested
from ._sample import Sampler
from ._templates import TemplateSet
from ._write import generate_with_prose, prose_fields, with_context, write

__all__ = ["GenerationContext"]


class GenerationContext:
    """Renders the fixture's templates and asks the model for schema-valid, gate-passing values.

    ``ctx.params`` holds the variant parameters; ``ctx.rng`` is a ``random.Random``
    seeded by the fixture name, for parts a generator computes itself (the same
    names and numbers on every run, so a rebuild changes only what the model writes).
    ``ctx.sample`` draws realistic structure (people, companies, places, dates, weighted
    categories, bounded numbers) on that same rng, with Faker; no model is asked.
    """

    def __init__(
        self, asker: Asker, *, templates: TemplateSet, adapter: Callable[[Any], SchemaAdapter[Any]]
    ) -> None:
        fixture = asker.plan.inputs
        self.spec = fixture.spec
        self.name = fixture.name
        self.params: dict[str, Any] = dict(fixture.spec.params)
        self.rng = random.Random(fixture.name)
        self.sample = Sampler(self.rng)
        self.model = fixture.model
        self.model_options = dict(fixture.options)
        # Schemas asked of the model besides the fixture's own: inputs too.
        self.schemas_used: dict[str, str] = {}
        self.schema_copies: dict[str, Any] = {}  # name -> the JSON Schema as hashed, for the record
        self._asker = asker
        self._templates = templates
        self._adapter = adapter

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

    async def generate(
        self, prompt: str, schema: Any = None, *, system: str | None = None, context: Sequence[str] = ()
    ) -> Any:
        """Ask the model for one object of ``schema`` (default: the fixture's schema).

        The answer is accepted when it validates and passes the quality gates
        (truncated, repeated, echoed or degenerate text is refused); otherwise the
        model is asked again, up to ``retries.validation_attempts`` times.
        ``context``: material sent before the prompt (earlier answers, a transcript) that the
        answer may build on and repeat without it counting as an echo of the prompt.
        """
        where = call_site()
        prompt = with_context(prompt, context)
        self._asker.note_material(*context)
        adapter = self._adapter(schema if schema is not None else self.spec.schema)
        if schema is not None and schema is not self.spec.schema:
            self.schemas_used[adapter.name] = adapter.schema_hash()
            self.schema_copies[adapter.name] = adapter.canonical_schema()
        json_schema = adapter.json_schema()
        if json_schema and asks_item_by_item(self._asker.capabilities, json_schema):
            # a small model asked for a nested object: item by item, structure and prose apart
            return await generate_nested(self._asker, prompt, adapter, system, where=where)
        if json_schema and self._asker.capabilities.writes_prose_apart:
            fields = prose_fields(schema_for_model(json_schema))
            if fields:  # a small model writes prose as free text, and decodes the rest under the schema
                return await generate_with_prose(self._asker, prompt, adapter, fields, system, where=where)
        return await self._asker.ask(prompt, adapter, system, where=where)

    async def write(
        self,
        instruction: str,
        *,
        max_length: int,
        min_length: int = 1,
        sentences: int | None = None,
        start: str | Sequence[str] | None = None,
        keep_start: bool = True,
        phrase: bool = False,
        max_words: int | None = None,
        protect: Sequence[str] = (),
        avoid: Sequence[str] = (),
        check: Callable[[str], Sequence[str]] | None = None,
        best_of: int = 2,
        context: Sequence[str] = (),
    ) -> str:
        """Free text for one prose field, in whole sentences within ``max_length``, gated.

        ``start`` begins the answer (a list: one sentence per opener); ``phrase`` asks
        for a short phrase without a final stop; ``protect`` lists names the model may
        repeat freely; ``avoid`` lists texts it must not repeat (sibling items);
        ``check`` adds your own problems; ``context`` is material sent before the
        instruction (the conversation so far, a root cause) that the text may build on and
        repeat without it counting as an echo. Each attempt draws up to ``best_of``
        samples and keeps the first that passes; up to ``retries.validation_attempts``
        attempts. See ``hotdata.make.generate._write``.
        """
        return await write(
            self._asker,
            instruction,
            max_length=max_length,
            min_length=min_length,
            sentences=sentences,
            start=start,
            keep_start=keep_start,
            phrase=phrase,
            max_words=max_words,
            protect=protect,
            avoid=avoid,
            check=check,
            best_of=best_of,
            context=context,
            where=call_site(),
        )

    @property
    def usage(self) -> Usage:
        """What the model answers used so far cost (calls and tokens, recorded answers included)."""
        return self._asker.tally.usage
