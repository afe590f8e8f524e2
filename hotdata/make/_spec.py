"""Declaring fixtures: the ``@fixture`` decorator and the ``FixtureSpec`` it yields."""

from __future__ import annotations

import enum
import inspect
import math
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._duration import TTL, parse_ttl
from .._errors import InvalidFixtureName
from .._names import validate_fixture_name
from ._errors import CatalogError
from ._secrets import mask_secrets, secret_values
from .quality._settings import QualitySettings, user_check

__all__ = [
    "FixtureDeclaration",
    "FixtureSpec",
    "Generator",
    "declared_catalog_inputs",
    "fixture",
    "json_problem",
]

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
    system: str | None = None
    judge: tuple[str, ...] = ()
    catalog_inputs: tuple[str, ...] = ()  # data files the variants are read from (project-relative)


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
    system: str | None = None  # sent first in every request of the fixture
    judge: tuple[str, ...] = ()  # yes/no questions a judge model answers about the whole fixture

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
    system: str | None = None,
    judge: Sequence[str] | None = None,
    catalog_inputs: Iterable[str | os.PathLike[str]] = (),
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
    ``system`` is a system prompt sent first with every model request of the fixture (a
    call's own ``system=`` follows it after a blank line); it is fingerprinted when given.
    ``judge`` is a list of yes/no questions about the whole fixture ("Does each review's
    sentiment match its rating?"), asked after the quality gates pass, besides those of
    ``[tool.hotdata.judge]``; a "no" refuses the value and the generator runs again.
    ``catalog_inputs`` names the files (relative to the project root) the declaration is read
    from, such as a CSV the variants come from: a no-op build trusts its remembered catalog
    only while they are unchanged.
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
    _check_system(name, system)
    questions = _check_judge(name, judge)
    for key, value in (model_options or {}).items():
        problem = json_problem(value, f"model_options {key}")
        if problem is not None:
            raise CatalogError(f"fixture {name!r}: {problem}")
    inputs = _catalog_inputs(name, catalog_inputs)
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
        system=system,
        judge=questions,
        catalog_inputs=inputs,
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


def _check_system(name: str, system: Any) -> None:
    """``system=`` of one fixture: None, or a str with text in it, else CatalogError."""
    if system is None:
        return
    if not isinstance(system, str):
        raise CatalogError(
            f"fixture {name!r}: system= must be a str, not {type(system).__name__}; give the system "
            'prompt as text (system="You are ..."), or leave system= out'
        )
    if not system.strip():
        raise CatalogError(
            f"fixture {name!r}: system={system!r} is blank; give the system prompt as text "
            '(system="You are ..."), or leave system= out'
        )
    problem = json_problem(system, "system=")
    if problem is not None:
        raise CatalogError(f"fixture {name!r}: {problem}")


def _check_judge(name: str, judge: Any) -> tuple[str, ...]:
    """``judge=`` of one fixture: None, or a list of questions with text in them, else CatalogError."""
    if judge is None:
        return ()
    how = (
        'give a list of yes/no questions (judge=["Does each review match its rating?"]), or leave judge= out'
    )
    if isinstance(judge, str) or not isinstance(judge, Sequence):
        raise CatalogError(
            f"fixture {name!r}: judge= must be a list of str, not {type(judge).__name__}; {how}"
        )
    questions = []
    for i, question in enumerate(judge):
        if not isinstance(question, str):
            raise CatalogError(
                f"fixture {name!r}: judge[{i}] must be a str, not {type(question).__name__}; {how}"
            )
        if not question.strip():
            raise CatalogError(f"fixture {name!r}: judge[{i}]={question!r} is blank; {how}")
        problem = json_problem(question, f"judge[{i}]")
        if problem is not None:
            raise CatalogError(f"fixture {name!r}: {problem}")
        questions.append(question.strip())
    if len(set(questions)) != len(questions):
        raise CatalogError(f"fixture {name!r}: judge= asks the same question twice; ask each once")
    return tuple(questions)


def _catalog_inputs(name: str, given: Any) -> tuple[str, ...]:
    """``catalog_inputs=`` of one fixture as project-relative paths, else ``CatalogError``."""
    how = "give a list of paths relative to the project root, e.g. catalog_inputs=['data/archetypes.csv']"
    if isinstance(given, str | bytes | os.PathLike) or not isinstance(given, Iterable):
        raise CatalogError(
            f"fixture {name!r}: catalog_inputs={given!r} is a {type(given).__name__}, not a list; {how}"
        )
    found: list[str] = []
    for item in given:
        if isinstance(item, bytes) or not isinstance(item, str | os.PathLike):
            raise CatalogError(
                f"fixture {name!r}: catalog_inputs holds {item!r}, a {type(item).__name__}, not a path; {how}"
            )
        path = os.fspath(item)
        if not path.strip():
            raise CatalogError(f"fixture {name!r}: catalog_inputs holds an empty path; {how}")
        found.append(path)
    return tuple(found)


def declared_catalog_inputs(fn: Generator) -> tuple[str, ...]:
    """The ``catalog_inputs`` of every ``@fixture`` on ``fn`` (project-relative paths)."""
    return tuple(path for decl in getattr(fn, _ATTR, []) for path in decl.catalog_inputs)


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
    for decl in getattr(fn, _ATTR, []):
        for params in decl.variants if decl.variants is not None else ({},):
            origin = _Origin(decl.name, generator, params if decl.variants is not None else None)
            _check_param_keys(decl.name, origin, params)
            name = _format_name(decl.name, origin, params)
            try:
                validate_fixture_name(name)
            except InvalidFixtureName as exc:
                raise InvalidFixtureName(name, exc.why, where=str(origin)) from None
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
                    system=decl.system,
                    judge=decl.judge,
                )
            )
    return specs


class _Origin:
    """Where a fixture was declared, in words, for an error message: made only when one is
    raised (it masks the known secrets, which reads llm's key file)."""

    def __init__(self, pattern: str, generator: str, variant: Mapping[str, Any] | None) -> None:
        self.pattern, self.generator, self.variant = pattern, generator, variant

    def __str__(self) -> str:
        text = f"from @fixture({self.pattern!r}) on {self.generator}"
        return text if self.variant is None else text + f", variant {_short_repr(dict(self.variant))}"


def _short_repr(value: Any, limit: int = 160) -> str:
    # masked before the cut (this text goes into error messages): a cut key escapes redaction
    text = repr(mask_secrets(value, secret_values()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _format_name(pattern: str, origin: _Origin, params: Mapping[str, Any]) -> str:
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


def _check_param_keys(pattern: str, origin: _Origin, params: Mapping[Any, Any]) -> None:
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
