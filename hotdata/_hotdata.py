"""``HotData``: the typed handle through which demos and tests load a built fixture."""

from __future__ import annotations

import enum
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

from ._copy import is_deeply_immutable, private_copy
from ._duration import TTL, format_duration, parse_ttl
from ._errors import FixtureInvalidError, FixtureMissingError, HotDataWarning, ProvenanceError
from ._names import DATA_SUFFIX, META_SUFFIX, fixture_paths
from ._provenance import Provenance, Usage, sha256_hex
from ._schema import SchemaAdapter, canonical_json
from ._store import read_record, write_fixture_files
from ._version import __version__

__all__ = ["FixtureState", "FixtureStatus", "HotData"]

T = TypeVar("T")
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FixtureState(enum.StrEnum):
    """Where a fixture stands, from the committed files alone."""

    FRESH = "fresh"
    STALE = "stale"
    MISSING = "missing"
    INVALID = "invalid"
    EDITED = "edited"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class FixtureStatus:
    """The answer of ``HotData.status()``."""

    state: FixtureState
    reason: str
    generated_at: datetime | None = None
    age: timedelta | None = None
    provenance: Provenance | None = None

    def __str__(self) -> str:
        return f"{self.state.value}: {self.reason}"


class HotData(Generic[T]):
    """A built fixture: a JSON data file validated by ``schema`` on load.

    Example::

        snapshot = HotData("fixtures/agent_snapshots/cockpit_demo.json", AgentSnapshot)
        agent = snapshot.load_or_default(AgentSnapshot(id="a", name="fallback"))

    ``ttl`` (timedelta, seconds, or ``"7d"``) counts from ``generated_at`` in the
    provenance record beside the file, never from the file's mtime; ``None`` means
    the data never expires. Every ``load()`` returns a private copy, so mutating it
    never changes what the next ``load()`` returns. Values of deeply immutable
    schemas (frozen models of str/number/tuple/... fields) are shared without a
    copy, as they cannot be mutated; ``copy=False`` shares one cached object for
    any schema, for callers that promise not to mutate it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: Any,
        ttl: TTL = None,
        *,
        name: str | None = None,
        copy: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.name.endswith(META_SUFFIX) or not self.path.name.endswith(DATA_SUFFIX):
            raise ValueError(
                f"fixture path {self.path} must name a data file ending in '.json' "
                f"(not '{META_SUFFIX}', which is the provenance record)"
            )
        self.meta_path = self.path.with_name(self.path.name[: -len(DATA_SUFFIX)] + META_SUFFIX)
        self.schema = schema
        self.ttl = parse_ttl(ttl)
        self.name = name if name is not None else self.path.stem
        self._copy: bool | None = copy if not copy else None  # None: decided on first load
        self._clock: Clock = clock or _utcnow
        self._adapter: SchemaAdapter[T] | None = None
        self._cache_key: tuple[int, int, int] | None = None
        self._cache_value: Any = None

    @classmethod
    def from_name(
        cls,
        root: str | os.PathLike[str],
        name: str,
        schema: Any,
        ttl: TTL = None,
        **options: Any,
    ) -> HotData[Any]:
        """The handle of fixture ``name`` (``"agent_snapshots/cockpit_demo"``) under ``root``.

        Raises ``InvalidFixtureName`` for unsafe names.
        """
        data_path, _ = fixture_paths(root, name)
        return cls(data_path, schema, ttl, name=name, **options)

    def __repr__(self) -> str:
        return f"HotData({str(self.path)!r}, {self.adapter.name})"

    @property
    def adapter(self) -> SchemaAdapter[T]:
        if self._adapter is None:
            self._adapter = SchemaAdapter(self.schema)
        return self._adapter

    # -- loading -------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> T:
        """The validated fixture; ``FixtureMissingError`` / ``FixtureInvalidError`` otherwise."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise FixtureMissingError(self.path) from None
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        if key != self._cache_key:
            value = self._read_and_validate()
            self._cache_key, self._cache_value = key, value
        if self._copy is None:
            self._copy = not is_deeply_immutable(self.schema)
        value = self._cache_value
        return private_copy(value) if self._copy else value

    def _read_and_validate(self) -> T:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise FixtureMissingError(self.path) from None
        except OSError as exc:
            raise FixtureInvalidError(self.path, [f"cannot read the file: {exc.strerror}"]) from None
        try:
            return self.adapter.validate_json(raw)
        except Exception:
            errors = self.adapter.errors_for(raw) or ["the data does not validate"]
            raise FixtureInvalidError(self.path, errors) from None

    def load_or_default(self, default: T) -> T:
        """The fixture, or ``default`` when it is missing.

        An invalid file also yields ``default``, but warns with ``HotDataWarning``
        naming the file: a silently ignored corrupt fixture hides bugs.
        """
        try:
            return self.load()
        except FixtureMissingError:
            return default
        except FixtureInvalidError as exc:
            warnings.warn(f"using the default for {self.name}: {exc}", HotDataWarning, stacklevel=2)
            return default

    # -- freshness -----------------------------------------------------------

    def provenance(self) -> Provenance | None:
        """The provenance record of the current data file, or None when there is none."""
        try:
            data_sha = sha256_hex(self.path.read_bytes())
        except OSError:
            data_sha = None
        return read_record(self.path, self.meta_path, data_sha)

    def status(self) -> FixtureStatus:
        """Fresh, stale, missing, invalid or edited, with the reason in words."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return FixtureStatus(FixtureState.MISSING, f"{self.path} does not exist")
        except OSError as exc:
            return FixtureStatus(FixtureState.INVALID, f"cannot read {self.path}: {exc.strerror}")
        errors = self.adapter.errors_for(raw)
        if errors:
            return FixtureStatus(FixtureState.INVALID, f"{self.path}: {errors[0]}")
        data_sha = sha256_hex(raw)
        try:
            record = read_record(self.path, self.meta_path, data_sha)
        except ProvenanceError as exc:
            return FixtureStatus(FixtureState.STALE, str(exc))
        if record is None:
            return FixtureStatus(FixtureState.STALE, f"no provenance record {self.meta_path.name}")
        now = self._clock()
        age = now - record.generated_at
        if record.data_sha256 != data_sha:
            return FixtureStatus(
                FixtureState.EDITED,
                f"{self.path.name} was edited by hand since it was generated",
                record.generated_at,
                age,
                record,
            )
        if record.schema_hash != self.adapter.schema_hash():
            return FixtureStatus(
                FixtureState.STALE,
                f"schema {self.adapter.name.rsplit(':', 1)[-1]} changed",
                record.generated_at,
                age,
                record,
            )
        ttl = self.ttl
        if ttl is not None and record.generated_at + ttl < now:
            overdue = now - (record.generated_at + ttl)
            return FixtureStatus(
                FixtureState.STALE,
                f"ttl {format_duration(ttl)} expired {format_duration(overdue)} ago",
                record.generated_at,
                age,
                record,
            )
        return FixtureStatus(FixtureState.FRESH, "up to date", record.generated_at, age, record)

    def is_fresh(self) -> bool:
        return self.status().state is FixtureState.FRESH

    # -- writing -------------------------------------------------------------

    def save(
        self,
        value: T,
        *,
        generator: str | None = None,
        fingerprint: dict[str, Any] | None = None,
        model: str | None = None,
        model_options: dict[str, Any] | None = None,
        attempts: int = 0,
        usage: Usage | None = None,
        usage_per_attempt: list[Usage] | None = None,
    ) -> Provenance:
        """Validate ``value`` and write it with its provenance record, atomically.

        The data is canonical JSON (sorted keys, 2-space indent, trailing newline).
        A failure at any point leaves the previous data file and record untouched.
        """
        data = canonical_json(self.adapter.to_data(value))
        errors = self.adapter.errors_for(data)
        if errors:
            raise FixtureInvalidError(self.path, errors)
        record = Provenance(
            name=self.name,
            schema_name=self.adapter.name,
            schema_hash=self.adapter.schema_hash(),
            data_sha256=sha256_hex(data),
            generated_at=self._clock(),
            ttl_seconds=None if self.ttl is None else self.ttl.total_seconds(),
            fingerprint=fingerprint,
            generator=generator,
            model=model,
            model_options=model_options or {},
            attempts=attempts,
            usage=usage or Usage(),
            usage_per_attempt=usage_per_attempt or [],
            hotdata_version=__version__,
        )
        write_fixture_files(self.path, self.meta_path, data, record)
        return record
