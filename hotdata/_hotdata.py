"""``HotData``: the typed handle through which demos and tests load a built fixture."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, overload

from ._duration import TTL, parse_ttl
from ._errors import FixtureInvalidError, FixtureMissingError, HotDataWarning
from ._freshness import BUILD_CHECK_NAMES, Classifier, Clock, FixtureState, FixtureStatus, TtlCheck, utcnow
from ._immutable import is_deeply_immutable
from ._names import DATA_SUFFIX, META_SUFFIX, fixture_paths
from ._provenance import Provenance, sha256_hex
from ._schema import SchemaAdapter
from ._store import read_record

__all__ = ["CopyMode", "HotData"]

T = TypeVar("T")

CopyMode = Literal["auto", "always", "never"]
_COPY_MODES = ("auto", "always", "never")


class HotData(Generic[T]):
    """A built fixture: a JSON data file validated by ``schema`` on load.

    Example::

        snapshot = HotData("fixtures/agent_snapshots/cockpit_demo.json", AgentSnapshot)
        agent = snapshot.load_or_default(AgentSnapshot(id="a", name="fallback"))

    ``ttl`` (timedelta, seconds, or ``"7d"``) counts from ``generated_at`` in the
    provenance record beside the file, never from the file's mtime; without one,
    the ttl the record was generated with applies, and a record without a ttl
    never expires.

    ``copy`` says whether each ``load()`` hands out its own object:

    * ``"auto"`` (default): its own object for schemas whose values can be mutated
      (re-validated from the bytes read at the last change, never re-read from
      disk), one shared object for deeply immutable schemas (frozen models of
      str/number/tuple... fields), which cannot be mutated;
    * ``"always"``: its own object every time, whatever the schema;
    * ``"never"``: one shared object for any schema, for callers that promise not
      to mutate it.
    """

    @overload
    def __init__(
        self: HotData[T],
        path: str | os.PathLike[str],
        schema: type[T],
        ttl: TTL = None,
        *,
        name: str | None = None,
        copy: CopyMode = "auto",
        clock: Clock | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self: HotData[Any],
        path: str | os.PathLike[str],
        schema: Any,
        ttl: TTL = None,
        *,
        name: str | None = None,
        copy: CopyMode = "auto",
        clock: Clock | None = None,
    ) -> None: ...

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: Any,
        ttl: TTL = None,
        *,
        name: str | None = None,
        copy: CopyMode = "auto",
        clock: Clock | None = None,
    ) -> None:
        self.path = Path(path)
        self._fspath = os.fspath(self.path)  # str: no Path conversion on every load
        if self.path.name.endswith(META_SUFFIX) or not self.path.name.endswith(DATA_SUFFIX):
            raise ValueError(
                f"fixture path {self.path} must name a data file ending in '.json' "
                f"(not '{META_SUFFIX}', which is the provenance record)"
            )
        if copy not in _COPY_MODES:
            raise ValueError(f"copy={copy!r} is not one of {', '.join(map(repr, _COPY_MODES))}")
        self.meta_path = self.path.with_name(self.path.name[: -len(DATA_SUFFIX)] + META_SUFFIX)
        self.schema = schema
        self.ttl = parse_ttl(ttl)
        self.name = name if name is not None else self.path.stem
        self.copy: CopyMode = copy
        self._clock: Clock = clock or utcnow
        self._adapter: SchemaAdapter[T] | None = None
        self._shared: bool | None = None  # decided on first load (needs the schema's adapter)
        self._key: tuple[int, int, int] | None = None
        self._raw = b""
        self._value: Any = None

    @classmethod
    def from_name(
        cls,
        root: str | os.PathLike[str],
        name: str,
        schema: type[T],
        ttl: TTL = None,
        *,
        copy: CopyMode = "auto",
        clock: Clock | None = None,
    ) -> HotData[T]:
        """The handle of fixture ``name`` (``"agent_snapshots/cockpit_demo"``) under ``root``.

        Raises ``InvalidFixtureName`` for unsafe names.
        """
        data_path, _ = fixture_paths(root, name)
        return cls(data_path, schema, ttl, name=name, copy=copy, clock=clock)

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
        """The validated fixture; ``FixtureMissingError`` / ``FixtureInvalidError`` otherwise.

        The file is read and validated when its (mtime, size, inode) changed since
        the last load; otherwise the cached bytes or object answer (see ``copy``).
        """
        if self._shared is None:
            self._shared = self.copy == "never" or (self.copy == "auto" and is_deeply_immutable(self.schema))
        try:
            st = os.stat(self._fspath)
        except FileNotFoundError:
            raise FixtureMissingError(self.path) from None
        except OSError as exc:
            raise FixtureInvalidError(self.path, [f"cannot read the file: {exc.strerror}"]) from None
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        if key == self._key:
            if self._shared:
                return self._value  # type: ignore[no-any-return]
            # pydantic-core builds a new object from bytes faster than Python copies one
            return self.adapter.validate_json(self._raw)
        raw = self._read()
        value = self._validate(raw)
        # The first caller gets the new object itself: nobody else holds it yet.
        self._key, self._raw = key, raw
        self._value = value if self._shared else None
        return value

    def _read(self) -> bytes:
        try:
            with open(self._fspath, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            raise FixtureMissingError(self.path) from None
        except OSError as exc:
            raise FixtureInvalidError(self.path, [f"cannot read the file: {exc.strerror}"]) from None

    def _validate(self, raw: bytes) -> T:
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

    def classifier(self) -> Classifier:
        """The runtime classifier: data, record, schema and ttl. The build's own checks (generator,
        templates, parameters, model ...) need the project's modules: they are named as skipped."""
        return Classifier(self.adapter, [TtlCheck(self.ttl)], clock=self._clock, skipped=BUILD_CHECK_NAMES)

    def status(self) -> FixtureStatus:
        """Fresh, stale, missing, invalid or edited, with the reason in words.

        The runtime's verdict: a generator or template edit is seen by ``doit status`` and by
        the pytest plugin's ``--hotdata-strict``, which ask the build's classifier; this
        status lists those checks in ``skipped`` (and says so when printed)."""
        return self.classifier().classify(self.name, self.path, self.meta_path)

    def is_fresh(self) -> bool:
        return self.status().state is FixtureState.FRESH
