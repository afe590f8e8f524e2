"""Stage 1, plan: the catalog plus one classifier decide each fixture's state and reason.

The runtime's ``Classifier`` (data, record, schema, ttl) gets the build's record checks
(``_checks``). ``doit fixtures`` (its ``uptodate``), ``doit status``, ``doit validate`` and
the pytest plugin's strict mode all ask ``Planner.status``, so they never disagree. For a
fixture it decides to rebuild, the planner resolves one ``FixturePlan``: everything the
generate stage needs, from the same values the checks compared.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import ItemsView, Iterator, KeysView, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..._errors import HotDataError, InvalidFixtureName, ProvenanceError
from ..._freshness import Classifier, Clock, FixtureState, FixtureStatus, RecordCheck, TtlCheck, utcnow
from ..._names import PathCache, fixture_paths
from ..._provenance import Provenance, parse_provenance, read_provenance
from ..._schema import SchemaAdapter, canonical_json
from ..._store import PENDING_SUFFIX, STAGED_SUFFIX, inspect_staged
from .._config import ReplayMode
from .._errors import GenerationError
from .._field_change import FieldAsk, FieldFill, FillRefused, fill_data, plan_ask, plan_fill, without
from .._field_mend import fails_beyond, gated_anew, plan_mend
from .._fixture_plan import FixtureInputs, FixturePlan
from .._spec import FixtureSpec
from ._catalog import Catalog, load_catalog
from ._checks import BUILD_CHECKS, BuildCheck, FingerprintOf
from ._index import FreshIndex, IndexEntry, inputs_digest
from ._inputs import InputResolver
from ._schema_change import ChangeKind, SchemaDiff, diff_schemas

__all__ = ["SCHEMA_KEPT", "Planner", "built_from"]

# The check of a stale fixture whose schema change does not matter: its data is kept, its record
# updated, and no model is asked (``Planner.status`` decides it, the pipeline does it).
SCHEMA_KEPT = "schema-kept"
_KEPT = "data still valid — record updated, no call"


def built_from(data_path: Path, meta_path: Path, *, staged: bool = True) -> dict[str, frozenset[str]]:
    """Key -> the digests of the answers a fixture's committed record (and, with ``staged``, its
    staged record) was built from; a record from before digests were kept adds nothing."""
    records: list[Provenance | None] = []
    with contextlib.suppress(ProvenanceError):
        records.append(read_provenance(meta_path))
    if staged:
        pair = inspect_staged(data_path, meta_path)
        records.append(None if pair is None else pair.record)
    found: dict[str, set[str]] = {}
    for record in records:
        for key, digest in (record.answer_digests if record is not None else {}).items():
            found.setdefault(key, set()).add(digest)
    return {key: frozenset(digests) for key, digests in found.items()}


def _hash_of(schema: Any) -> str:
    """The schema hash of a JSON Schema as a record keeps it (``SchemaAdapter.schema_hash``)."""
    return "sha256:" + hashlib.sha256(canonical_json(schema)).hexdigest()


class _Family(Mapping[str, Any]):
    """``Planner.family(spec)``, read when the near-duplicate gate first asks: a value that needs no
    gate (``doit verify``'s byte-identical one) never reads its N siblings."""

    def __init__(self, planner: Planner, spec: FixtureSpec) -> None:
        self._planner = planner
        self._spec = spec
        self._data: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        if self._data is None:
            self._data = self._planner.family(self._spec, settle=True)
        return self._data

    def __getitem__(self, name: str) -> Any:
        return self._read()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def keys(self) -> KeysView[str]:  # the dict's own views: the gate walks them for every sibling
        return self._read().keys()

    def items(self) -> ItemsView[str, Any]:
        return self._read().items()


class Planner:
    """The state of every fixture of a catalog, by one classifier per fixture, and the plan of
    each fixture to rebuild.

    Args:
        resolver: the fixtures' inputs as they are now.
        catalog: the specs (default: imported from the configured generator modules on first use).
        clock: what "now" is (ttl).
        index: the local index of fixtures verified fresh (the quick path of ``status``).
    """

    def __init__(
        self,
        resolver: InputResolver,
        *,
        catalog: Catalog | None = None,
        clock: Clock = utcnow,
        index: FreshIndex | None = None,
    ) -> None:
        self.resolver = resolver
        self.clock = clock
        self.index = index
        self._catalog = catalog
        self._paths = PathCache()
        self._located: dict[str, tuple[Path, Path]] = {}
        # each fixture's data as this run last read or wrote it (None: missing or unreadable), so a
        # family of N variants is read N times per run, not N² (each variant is compared with all)
        self._data: dict[str, Any] = {}
        # fixtures this run is building now: a later-named sibling's gate waits for them to settle
        self._building: set[str] = set()
        self._settled = threading.Condition()
        self.pending_seen: set[str] = set()  # fixtures with a half-finished write, for the commit stage
        self._verified: dict[str, str] = {}  # fixture -> the inputs digest this run found it fresh with
        # fixture -> the new fields its last status found it can take from their defaults
        self._fills: dict[str, FieldFill] = {}
        self._asks: dict[str, FieldAsk] = {}  # new required fields asked alone, by fixture

    @property
    def fixtures_path(self) -> Path:
        return self.resolver.config.fixtures_path

    @property
    def catalog(self) -> Catalog:
        """Every fixture spec (``CatalogError`` when a generator module cannot be imported)."""
        if self._catalog is None:
            self._catalog = load_catalog(self.resolver.config)
        return self._catalog

    def add(self, spec: FixtureSpec) -> None:
        """A one-off spec (``doit generate``) joins this run's catalog, in place of one of that name."""
        self._catalog = Catalog(
            [*(s for s in self.catalog if s.name != spec.name), spec], self.catalog.inputs
        )
        self._located.pop(spec.name, None)

    def paths(self, spec: FixtureSpec) -> tuple[Path, Path]:
        """``(data_path, meta_path)``; ``InvalidFixtureName`` when the name escapes the root."""
        found = self._located.get(spec.name)
        if found is None:  # resolved once per run: symlinks are checked, then remembered
            # names were checked when @fixture declared them (expand); the symlink check runs here
            found = self._located[spec.name] = fixture_paths(
                self.fixtures_path, spec.name, self._paths, validated=True
            )
        return found

    def inputs(self, spec: FixtureSpec) -> FixtureInputs:
        """Every input of ``spec`` as it is now (what the checks compare and a plan holds)."""
        return self.resolver.resolve(spec)

    def classifier(self, spec: FixtureSpec) -> Classifier:
        fixture = self.inputs(spec)
        fingerprint_of = FingerprintOf()
        checks: list[RecordCheck] = [
            BuildCheck(n, fixture, self.resolver, fingerprint_of) for n in BUILD_CHECKS
        ]
        checks.append(TtlCheck(fixture.ttl, use_record_ttl=False))
        return Classifier(fixture.adapter, checks, clock=self.clock)

    def rescan(self) -> None:
        """Forget cached directory listings (after files were written)."""
        self._paths.clear()

    def status(self, spec: FixtureSpec, *, rescan: bool = False, quick: bool = False) -> FixtureStatus:
        """Where ``spec`` stands now; ``rescan`` looks at the fixture's files afresh instead of
        this run's cached directory listing (a build, after other fixtures were written).

        ``quick`` (for ``doit fixtures``' uptodate) answers "fresh" from the local index
        when the fixture's files and inputs are exactly as last verified; the status then
        carries no record (``index_entry`` has what the catalog document needs).
        """
        try:
            data_path, meta_path = self.paths(spec)
        except InvalidFixtureName as exc:  # e.g. a symlink out of the fixtures root
            where = self.fixtures_path / spec.name
            return FixtureStatus(spec.name, FixtureState.INVALID, str(exc), where, where, check="data")
        pending_name = meta_path.name + PENDING_SUFFIX
        staged_name, staged_data_name = meta_path.name + STAGED_SUFFIX, data_path.name + STAGED_SUFFIX
        if rescan:
            # this fixture's own files, looked at now: re-listing its directory for every build
            # made a family of N variants in one directory cost N² entries (minutes at 10,000)
            directory = meta_path.parent
            there = {
                n for n in (pending_name, staged_name, staged_data_name) if os.path.lexists(directory / n)
            }
        else:
            there = set(
                self._paths.listing(str(meta_path.parent)) & {pending_name, staged_name, staged_data_name}
            )
        pending, staged = pending_name in there, staged_name in there
        if pending or staged != (staged_data_name in there):
            self.pending_seen.add(spec.name)  # a half-finished write for the commit stage to tidy
        quiet = not there
        self._verified.pop(spec.name, None)
        self._fills.pop(spec.name, None)
        self._asks.pop(spec.name, None)
        if quick and quiet and self.index is not None:
            entry = self.index.get(spec.name)
            digest = (
                None
                if entry is None
                else self._digest(spec, entry.templates, entry.schemas_used, entry.samplers)
            )
            if (
                digest is not None
                and self.index.fresh(spec.name, data_path, meta_path, digest)
                and self._ttl_holds(spec, meta_path)
            ):
                self._verified[spec.name] = digest
                return FixtureStatus(spec.name, FixtureState.FRESH, "up to date", data_path, meta_path)
        status = self.classifier(spec).classify(
            spec.name, data_path, meta_path, pending=pending, staged=staged
        )
        if quiet and status.state is FixtureState.STALE and status.check == "schema":
            status = self._schema_change(spec, status)
        if quiet and self.index is not None:
            self._remember(spec, status)
        return status

    # -- a schema change, classified ---------------------------------------------------

    def _schema_change(self, spec: FixtureSpec, status: FixtureStatus) -> FixtureStatus:
        """``status`` (stale: a schema changed) with the change in words and classified, from the
        schema copies the record keeps; a change that does not matter becomes ``SCHEMA_KEPT``. A
        record without copies (from before they were kept) stays a rebuild, as it was."""
        record = status.record
        fp = None if record is None else FingerprintOf()(record)
        if record is None or not record.schemas or fp is None or isinstance(fp, str):
            return status
        fixture = self.inputs(spec)
        changed: list[tuple[str, str, SchemaAdapter[Any], bool]] = []
        if record.schema_hash != fixture.adapter.schema_hash():
            changed.append((record.schema_name, record.schema_hash, fixture.adapter, True))
        for name, digest in sorted(fp.schemas_used.items()):
            adapter = self.resolver.named_adapter(name)
            if adapter is None:
                return status  # "schema X is gone": a rebuild
            if adapter.schema_hash() != digest:
                changed.append((name, digest, adapter, False))
        if not changed:
            return status
        said: list[str] = []
        worst = ChangeKind.ANNOTATION
        added: tuple[dict[str, Any], SchemaDiff] | None = None  # fields added to its own schema
        fillable = True
        others = ChangeKind.ANNOTATION  # the worst change to a schema the model is asked under
        own_before: dict[str, Any] | None = None  # its own schema as the record keeps it, if changed
        for name, digest, adapter, own in changed:
            old, new = record.schemas.get(name), adapter.canonical_schema()
            if old is None or new is None or _hash_of(old) != digest:
                return status  # no copy of it (or not the one hashed): nothing to compare with
            diff = diff_schemas(old, new)
            words = diff.words()
            kind = diff.kind
            if not own and kind is ChangeKind.CONSTRAINT:  # what the model is asked under it: asked again
                kind = ChangeKind.BREAKING
                words += ", a constraint on what the model is asked"
            if kind is ChangeKind.ADDITIVE:  # only a field of its own schema is filled, never asked under
                added = (new, diff) if own else None
                fillable = fillable and own
            said.append(f"schema: {words}" if own else f"schema {name.rsplit(':', 1)[-1]}: {words}")
            worst = max(worst, kind)
            others = others if own else max(others, kind)
            own_before = old if own else own_before
        change = "; ".join(said)
        fill, ask = None, None
        item_by_item = False  # new required fields inside array items: asked at each item's pointer
        if worst is ChangeKind.ADDITIVE and added is not None and fillable:
            new, diff = added
            at = [c.at for c in diff.changes if c.kind is ChangeKind.ADDITIVE]
            found = plan_fill(new, at)
            if isinstance(found, str):  # no default: each new required field asked alone, if it can be
                asked = plan_ask(new, at)
                if isinstance(asked, str) and "once in every item" not in asked:
                    return dataclasses.replace(status, reason=f"{change} (additive); {asked}: rebuilt")
                # in array items: asked item by item, at the pointers the committed data has
                ask, item_by_item = (asked, False) if isinstance(asked, FieldAsk) else (None, True)
            else:
                fill = found
        elif worst >= ChangeKind.ADDITIVE and others >= ChangeKind.ADDITIVE:
            label = "additive" if worst is ChangeKind.ADDITIVE else "breaking"
            return dataclasses.replace(status, reason=f"{change} ({label})")
        try:
            raw = status.data_path.read_bytes()
        except OSError:
            return status
        if (fill is not None or ask is not None) and fails_beyond(fixture.adapter, raw, ask):
            # a field added beside another change the data does not meet (a tightened field):
            # what the data fails at, new fields included, is met field by field
            fill, ask, worst = None, None, ChangeKind.BREAKING
        if fill is not None:
            try:
                fill_data(fixture.adapter, raw, fill, fixture.secrets)
            except FillRefused as exc:
                return dataclasses.replace(status, reason=f"{change} (additive); {exc}: rebuilt")
        elif ask is None and (worst is ChangeKind.BREAKING or fixture.adapter.errors_for(raw)):
            # only its own schema changed: what the data fails at is asked alone, what the schema
            # no longer has is dropped, the rest kept
            mended = plan_mend(fixture.adapter, raw, fixture.secrets)
            label = " (additive)" if item_by_item else " (breaking)"
            if isinstance(mended, str):
                return dataclasses.replace(status, reason=f"{change}{label}; {mended}: rebuilt")
            if isinstance(mended, FieldAsk):
                ask = mended
            else:
                fill = mended
            change += label
        new_schema = fixture.adapter.canonical_schema()
        if own_before is not None and new_schema is not None and worst >= ChangeKind.CONSTRAINT:
            # a value kept (beside a field dropped, filled or asked, too) that a gate would now refuse
            kept = (
                raw
                if fill is None or not fill.dropped
                else canonical_json(without(json.loads(raw), fill.dropped))
            )
            gated = gated_anew(kept, fixture.quality, own_before, new_schema)
            if gated is not None and ask is not None and not _within(gated.pointers, ask.pointers):
                # the build asks only what the data fails at, then the gates refuse the kept value
                return dataclasses.replace(
                    status,
                    reason=f"{change} (breaking); {gated.reasons[0]}, beside fields asked alone: rebuilt",
                )
            if gated is not None and ask is None:  # valid, but a kept value would now be refused by a gate
                ask = dataclasses.replace(gated, dropped=() if fill is None else fill.dropped)
                fill = None
                change += "" if change.endswith(" (breaking)") else " (breaking)"
        # the data still meets the schema: kept, unless something else changed too (then rebuilt)
        now = self.clock()
        for check in self.classifier(spec).checks:
            if check.name in ("fingerprint", "schema"):
                continue
            objection = check(record, now, raw)
            if objection is not None:
                return dataclasses.replace(status, reason=f"{objection}; and {change}", check=check.name)
        label = "" if change.endswith((" (breaking)", " (additive)")) else " (additive)"
        if ask is not None:  # rebuilt: its recorded answer replayed, the fields it fails at asked alone
            self._asks[spec.name] = ask
            return dataclasses.replace(status, reason=f"{change}{label}; {ask.words()}")
        if fill is None:
            reason = f"{change}; {_KEPT}"
        else:
            reason = f"{change}{label}; {fill.words()}"
            self._fills[spec.name] = fill
        return dataclasses.replace(status, reason=reason, check=SCHEMA_KEPT)

    def schemas_used_now(self, name: str, record: Provenance) -> dict[str, SchemaAdapter[Any]]:
        """The other schemas ``record``'s generator asked the model for, as they are now, by name
        (a record kept or migrated is brought up to them); ``GenerationError`` when one is gone."""
        used = {}
        for schema in sorted((record.fingerprint or {}).get("schemas_used") or {}):
            adapter = self.resolver.named_adapter(schema)
            if adapter is None:
                raise GenerationError(f"fixture {name}: schema {schema} is gone; rebuild it with force=1")
            used[schema] = adapter
        return used

    # -- what a rebuild is planned from --------------------------------------------------

    def plan(
        self,
        spec: FixtureSpec,
        status: FixtureStatus,
        *,
        forced: bool = False,
        replay: ReplayMode = "auto",
        batch: bool = False,
        staged_answers: bool = True,
    ) -> FixturePlan:
        """The plan of rebuilding ``spec``, whose ``status`` was just found.

        ``forced``: rebuilt though it needs no build (``force=1``); ``replay``: the run's replay
        mode; ``batch``: its first requests may wait for this run's batch; ``staged_answers``: an
        answer its staged record was built from counts as one it was built from (not in ``doit
        verify``, which rebuilds the committed data)."""
        data_path, meta_path = self.paths(spec)
        reason = "new fixture" if status.state is FixtureState.MISSING else status.reason
        if forced and not status.needs_build:
            reason = "forced (force=1)"
        elif status.check in ("schema", SCHEMA_KEPT) and (forced or replay == "off"):
            reason = self._whole(spec.name, status, "force=1" if forced else "replay=off")
        return FixturePlan(
            inputs=self.inputs(spec),
            data_path=data_path,
            meta_path=meta_path,
            reason=reason,
            # an expired ttl asks for new data: the recorded answers are what expired
            replay="off" if status.check == "ttl" and replay == "auto" else replay,
            batch=batch,
            family=_Family(self, spec),
            built_from=built_from(data_path, meta_path, staged=staged_answers),
            kept_through_schema_change=status.record is not None and bool(status.record.kept_through),
            fill=self._fills.get(spec.name) if status.check == SCHEMA_KEPT else None,
            ask=self._asks.get(spec.name)
            if status.check == "schema" and not forced and replay != "off"
            else None,
        )

    def _whole(self, name: str, status: FixtureStatus, why: str) -> str:
        """``status``'s reason, when what it plans to keep (fields asked alone, filled, dropped or
        the record only updated) is not kept under ``why``: the fixture is rebuilt whole."""
        planned = self._asks.get(name) if status.check == "schema" else self._fills.get(name)
        if status.check == SCHEMA_KEPT and why == "replay=off":
            return status.reason  # kept as planned: nothing is replayed, nothing asked
        said = f"; {planned.words()}" if planned is not None else f"; {_KEPT}"
        if not status.reason.endswith(said):
            return status.reason
        return f"{status.reason.removesuffix(said)}; rebuilt whole ({why})"

    def family(self, spec: FixtureSpec, *, settle: bool = False) -> dict[str, Any]:
        """The data of the other variants of ``spec``'s generator (a family must not repeat itself).

        ``settle``: first wait until the earlier-named siblings this run is building have been
        written or have failed (at most the fixture's timeout), so two siblings built at once are
        compared in name order, as ``doit validate`` compares them afterwards."""
        siblings = [other for other in self.catalog.family(spec) if other.name != spec.name]
        if settle:
            earlier = {other.name for other in siblings if other.name < spec.name}
            with self._settled:
                self._settled.wait_for(lambda: not earlier & self._building, self.inputs(spec).timeout)
        found: dict[str, Any] = {}
        for other in siblings:
            if other.name not in self._data:
                try:
                    self._data[other.name] = json.loads(self.paths(other)[0].read_bytes())
                except (OSError, ValueError, HotDataError):
                    self._data[other.name] = None  # missing, unreadable or invalid: nothing to compare with
            if self._data[other.name] is not None:
                found[other.name] = self._data[other.name]
        return found

    def building(self, name: str) -> None:
        """This run is building fixture ``name`` now (its later-named siblings' gates wait for it)."""
        with self._settled:
            self._building.add(name)

    def wrote(self, name: str, data: Any) -> None:
        """This run wrote (or staged) ``data`` for fixture ``name``: its family compares with it."""
        self._data[name] = data

    def settled(self, name: str) -> None:
        """Fixture ``name`` is written, or failed: the siblings waiting for it go on."""
        with self._settled:
            self._building.discard(name)
            self._settled.notify_all()

    # -- the local index --------------------------------------------------------------

    def verified_digest(self, spec: FixtureSpec) -> str | None:
        """The inputs digest ``spec`` was last found fresh with in this run, when the local index
        holds it (its files older than the racy window); else None."""
        digest = self._verified.get(spec.name)
        entry = None if self.index is None or digest is None else self.index.get(spec.name)
        return digest if entry is not None and entry.digest == digest else None

    def _ttl_holds(self, spec: FixtureSpec, meta_path: Path) -> bool:
        """No ttl, or the record (read now: local state never decides an expiry) is within it."""
        ttl = self.inputs(spec).ttl
        if ttl is None:
            return True
        try:
            record = parse_provenance(meta_path, meta_path.read_bytes())
        except (OSError, ProvenanceError):
            return False  # verified in full, which says what is wrong
        return TtlCheck(ttl, use_record_ttl=False)(record, self.clock()) is None

    def _digest(
        self,
        spec: FixtureSpec,
        templates: Sequence[str],
        schemas_used: Sequence[str],
        samplers: Sequence[str] = (),
    ) -> str:
        """Everything the build's checks compare, as it is now, for one fixture: the resolved
        inputs the fingerprint is recorded from, with the templates and other schemas as they are,
        and the installed versions of the libraries ``ctx.sample`` drew from (when it drew)."""
        fixture = self.inputs(spec)
        now = self.resolver
        sampled = [{s: now.library_version(s) for s in samplers}] if samplers else []
        return inputs_digest(
            [
                fixture.fingerprint({}, {}),
                spec.name,
                sorted(spec.templates),
                {t: now.template_hash(t) for t in templates},
                {n: now.named_schema_hash(n) for n in schemas_used},
                fixture.quality_hash,
                None if fixture.ttl is None else fixture.ttl.total_seconds(),
                *sampled,
            ]
        )

    def _remember(self, spec: FixtureSpec, status: FixtureStatus) -> None:
        assert self.index is not None
        record = status.record
        if status.state is not FixtureState.FRESH or record is None:
            self.index.forget(spec.name)
            return
        fp = record.fingerprint or {}
        templates = tuple(sorted(fp.get("templates") or {}))
        schemas_used = tuple(sorted(fp.get("schemas_used") or {}))
        samplers = tuple(sorted(fp.get("samplers") or {}))
        entry = IndexEntry(
            (0, 0, 0, 0, 0),
            (0, 0, 0, 0, 0),
            self._digest(spec, templates, schemas_used, samplers),
            record.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            record.model or "-",
            templates,
            schemas_used,
            samplers,
        )
        self.index.remember(spec.name, status.data_path, status.meta_path, entry)
        if self.index.get(spec.name) is not None:
            self._verified[spec.name] = entry.digest


def _within(pointers: Sequence[str], asked: Sequence[str]) -> bool:
    """Whether each of ``pointers`` is one of ``asked`` or inside one (asked again with it)."""
    return all(any(p == a or p.startswith(a + "/") for a in asked) for p in pointers)
