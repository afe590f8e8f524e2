"""Input fingerprints and the staleness rules built on them.

A fixture is fresh when its committed provenance record matches what its inputs
are now. Everything here reads committed files and Python objects only: no
jinja2, no LLM library, no local database (doit's included).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import json
import os
import sys
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .._duration import format_duration, parse_ttl
from .._errors import InvalidFixtureName, ProvenanceError
from .._hotdata import FixtureState
from .._names import PathCache, fixture_paths
from .._provenance import Provenance, sha256_hex
from .._schema import SchemaAdapter
from .._store import PENDING_SUFFIX, read_record
from ._config import HotDataConfig
from ._spec import FixtureSpec

__all__ = ["FINGERPRINT_FORMAT", "FixtureReport", "FreshnessChecker"]

# Bump when the fingerprint rules change: older records then read as stale, on purpose.
FINGERPRINT_FORMAT = 2


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(value: Any) -> Any:
    """JSON-round-tripped value, so tuples and lists compare equal to what was recorded."""
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


@dataclass(frozen=True)
class FixtureReport:
    """The state of one fixture and the reason in words."""

    name: str
    state: FixtureState
    reason: str
    data_path: Path
    meta_path: Path
    record: Provenance | None = None
    age: timedelta | None = None

    @property
    def needs_build(self) -> bool:
        return self.state in (FixtureState.STALE, FixtureState.MISSING, FixtureState.INVALID)

    def to_json(self) -> dict[str, Any]:
        rec = self.record
        return {
            "name": self.name,
            "state": self.state.value,
            "reason": self.reason,
            "file": str(self.data_path),
            "generated_at": rec.generated_at.isoformat().replace("+00:00", "Z") if rec else None,
            "age_seconds": None if self.age is None else round(self.age.total_seconds()),
            "model": rec.model if rec else None,
            "tokens": _tokens(rec),
            "attempts": rec.attempts if rec else None,
        }


def _tokens(rec: Provenance | None) -> int | None:
    if rec is None or (rec.usage.input_tokens is None and rec.usage.output_tokens is None):
        return None
    return (rec.usage.input_tokens or 0) + (rec.usage.output_tokens or 0)


class FreshnessChecker:
    """Computes fingerprints and decides staleness; caches per schema, generator and template."""

    def __init__(self, config: HotDataConfig, *, now: datetime | None = None) -> None:
        self.config = config
        self._now = now
        self._adapters: dict[int, SchemaAdapter[Any]] = {}
        self._generator_hashes: dict[int, str] = {}
        self._file_hashes: dict[str, str | None] = {}
        self._paths = PathCache()
        self._models: dict[str, tuple[str, dict[str, Any]]] = {}
        self._params: dict[str, Any] = {}

    # -- inputs ----------------------------------------------------------------

    def now(self) -> datetime:
        return self._now or datetime.now(UTC)

    def adapter(self, schema: Any) -> SchemaAdapter[Any]:
        adapter = self._adapters.get(id(schema))
        if adapter is None:
            adapter = self._adapters[id(schema)] = SchemaAdapter(schema)
        return adapter

    def generator_hash(self, spec: FixtureSpec) -> str:
        if spec.version is not None:
            return f"version:{spec.version}"
        fn = spec.generator
        cached = self._generator_hashes.get(id(fn))
        if cached is None:
            cached = self._generator_hashes[id(fn)] = _sha(function_source(fn).encode("utf-8"))
        return cached

    def template_hash(self, relpath: str) -> str | None:
        if relpath not in self._file_hashes:
            try:
                self._file_hashes[relpath] = _sha((self.config.templates_path / relpath).read_bytes())
            except OSError:
                self._file_hashes[relpath] = None
        return self._file_hashes[relpath]

    def _named_schema_hash(self, name: str) -> str | None:
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

    def model_for(self, spec: FixtureSpec) -> tuple[str, dict[str, Any]]:
        cached = self._models.get(spec.name)
        if cached is None:
            options = {**self.config.model_options, **spec.model_options}
            cached = self._models[spec.name] = (spec.model or self.config.model, _canonical(options))
        return cached

    def params_for(self, spec: FixtureSpec) -> Any:
        cached = self._params.get(spec.name)
        if cached is None:
            cached = self._params[spec.name] = _canonical(dict(spec.params))
        return cached

    def _has_pending(self, meta_path: Path) -> bool:
        return meta_path.name + PENDING_SUFFIX in self._paths.listing(os.fspath(meta_path.parent))

    def ttl_for(self, spec: FixtureSpec) -> timedelta | None:
        return parse_ttl(spec.ttl if spec.ttl is not None else self.config.ttl)

    def fingerprint(
        self, spec: FixtureSpec, templates: dict[str, str], schemas_used: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The fingerprint to record, given the resolved template closure and hashes."""
        model, options = self.model_for(spec)
        return {
            "schemas_used": dict(sorted((schemas_used or {}).items())),
            "format": FINGERPRINT_FORMAT,
            "generator": self.generator_hash(spec),
            "templates": dict(sorted(templates.items())),
            "schema": self.adapter(spec.schema).schema_hash(),
            "params": self.params_for(spec),
            "model": model,
            "model_options": options,
        }

    def paths(self, spec: FixtureSpec) -> tuple[Path, Path]:
        return fixture_paths(self.config.fixtures_path, spec.name, self._paths)

    # -- staleness -------------------------------------------------------------

    def check(self, spec: FixtureSpec) -> FixtureReport:
        try:
            data_path, meta_path = self.paths(spec)
        except InvalidFixtureName as exc:  # e.g. a symlink out of the fixtures root
            where = self.config.fixtures_path / spec.name
            return FixtureReport(spec.name, FixtureState.INVALID, str(exc), where, where)

        def report(state: FixtureState, reason: str, record: Provenance | None = None) -> FixtureReport:
            age = None if record is None else self.now() - record.generated_at
            return FixtureReport(spec.name, state, reason, data_path, meta_path, record, age)

        try:
            raw = data_path.read_bytes()
        except FileNotFoundError:
            return report(FixtureState.MISSING, f"{data_path.name} does not exist")
        except OSError as exc:
            return report(FixtureState.INVALID, f"cannot read {data_path}: {exc.strerror}")
        data_sha = sha256_hex(raw)
        try:
            record = read_record(data_path, meta_path, data_sha, pending=self._has_pending(meta_path))
        except ProvenanceError as exc:
            return report(FixtureState.STALE, f"provenance record unreadable: {exc.why}")
        if record is None:
            return report(FixtureState.STALE, f"provenance record {meta_path.name} is missing")
        if record.data_sha256 != data_sha:
            return report(FixtureState.EDITED, "data edited by hand since generation (kept)", record)
        reason = self.stale_reason(spec, record)
        if reason is not None:
            return report(FixtureState.STALE, reason, record)
        return report(FixtureState.FRESH, "up to date", record)

    def stale_reason(self, spec: FixtureSpec, record: Provenance) -> str | None:
        """Why ``record`` no longer describes ``spec``'s inputs, or None when it does."""
        fp = record.fingerprint or {}
        if fp.get("format") != FINGERPRINT_FORMAT:
            return f"fingerprint format changed ({fp.get('format')} -> {FINGERPRINT_FORMAT})"
        if fp.get("generator") != self.generator_hash(spec):
            if spec.version is not None or str(fp.get("generator", "")).startswith("version:"):
                return f"generator {spec.generator.__name__} version changed"
            return f"generator {spec.generator.__name__} changed"
        recorded_templates: dict[str, str] = fp.get("templates") or {}
        for declared in spec.templates:
            if declared not in recorded_templates:
                return f"template {declared} added"
        for relpath, digest in sorted(recorded_templates.items()):
            current = self.template_hash(relpath)
            if current is None:
                return f"template {relpath} is missing"
            if current != digest:
                return f"template {relpath} changed"
        if fp.get("schema") != self.adapter(spec.schema).schema_hash():
            return f"schema {spec.schema_label} changed"
        for name, digest in sorted((fp.get("schemas_used") or {}).items()):
            current = self._named_schema_hash(name)
            if current is None:
                return f"schema {name.rsplit(':', 1)[-1]} is gone"
            if current != digest:
                return f"schema {name.rsplit(':', 1)[-1]} changed"
        if fp.get("params") != spec.params and fp.get("params") != self.params_for(spec):
            return "variant parameters changed"
        model, options = self.model_for(spec)
        if fp.get("model") != model:
            return f"model changed ({fp.get('model')} -> {model})"
        if fp.get("model_options") != options:
            return "model options changed"
        ttl = self.ttl_for(spec)
        if ttl is not None:
            overdue = self.now() - (record.generated_at + ttl)
            if overdue > timedelta(0):
                return f"ttl {format_duration(ttl)} expired {format_duration(overdue)} ago"
        return None
