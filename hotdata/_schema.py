"""One adapter for the three kinds of schema hotdata accepts.

* a pydantic model class,
* any type pydantic's ``TypeAdapter`` accepts (dataclass, TypedDict, ``list[Model]`` ...),
* a class following the ``Serializable`` protocol (``to_json()`` / classmethod ``from_json()``).
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any, Generic, Protocol, TypeVar, cast, runtime_checkable

from pydantic import BaseModel, TypeAdapter, ValidationError

from ._errors import SchemaError

__all__ = ["SchemaAdapter", "Serializable", "canonical_json", "import_schema"]

T = TypeVar("T")


@runtime_checkable
class Serializable(Protocol):
    """A class that converts itself to and from JSON-compatible data.

    ``to_json()`` returns plain JSON data (dict, list, str, number, bool, None);
    ``from_json(data)`` is a classmethod that builds an instance from that data and
    raises ``ValueError``/``TypeError``/``KeyError`` when the data is wrong. An optional
    classmethod ``json_schema()`` returning a JSON Schema dict gives the schema a
    stable identity for staleness checks.
    """

    def to_json(self) -> Any: ...

    @classmethod
    def from_json(cls, data: Any) -> Any: ...


def canonical_json(data: Any) -> bytes:
    """Diff-friendly JSON: UTF-8, sorted keys, 2-space indent, trailing newline."""
    text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _format_pydantic_errors(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        loc = "/".join(str(p) for p in err["loc"]) or "(root)"
        out.append(f"at {loc}: {err['msg']}")
    return out


class SchemaAdapter(Generic[T]):
    """Validate, serialize and describe values of one schema type."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._serializable = isinstance(schema, type) and _is_serializable_class(schema)
        self._adapter: TypeAdapter[T] | None = None
        if not self._serializable:
            try:
                self._adapter = TypeAdapter(schema)
            except Exception as exc:  # pydantic raises several kinds here
                raise SchemaError(
                    f"{schema!r} cannot be used as a fixture schema: {exc}. Use a pydantic "
                    "model, a type pydantic's TypeAdapter accepts, or a class with "
                    "to_json()/from_json()."
                ) from exc
        self._hash: str | None = None
        self._json_schema: tuple[dict[str, Any] | None] | None = None  # made once: pydantic takes ~0.3 ms

    @property
    def name(self) -> str:
        """A readable identity such as ``generators.schemas:AgentSnapshot``."""
        schema = self.schema
        if isinstance(schema, type):
            return f"{schema.__module__}:{schema.__qualname__}"
        return repr(schema)

    @property
    def label(self) -> str:
        """The short name used in messages: ``AgentSnapshot``."""
        return getattr(self.schema, "__name__", None) or repr(self.schema)

    def validate_json(self, raw: bytes) -> T:
        """Parse and validate; raise ``ValueError`` subclasses with readable messages."""
        if self._adapter is not None:
            # pydantic-core's validator itself: TypeAdapter.validate_json only adds default
            # arguments, a few µs of a 5 KB load
            return cast(T, self._adapter.validator.validate_json(raw))
        return cast(T, self.schema.from_json(json.loads(raw)))

    def errors_for(self, raw: bytes) -> list[str]:
        """Every validation error of ``raw`` as ``"at <json location>: <message>"``."""
        try:
            self.validate_json(raw)
        except ValidationError as exc:
            return _format_pydantic_errors(exc)
        except UnicodeDecodeError as exc:
            return [f"the file is not valid UTF-8 ({exc.reason} at byte {exc.start})"]
        except json.JSONDecodeError as exc:
            return [f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        except (ValueError, TypeError, KeyError) as exc:
            return [f"{type(exc).__name__}: {exc}"]
        return []

    def to_data(self, value: T) -> Any:
        """The JSON-compatible data of ``value`` (what goes into the file)."""
        if self._adapter is not None:
            try:
                # no serializer warnings on stderr: a value of the wrong type then fails
                # validation with the field named, which says it better
                return self._adapter.dump_python(value, mode="json", warnings=False)
            except Exception as exc:
                raise SchemaError(f"cannot serialize {type(value).__name__} as {self.name}: {exc}") from exc
        if not isinstance(value, self.schema):
            raise SchemaError(f"expected an instance of {self.name}, got {type(value).__name__}")
        return cast(Serializable, value).to_json()

    def json_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the type, or None when it has none.

        Made once per adapter; each caller gets its own deep copy, so one that edits it
        (a request capping arrays) changes nobody else's."""
        if self._json_schema is None:
            if self._adapter is not None:
                described: dict[str, Any] | None = self._adapter.json_schema()
            else:
                method = getattr(self.schema, "json_schema", None)
                described = cast(dict[str, Any], method()) if callable(method) else None
            self._json_schema = (described,)
        return copy.deepcopy(self._json_schema[0])

    def canonical_schema(self) -> dict[str, Any] | None:
        """The JSON Schema as hashed (``schema_hash``): enum values sorted; None when it has none."""
        described = self.json_schema()
        return None if described is None else cast(dict[str, Any], _canonical_schema(described))

    def schema_hash(self) -> str:
        """sha256 of the canonical JSON Schema (cached: it is stable for a type)."""
        if self._hash is None:
            described = self.json_schema()
            basis = (
                canonical_json(_canonical_schema(described)) if described is not None else self.name.encode()
            )
            self._hash = "sha256:" + hashlib.sha256(basis).hexdigest()
        return self._hash


def _is_serializable_class(schema: type) -> bool:
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return False
    return callable(getattr(schema, "to_json", None)) and callable(getattr(schema, "from_json", None))


def _canonical_schema(node: Any) -> Any:
    """The schema with enum values sorted: an enum built from a set lists its members in an
    order that changes from one process to the next, and their order changes nothing that validates."""
    if isinstance(node, dict):
        out = {k: _canonical_schema(v) for k, v in node.items()}
        values = out.get("enum")
        if isinstance(values, list):
            out["enum"] = sorted(values, key=lambda v: json.dumps(v, sort_keys=True))
        return out
    if isinstance(node, list):
        return [_canonical_schema(v) for v in node]
    return node


def import_schema(name: str) -> Any:
    """The schema named ``module:Qual.Name`` (as a provenance record stores it), imported.

    Only imports and attribute lookups: a record's text is never evaluated.
    Raises ``SchemaError`` saying what could not be found.
    """
    import importlib

    module_name, sep, qualname = name.partition(":")
    if not sep or not module_name or not qualname:
        raise SchemaError(f"schema name {name!r} is not 'module:Name'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise SchemaError(
            f"cannot import module {module_name!r} of schema {name!r}: {type(exc).__name__}: {exc}"
        ) from None
    for part in qualname.split("."):
        if not part.isidentifier() or part.startswith("__"):
            raise SchemaError(f"schema name {name!r} has an invalid part {part!r}")
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SchemaError(f"module {module_name!r} has no {qualname!r} (schema {name!r})") from None
    return obj
