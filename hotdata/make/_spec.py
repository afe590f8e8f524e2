"""Declaring fixtures: the ``@fixture`` decorator and the ``FixtureSpec`` it yields."""

from __future__ import annotations

import enum
import inspect
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._duration import TTL, parse_ttl
from .._errors import InvalidFixtureName
from .._names import validate_fixture_name
from ._errors import CatalogError
from ._secrets import mask_secrets, secret_values
from .quality._settings import QualitySettings, user_check

__all__ = ["FixtureDeclaration", "FixtureSpec", "Generator", "fixture", "json_problem"]

Generator = Callable[..., Awaitable[Any]]
# quality= on @fixture: overrides of [tool.hotdata.quality] ({"prose_min_words": 6,
# "checks": [...]}), and/or user checks: callables (data, context) -> problems.
Quality = Mapping[str, Any] | Callable[..., Any] | Sequence[Callable[..., Any]] | None

_ATTR = "__hotdata_fixtures__"
# Seconds one fixture's generation may take at most (longer overflows the event loop's clock).
MAX_TIMEOUT = 7 * 86_400.0


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
    timeout: float | None


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
    timeout: float | None = None

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
    timeout: float | None = None,
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
    ``check(data, context) -> problems``, or a list of checks. ``timeout`` (seconds)
    bounds the fixture's generation, overriding ``fixture_timeout`` in ``[tool.hotdata]``.
    """
    declared = tuple(([template] if template else []) + list(templates))
    variants = None if variants is None else list(variants)
    for index, variant in enumerate(variants or ()):
        if not isinstance(variant, Mapping):
            raise CatalogError(
                f"fixture {name!r}: variant {index} is a {type(variant).__name__}, not a mapping; "
                "give each variant as a dict of parameters, e.g. {'archetype': 'soul_in_crisis'}"
            )
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise CatalogError(
            f"fixture {name!r}: timeout={timeout!r} must be a positive number of seconds, at most "
            f"{MAX_TIMEOUT:.0f} (a week)"
        )
    for key, value in (model_options or {}).items():
        problem = json_problem(value, f"model_options {key}")
        if problem is not None:
            raise CatalogError(f"fixture {name!r}: {problem}")
    try:
        parse_ttl(ttl)
        _check_quality(name, quality)
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
        timeout=timeout,
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


def _check_quality(name: str, quality: Quality) -> None:
    """``quality=`` of one fixture: overrides, a check or checks that can be called, else ValueError."""
    if quality is None:
        return
    if isinstance(quality, Mapping):
        QualitySettings().merged(quality, where=f"quality= of fixture {name!r}")
        return
    checks = [quality] if callable(quality) else quality
    if isinstance(checks, str | bytes) or not isinstance(checks, Sequence):
        raise ValueError(
            f"quality={quality!r} is a {type(quality).__name__}; give a dict of [tool.hotdata.quality] "
            "keys, a check(data, context) function or a list of them"
        )
    for check in checks:
        user_check(
            check, f"{getattr(check, '__qualname__', None) or repr(check)} (quality= of fixture {name!r})"
        )


def expand(fn: Generator) -> list[FixtureSpec]:
    """The concrete specs a decorated generator declares (one per variant).

    Each variant is checked here: its fixture name (``InvalidFixtureName``, naming the
    generator and the variant) and its parameters (``CatalogError``), so that a bad
    declaration stops the catalog with one line instead of failing later in doit or
    at write time.
    """
    specs = []
    generator = f"{fn.__module__}:{fn.__qualname__}"
    secrets: list[str] | None = None  # read once per generator, not once per variant (a YAML read each)
    for decl in getattr(fn, _ATTR, []):
        for params in decl.variants if decl.variants is not None else ({},):
            origin = f"from @fixture({decl.name!r}) on {generator}"
            if decl.variants is not None:
                secrets = secret_values() if secrets is None else secrets
                origin += f", variant {_short_repr(dict(params), secrets)}"
            _check_param_keys(decl.name, origin, params)
            name = _format_name(decl.name, origin, params)
            try:
                validate_fixture_name(name)
            except InvalidFixtureName as exc:
                raise InvalidFixtureName(name, exc.why, where=origin) from None
            _check_param_values(name, generator, params)
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
                    timeout=decl.timeout,
                )
            )
    return specs


def _short_repr(value: Any, secrets: list[str], limit: int = 160) -> str:
    # masked before the cut (this text goes into error messages): a cut key escapes redaction
    text = repr(mask_secrets(value, secrets))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _format_name(pattern: str, origin: str, params: Mapping[str, Any]) -> str:
    try:
        return pattern.format(**params)
    except (KeyError, IndexError) as exc:
        raise CatalogError(
            f"fixture {pattern!r} ({origin}): the name uses placeholder {exc} that the variant does not "
            "give; add it to every variant or take it out of the name"
        ) from None
    except (ValueError, AttributeError, TypeError) as exc:
        raise CatalogError(
            f"fixture {pattern!r} ({origin}): the name cannot be filled in: {exc}; write placeholders "
            "as {param} or {param:format}, and '{{' / '}}' for literal braces"
        ) from None


def _check_param_keys(pattern: str, origin: str, params: Mapping[Any, Any]) -> None:
    for key in params:
        if not isinstance(key, str):
            raise CatalogError(
                f"fixture {pattern!r} ({origin}): variant parameter {key!r} is named by a "
                f"{type(key).__name__}; parameters are keyword arguments of the generator, so name "
                "each with a str"
            )


# Variant parameters are recorded as JSON in the provenance record and hashed into
# the fingerprint, so each must survive a JSON round trip unchanged (see json_problem).
_NOT_JSON_WHY = (
    "hotdata records parameters as JSON and hashes them into the fingerprint, and turning this value "
    "into text is not stable (a set's order changes between processes, an object's repr may hold "
    "its memory address), so the fixture could read stale on every run and its record would not show "
    "what the generator got"
)


def _check_param_values(name: str, generator: str, params: Mapping[str, Any]) -> None:
    for key, value in params.items():
        problem = json_problem(value, key)
        if problem is not None:
            raise CatalogError(f"fixture {name!r} ({generator}): variant parameter {problem}")


def json_problem(value: Any, path: str) -> str | None:
    """What keeps ``value`` from being a JSON value that round-trips unchanged, or None."""
    if value is None or isinstance(value, bool | int):
        return None
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return (
            f"{path} is {value!r}, which JSON cannot hold: the record would store null and the fixture "
            "would read stale on every run; use a finite number, None, or a string such as 'inf'"
        )
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (
                f"{path} holds a lone surrogate ({value[exc.start]!r} at index {exc.start}), which "
                "UTF-8 cannot encode, so its record could not be written; fix the string"
            )
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problem = json_problem(item, f"{path}[{index}]")
            if problem is not None:
                return problem
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return (
                    f"{path} has key {key!r}, a {type(key).__name__}: JSON object keys are strings, so "
                    f"the record would show {str(key)!r} instead; use str keys"
                )
            problem = json_problem(item, f"{path}[{key!r}]")
            if problem is not None:
                return problem
        return None
    kind = type(value).__name__
    return f"{path} is a {kind}, not a JSON value: {_NOT_JSON_WHY}. Pass {_json_instead(value)} instead"


def _json_instead(value: Any) -> str:
    if isinstance(value, set | frozenset):
        return "a sorted list"
    if isinstance(value, enum.Enum):
        return "its .value"
    if callable(getattr(value, "model_dump", None)):
        return "value.model_dump(mode='json')"
    return "a str, number, list or dict of str keys built from it (str(path), date.isoformat(), ...)"


def declared_generators(module: Any) -> list[Generator]:
    return [obj for obj in vars(module).values() if callable(obj) and hasattr(obj, _ATTR)]
