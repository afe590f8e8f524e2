"""A fixture's inputs as they are now, and the fingerprint recorded from them.

The fingerprint in a provenance record says from what a fixture was generated:
the generator's code (or its ``version=`` pin), the templates it rendered (with
everything they include), its schema and every other schema it asked the model
for, its variant parameters, and the model with its options. Everything here
reads source files and Python objects only: no jinja2, no LLM library, no local
database (doit's included).
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
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..._duration import parse_ttl
from ..._schema import SchemaAdapter
from .._config import HotDataConfig
from .._secrets import mask_secrets, secret_values
from .._spec import FixtureSpec
from ..quality import QUALITY_VERSION, QualitySettings, UserCheck
from ._closure import code_closure

__all__ = ["FINGERPRINT_FORMAT", "Fingerprint", "Inputs", "canonical_value", "function_source"]

# Bump when the fingerprint rules change: older records then read as stale, on purpose.
# 3: the generator's whole code closure (constants, helpers, classes it uses), not its source alone.
FINGERPRINT_FORMAT = 3


class Fingerprint(BaseModel):
    """The ``fingerprint`` of a provenance record, typed (a record with wrong types is unreadable)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    format: int
    generator: str
    code: dict[str, str] = Field(default_factory=dict)
    templates: dict[str, str] = Field(default_factory=dict)
    schema_: str = Field(alias="schema")
    schemas_used: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    model: str
    model_options: dict[str, Any] = Field(default_factory=dict)


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


class Inputs:
    """What each fixture's inputs are now; every value is computed once per process."""

    def __init__(self, config: HotDataConfig) -> None:
        self.config = config
        self._adapters: dict[int, SchemaAdapter[Any]] = {}
        self._generators: dict[int, str] = {}
        self._closures: dict[int, dict[str, str]] = {}
        self._files: dict[str, str | None] = {}
        self._models: dict[str, tuple[str, dict[str, Any]]] = {}
        self._params: dict[str, dict[str, Any]] = {}
        self._quality: dict[str, tuple[QualitySettings, tuple[UserCheck, ...], str]] = {}
        self._secrets: list[str] | None = None

    def adapter(self, schema: Any) -> SchemaAdapter[Any]:
        adapter = self._adapters.get(id(schema))
        if adapter is None:
            adapter = self._adapters[id(schema)] = SchemaAdapter(schema)
        return adapter

    def code_closure(self, spec: FixtureSpec) -> dict[str, str]:
        """The generator's code closure (``{"generators/agents.py:NAMES": hash}``), or {} when pinned."""
        if spec.version is not None:
            return {}
        fn = spec.generator
        closure = self._closures.get(id(fn))
        if closure is None:
            closure = self._closures[id(fn)] = code_closure(fn, self.config.root)
        return closure

    def generator_hash(self, spec: FixtureSpec) -> str:
        """``version:<pin>``, or the hash of the generator's whole code closure."""
        if spec.version is not None:
            return f"version:{spec.version}"
        fn = spec.generator
        digest = self._generators.get(id(fn))
        if digest is None:
            closure = self.code_closure(spec)
            basis = json.dumps(closure, sort_keys=True) if closure else function_source(fn)
            digest = self._generators[id(fn)] = _sha(basis.encode("utf-8"))
        return digest

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
        return self.adapter(obj).schema_hash()

    @property
    def secrets(self) -> list[str]:
        """The secret values known to this process (read once: the run does not change them)."""
        if self._secrets is None:
            self._secrets = secret_values()
        return self._secrets

    def model_for(self, spec: FixtureSpec) -> tuple[str, dict[str, Any]]:
        """The model id and options (configured defaults under the fixture's own), as recorded:
        credentials masked. ``request_options`` are what the model is actually sent."""
        cached = self._models.get(spec.name)
        if cached is None:
            options = mask_secrets(self.request_options(spec), self.secrets)
            cached = self._models[spec.name] = (spec.model or self.config.model, options)
        return cached

    def request_options(self, spec: FixtureSpec) -> dict[str, Any]:
        options: dict[str, Any] = canonical_value({**self.config.model_options, **spec.model_options})
        return options

    def params_for(self, spec: FixtureSpec) -> dict[str, Any]:
        """The variant parameters as recorded and fingerprinted (credentials masked)."""
        cached = self._params.get(spec.name)
        if cached is None:
            cached = self._params[spec.name] = mask_secrets(canonical_value(dict(spec.params)), self.secrets)
        return cached

    def quality_for(self, spec: FixtureSpec) -> tuple[QualitySettings, tuple[UserCheck, ...]]:
        """The quality settings of ``spec`` (project table and its overrides) and its own checks."""
        key = spec.name if spec.quality is not None else ""  # fixtures without their own share one
        cached = self._quality.get(key)
        if cached is None:
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
            cached = self._quality[key] = (settings, checks, digest)
        return cached[0], cached[1]

    def quality_hash(self, spec: FixtureSpec) -> str:
        """Identifies the gates a fixture's data must pass (settings, user checks, gate version)."""
        self.quality_for(spec)
        return self._quality[spec.name if spec.quality is not None else ""][2]

    def timeout_for(self, spec: FixtureSpec) -> float:
        """Seconds a fixture's generation may take (``timeout=`` on @fixture, else ``fixture_timeout``)."""
        return float(spec.timeout if spec.timeout is not None else self.config.fixture_timeout)

    def ttl_for(self, spec: FixtureSpec) -> timedelta | None:
        return parse_ttl(spec.ttl if spec.ttl is not None else self.config.ttl)

    def fingerprint(
        self, spec: FixtureSpec, templates: dict[str, str], schemas_used: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The fingerprint to record, given the template closure and the other schemas asked for."""
        model, options = self.model_for(spec)
        return {
            "format": FINGERPRINT_FORMAT,
            "generator": self.generator_hash(spec),
            "code": self.code_closure(spec),
            "templates": dict(sorted(templates.items())),
            "schema": self.adapter(spec.schema).schema_hash(),
            "schemas_used": dict(sorted((schemas_used or {}).items())),
            "params": self.params_for(spec),
            "model": model,
            "model_options": options,
        }
