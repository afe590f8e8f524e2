"""A fixture's inputs as they are now, resolved once into a ``FixtureInputs``.

The fingerprint in a provenance record says from what a fixture was generated: the
generator's code (or its ``version=`` pin), the templates it rendered (with everything
they include), its schema and every other schema it asked the model for, its variant
parameters, the model with its options, and the fixture's system prompt and judge (its
questions and model) when it has them.
``InputResolver`` works out each of these once per process, for the checks, the local index
and the requests alike. Everything here reads source files and Python objects only: no
jinja2, no LLM library, no local database (doit's included).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import json
import sys
import textwrap
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ..._duration import parse_ttl
from ..._schema import SchemaAdapter
from .._config import DEFAULT_MODEL, HotDataConfig
from .._errors import CatalogError
from .._fixture_plan import FixtureInputs
from .._secrets import mask_secrets, secret_values
from .._spec import FixtureSpec
from ..quality._settings import QUALITY_VERSION, QualitySettings, UserCheck
from ._closure import code_closure

__all__ = ["InputResolver", "canonical_value", "function_source"]


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_value(value: Any) -> Any:
    """The JSON round trip of ``value``, so tuples and lists compare equal to what was recorded."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def function_source(fn: Any) -> str:
    """The function's own source, LF line endings, without its decorators.

    Decorator arguments (variants, templates, schema) are fingerprinted on their
    own, so changing one variant does not count as a code change for the others.
    """
    source = textwrap.dedent(inspect.getsource(fn)).replace("\r\n", "\n").replace("\r", "\n")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    node = tree.body[0] if tree.body else None
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.decorator_list:
        return "\n".join(source.splitlines()[node.lineno - 1 :]) + "\n"
    return source


# The embedded model as a judge, measured by bench/bench_judge.py on tests/data/judge_labelled.json.
EMBEDDED_JUDGE_FIGURES = "22 of 42 labelled fixtures right, chance 21: python -m bench.bench_judge"


def judge_model(config: HotDataConfig, spec: FixtureSpec) -> str:
    """Who answers a fixture's judge questions: ``[tool.hotdata.judge] model``, else the
    fixture's model. The embedded model judges no better than chance, so it is never the
    judge by default: a project whose questions would fall to it is refused until it names
    a judge model (``model = "hotdata-local"`` to take it anyway): ``CatalogError``, raised
    when the catalog loads."""
    if config.judge.model is not None:
        return config.judge.model
    model = spec.model or config.model
    if model == DEFAULT_MODEL:
        raise CatalogError(
            f"fixture {spec.name}: its judge questions need a judge model, and the embedded model "
            f"{DEFAULT_MODEL} judges no better than chance ({EMBEDDED_JUDGE_FIGURES}); name one in "
            'pyproject.toml: [tool.hotdata.judge] model = "gpt-4o-mini" (or any llm model id; '
            f'"{DEFAULT_MODEL}" to use it anyway)'
        )
    return model


class InputResolver:
    """What each fixture's inputs are now (``resolve``); every value is computed once per process."""

    def __init__(self, config: HotDataConfig) -> None:
        self.config = config
        self._adapters: dict[int, SchemaAdapter[Any]] = {}
        self._generators: dict[tuple[int, int, bool], tuple[str, dict[str, str]]] = {}
        self._files: dict[str, str | None] = {}
        self._quality: dict[str, tuple[QualitySettings, tuple[UserCheck, ...], str]] = {}
        self._resolved: dict[str, tuple[FixtureSpec, FixtureInputs]] = {}
        self._secrets: tuple[str, ...] | None = None
        self._versions: dict[str, str | None] = {}

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values known to this process (read once: the run does not change them)."""
        if self._secrets is None:
            self._secrets = tuple(secret_values())
        return self._secrets

    def adapter(self, schema: Any) -> SchemaAdapter[Any]:
        adapter = self._adapters.get(id(schema))
        if adapter is None:
            adapter = self._adapters[id(schema)] = SchemaAdapter(schema)
        return adapter

    def resolve(self, spec: FixtureSpec) -> FixtureInputs:
        """Every input of ``spec``, as sent, recorded and fingerprinted."""
        found = self._resolved.get(spec.name)
        if found is not None and found[0] is spec:
            return found[1]
        config, secrets = self.config, list(self.secrets)
        options: dict[str, Any] = canonical_value({**config.model_options, **spec.model_options})
        generator, code = self._generator(spec)
        quality, checks, quality_hash = self._quality_for(spec)
        judge = tuple(dict.fromkeys((*config.judge.questions, *spec.judge)))
        inputs = FixtureInputs(
            spec=spec,
            adapter=self.adapter(spec.schema),
            model=spec.model or config.model,
            options=options,
            recorded_options=mask_secrets(options, secrets),
            system=spec.system,
            system_hash=None if spec.system is None else _sha(spec.system.encode("utf-8")),
            params=mask_secrets(canonical_value(dict(spec.params)), secrets),
            generator=generator,
            code=code,
            quality=quality,
            checks=checks,
            quality_hash=quality_hash,
            attempts=config.retries.validation_attempts,
            ttl=parse_ttl(spec.ttl if spec.ttl is not None else config.ttl),
            timeout=float(spec.timeout if spec.timeout is not None else config.fixture_timeout),
            secrets=self.secrets,
            judge=judge,
            judge_model=judge_model(config, spec) if judge else None,
            repair=config.retries.repair,
        )
        self._resolved[spec.name] = (spec, inputs)
        return inputs

    def _generator(self, spec: FixtureSpec, *, schema_classes: bool = False) -> tuple[str, dict[str, str]]:
        """``version:<pin>`` and no closure, or the hash of the generator's whole code closure."""
        if spec.version is not None:
            return f"version:{spec.version}", {}
        fn = spec.generator
        key = (id(fn), id(spec.schema), schema_classes)
        found = self._generators.get(key)
        if found is None:
            closure = code_closure(fn, self.config.root, schema_classes=schema_classes, schema=spec.schema)
            basis = json.dumps(closure, sort_keys=True) if closure else function_source(fn)
            found = self._generators[key] = (_sha(basis.encode("utf-8")), closure)
        return found

    def closure_with_schema_classes(self, spec: FixtureSpec) -> tuple[str, dict[str, str]]:
        """The generator's hash and closure as fingerprint format 3 made them (schema classes in),
        to read a record written before schema classes left the closure."""
        return self._generator(spec, schema_classes=True)

    def _quality_for(self, spec: FixtureSpec) -> tuple[QualitySettings, tuple[UserCheck, ...], str]:
        """The quality settings of ``spec`` (project table and its overrides), its own checks, and
        the hash that identifies them with the gates' version."""
        key = spec.name if spec.quality is not None else ""  # fixtures without their own share one
        found = self._quality.get(key)
        if found is None:
            settings = self.config.quality
            checks: tuple[UserCheck, ...] = ()
            own = spec.quality
            if isinstance(own, Mapping):
                settings = settings.merged(own, where=f"quality= of fixture {spec.name!r}")
            elif callable(own):
                checks = (own,)
            elif own is not None:
                checks = tuple(own)
            digest = _sha(
                json.dumps(
                    [QUALITY_VERSION, settings.model_dump(mode="json"), [function_source(f) for f in checks]],
                    sort_keys=True,
                ).encode()
            )
            found = self._quality[key] = (settings, checks, digest)
        return found

    def library_version(self, distribution: str) -> str | None:
        """The installed version of ``distribution`` (a library ``ctx.sample`` draws from); None
        when it is not installed. Read from its metadata: the library is not imported."""
        if distribution not in self._versions:
            try:
                self._versions[distribution] = version(distribution)
            except PackageNotFoundError:
                self._versions[distribution] = None
        return self._versions[distribution]

    def template_hash(self, relpath: str) -> str | None:
        """sha256 of a template file's bytes; None when it cannot be read."""
        if relpath not in self._files:
            try:
                self._files[relpath] = _sha((self.config.templates_path / relpath).read_bytes())
            except OSError:
                self._files[relpath] = None
        return self._files[relpath]

    def named_schema_hash(self, name: str) -> str | None:
        """The schema hash of ``module:Name`` as it is now; None when it no longer exists."""
        adapter = self.named_adapter(name)
        return None if adapter is None else adapter.schema_hash()

    def named_adapter(self, name: str) -> SchemaAdapter[Any] | None:
        """The schema ``module:Name`` as it is now; None when it no longer exists."""
        module_name, _, qualname = name.partition(":")
        module = sys.modules.get(module_name)
        if module is None:
            try:
                module = importlib.import_module(module_name)
            except Exception:
                return None
        obj: Any = module
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return self.adapter(obj)
