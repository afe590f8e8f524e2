"""Declaring fixtures: the ``@fixture`` decorator and the ``FixtureSpec`` it yields."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._duration import TTL, parse_ttl
from .._names import validate_fixture_name
from ._errors import CatalogError
from ._quality import QualitySettings

__all__ = ["FixtureDeclaration", "FixtureSpec", "Generator", "fixture"]

Generator = Callable[..., Awaitable[Any]]
# quality= on @fixture: overrides of [tool.hotdata.quality] ({"prose_min_words": 6,
# "checks": [...]}), and/or user checks: callables (data, context) -> problems.
Quality = Mapping[str, Any] | Callable[..., Any] | Sequence[Callable[..., Any]] | None

_ATTR = "__hotdata_fixtures__"


@dataclass(frozen=True)
class FixtureDeclaration:
    """What one ``@fixture(...)`` said, before variants are expanded."""

    name: str
    schema: Any
    templates: tuple[str, ...]
    variants: tuple[Mapping[str, Any], ...] | None
    ttl: TTL
    model: str | None
    model_options: Mapping[str, Any]
    version: str | None
    quality: Quality


@dataclass(frozen=True)
class FixtureSpec:
    """One concrete fixture: a name, its generator and everything it depends on."""

    name: str
    generator: Generator
    schema: Any
    templates: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    ttl: TTL = None
    model: str | None = None
    model_options: Mapping[str, Any] = field(default_factory=dict)
    version: str | None = None
    quality: Quality = None

    @property
    def generator_name(self) -> str:
        return f"{self.generator.__module__}:{self.generator.__qualname__}"

    @property
    def schema_label(self) -> str:
        return getattr(self.schema, "__name__", repr(self.schema))


def fixture(
    name: str,
    *,
    schema: Any,
    template: str | None = None,
    templates: Iterable[str] = (),
    variants: Iterable[Mapping[str, Any]] | None = None,
    ttl: TTL = None,
    model: str | None = None,
    model_options: Mapping[str, Any] | None = None,
    version: str | None = None,
    quality: Quality = None,
) -> Callable[[Generator], Generator]:
    """Declare that an async generator function builds one fixture, or one per variant.

    ``name`` may hold ``{param}`` placeholders filled from each variant::

        @fixture("agent_snapshots/{archetype}", schema=AgentSnapshot,
                 template="agent_snapshot.j2",
                 variants=[{"archetype": "soul_deliberating", "entropy": 0.3},
                           {"archetype": "soul_in_crisis", "entropy": 0.9}])
        async def generate_rich_agent_snapshot(ctx, archetype, entropy):
            return await ctx.generate(prompt=ctx.render())

    Templates are paths relative to the configured ``templates_dir``. ``version``
    pins the code version: when given it replaces the hash of the function's source.
    ``quality`` adjusts the quality gates for this fixture: a mapping of
    ``[tool.hotdata.quality]`` keys (``{"prose_min_words": 6}``), a user check
    ``check(data, context) -> problems``, or a list of checks.
    """
    declared = tuple(([template] if template else []) + list(templates))
    try:
        parse_ttl(ttl)
        if isinstance(quality, Mapping):
            QualitySettings().merged(quality, where=f"quality= of fixture {name!r}")
    except ValueError as exc:
        raise CatalogError(f"fixture {name!r}: {exc}") from None
    decl = FixtureDeclaration(
        name=name,
        schema=schema,
        templates=declared,
        variants=None if variants is None else tuple(dict(v) for v in variants),
        ttl=ttl,
        model=model,
        model_options=dict(model_options or {}),
        version=version,
        quality=quality,
    )

    def decorate(fn: Generator) -> Generator:
        if not inspect.iscoroutinefunction(fn):
            raise CatalogError(
                f"fixture {name!r}: generator {fn.__module__}.{fn.__qualname__} must be an "
                "'async def' function"
            )
        existing: list[FixtureDeclaration] = list(getattr(fn, _ATTR, []))
        existing.append(decl)
        setattr(fn, _ATTR, existing)
        return fn

    return decorate


def expand(fn: Generator) -> list[FixtureSpec]:
    """The concrete specs a decorated generator declares (one per variant)."""
    specs = []
    for decl in getattr(fn, _ATTR, []):
        for params in decl.variants if decl.variants is not None else ({},):
            try:
                name = decl.name.format(**params)
            except (KeyError, IndexError) as exc:
                raise CatalogError(
                    f"fixture {decl.name!r} in {fn.__module__}.{fn.__qualname__}: the name uses "
                    f"placeholder {exc} that variant {dict(params)!r} does not give"
                ) from None
            validate_fixture_name(name)
            specs.append(
                FixtureSpec(
                    name=name,
                    generator=fn,
                    schema=decl.schema,
                    templates=decl.templates,
                    params=dict(params),
                    ttl=decl.ttl,
                    model=decl.model,
                    model_options=decl.model_options,
                    version=decl.version,
                    quality=decl.quality,
                )
            )
    return specs


def declared_generators(module: Any) -> list[Generator]:
    return [obj for obj in vars(module).values() if callable(obj) and hasattr(obj, _ATTR)]
