"""The plan stage: one classifier, every reason it gives, in-process (the doit tests cover the wiring)."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from hotdata import FixtureState, HotData
from hotdata._freshness import BUILD_CHECK_NAMES
from hotdata.make import FixtureSpec, HotDataConfig
from hotdata.make.commit import write_pair
from hotdata.make.generate import Tally, make_candidate
from hotdata.make.plan import BUILD_CHECKS, FINGERPRINT_FORMAT, Catalog, FreshIndex, InputResolver, Planner

NOW = datetime(2026, 3, 1, tzinfo=UTC)


class Note(BaseModel):
    title: str


class Helper(BaseModel):
    text: str


class NoteV2(BaseModel):
    title: str
    mood: str = "calm"


class NoteV3(BaseModel):
    title: int


async def gen(ctx: Any, **params: Any) -> Note:
    return Note(title="t")


class World:
    """A project directory with one fixture written as a build would write it."""

    def __init__(self, root: Path, spec: FixtureSpec, config: dict[str, Any] | None = None) -> None:
        self.root = root
        (root / "templates").mkdir(exist_ok=True)
        (root / "templates" / "note.j2").write_text("Write a note.\n")
        self.config = HotDataConfig(root=root, templates_dir="templates", model="m", **(config or {}))
        self.spec = spec
        self.write(spec)

    def inputs(self) -> InputResolver:
        return InputResolver(self.config)  # a new process: nothing cached

    def planner(self, spec: FixtureSpec, now: datetime = NOW, index: Any = None) -> Planner:
        return Planner(self.inputs(), catalog=Catalog([spec]), clock=lambda: now, index=index)

    def write(
        self, spec: FixtureSpec, schemas_used: dict[str, str] | None = None, when: datetime = NOW
    ) -> None:
        """The fixture as a build writes it: planned, generated (a value the model's answer would
        give), committed."""
        inputs = self.inputs()
        closure = {t: inputs.template_hash(t) or "" for t in spec.templates}
        planner = self.planner(spec, when)
        plan = planner.plan(spec, planner.status(spec))
        c = make_candidate(
            plan,
            Note(title="t"),
            Tally(),
            generated_at=when,
            templates=closure,
            schemas_used=schemas_used or {},
        )
        write_pair(c.data_path, c.meta_path, c.data, c.record.to_bytes(), c.record.data_sha256)

    def status(self, spec: FixtureSpec | None = None, now: datetime = NOW) -> tuple[FixtureState, str, str]:
        spec = spec or self.spec
        s = self.planner(spec, now).status(spec)
        return s.state, s.check, s.reason

    @property
    def meta(self) -> Path:
        return self.config.fixtures_path / f"{self.spec.name}.meta.json"

    @property
    def data(self) -> Path:
        return self.config.fixtures_path / f"{self.spec.name}.json"

    def edit_record(self, **changes: Any) -> None:
        record = json.loads(self.meta.read_text())
        for key, value in changes.items():
            target = record
            *path, last = key.split(".")
            for part in path:
                target = target[part]
            target[last] = value
        self.meta.write_text(json.dumps(record))


@pytest.fixture
def world(tmp_path: Path) -> World:
    spec = FixtureSpec(name="notes/a", generator=gen, schema=Note, templates=("note.j2",), params={"k": 1})
    return World(tmp_path, spec)


def test_fresh(world: World) -> None:
    assert world.status() == (FixtureState.FRESH, "", "up to date")


def test_fingerprint_format(world: World) -> None:
    world.edit_record(**{"fingerprint.format": 1})
    expected = f"fingerprint format changed (1 -> {FINGERPRINT_FORMAT})"
    assert world.status() == (FixtureState.STALE, "format", expected)


def test_generator_code_and_version_pin(world: World) -> None:
    async def other(ctx: Any, **params: Any) -> Note:
        return Note(title="other")

    changed = dataclasses.replace(world.spec, generator=other)
    assert world.status(changed) == (FixtureState.STALE, "generator", "generator other changed")
    pinned = dataclasses.replace(world.spec, version="2")
    assert world.status(pinned) == (FixtureState.STALE, "generator", "generator gen version changed")


def test_templates_added_missing_changed(world: World) -> None:
    (world.root / "templates" / "extra.j2").write_text("More.\n")
    added = dataclasses.replace(world.spec, templates=("note.j2", "extra.j2"))
    assert world.status(added) == (FixtureState.STALE, "templates", "template extra.j2 added")
    (world.root / "templates" / "note.j2").write_text("Write a better note.\n")
    assert world.status() == (FixtureState.STALE, "templates", "template note.j2 changed")
    (world.root / "templates" / "note.j2").unlink()
    assert world.status() == (FixtureState.STALE, "templates", "template note.j2 is missing")


def test_schema_changed_and_helper_schema_changed_or_gone(world: World) -> None:
    # a field with a default is filled in, the data kept; a changed type is a rebuild
    filled = world.status(dataclasses.replace(world.spec, schema=NoteV2))
    assert filled[:2] == (FixtureState.STALE, "schema-kept")
    assert "/mood filled from the schema's default" in filled[2]
    assert world.status(dataclasses.replace(world.spec, schema=NoteV3))[:2] == (FixtureState.STALE, "schema")
    inputs = world.inputs()
    world.write(world.spec, schemas_used={f"{__name__}:Helper": inputs.adapter(Helper).schema_hash()})
    assert world.status()[0] is FixtureState.FRESH
    world.write(world.spec, schemas_used={f"{__name__}:Helper": "sha256:old"})
    assert world.status() == (FixtureState.STALE, "schema", "schema Helper changed")
    world.write(world.spec, schemas_used={f"{__name__}:Gone": "sha256:old"})
    assert world.status() == (FixtureState.STALE, "schema", "schema Gone is gone")


def test_params_model_and_options(world: World) -> None:
    params = dataclasses.replace(world.spec, params={"k": 2})
    assert world.status(params) == (FixtureState.STALE, "params", "variant parameters changed")
    model = dataclasses.replace(world.spec, model="other")
    assert world.status(model) == (FixtureState.STALE, "model", "model changed (m -> other)")
    options = dataclasses.replace(world.spec, model_options={"temperature": 0.1})
    assert world.status(options) == (FixtureState.STALE, "model", "model options changed")


def test_ttl_counts_from_the_record_and_a_future_record_is_stale(world: World) -> None:
    with_ttl = dataclasses.replace(world.spec, ttl="1d")
    world.write(with_ttl)
    assert world.status(with_ttl, NOW + timedelta(hours=23))[0] is FixtureState.FRESH
    assert world.status(with_ttl, NOW + timedelta(days=3)) == (
        FixtureState.STALE,
        "ttl",
        "ttl 1d expired 2d ago",
    )
    world.write(with_ttl, when=datetime(2100, 1, 1, tzinfo=UTC))
    state, check, reason = world.status(with_ttl)
    assert (state, check) == (FixtureState.STALE, "ttl")
    assert "2100-01-01 00:00 UTC is in the future" in reason
    world.write(with_ttl, when=datetime(9999, 12, 31, tzinfo=UTC))  # + ttl overflows a datetime
    assert world.status(with_ttl)[:2] == (FixtureState.STALE, "ttl")


def test_record_unreadable_missing_or_of_another_fixture(world: World) -> None:
    world.edit_record(**{"fingerprint.templates": ["note.j2"]})
    state, check, reason = world.status()
    assert (state, check) == (FixtureState.STALE, "fingerprint")
    assert reason.startswith("provenance record a.meta.json unreadable: fingerprint.templates:")
    world.edit_record(name="notes/b", **{"fingerprint.templates": {}})
    assert world.status()[1:] == ("name", "the record names fixture 'notes/b', not 'notes/a'")
    world.meta.write_text("[1, 2")
    assert world.status()[:2] == (FixtureState.STALE, "record")
    world.meta.unlink()
    assert world.status() == (FixtureState.STALE, "record", "provenance record a.meta.json is missing")


def test_edited_kept_but_invalid_wins_and_missing(world: World) -> None:
    world.data.write_text('{"title": "hand-written"}\n')
    assert world.status()[:2] == (FixtureState.EDITED, "edited")
    world.data.write_text('\ufeff{"title": "x",}')  # a BOM and a trailing comma: not JSON any more
    broken = world.planner(world.spec).status(world.spec)
    assert (broken.state, broken.check) == (FixtureState.INVALID, "edited")  # invalid wins over edited
    assert not broken.needs_build  # but a hand edit is never overwritten by a normal build
    world.meta.unlink()
    assert world.status()[:2] == (FixtureState.INVALID, "data")  # nothing says it was generated: rebuilt
    world.data.unlink()
    assert world.status() == (FixtureState.MISSING, "data", "a.json does not exist")


def test_runtime_and_build_classifiers_agree_where_both_can_see(world: World) -> None:
    handle = HotData(world.data, Note, name="notes/a", clock=lambda: NOW)
    assert handle.status().state is FixtureState.FRESH
    with_ttl = dataclasses.replace(world.spec, ttl="1d")
    world.write(with_ttl)
    later = NOW + timedelta(days=3)
    runtime = HotData(world.data, Note, name="notes/a", clock=lambda: later).status()
    assert (runtime.state, runtime.reason) == (FixtureState.STALE, "ttl 1d expired 2d ago")
    assert world.status(with_ttl, later)[2] == runtime.reason


def test_the_runtime_names_the_build_checks_it_skips() -> None:
    assert BUILD_CHECK_NAMES == BUILD_CHECKS


# -- the local index: every reason above is still seen when the index is warm ------------------


def warm_planner(world: World, spec: FixtureSpec | None = None) -> tuple[Planner, FreshIndex]:
    """A planner whose index trusts the fixture as fresh (its files counted as old enough)."""
    index = FreshIndex(world.root / ".hotdata", clock_ns=lambda: time.time_ns() + 10**12)
    spec = spec or world.spec
    planner = world.planner(spec, index=index)
    assert planner.status(spec).state is FixtureState.FRESH  # verified in full: remembered
    assert index.get(spec.name) is not None
    return planner, index


def quick(world: World, index: Any, spec: FixtureSpec | None = None, now: datetime = NOW) -> tuple[str, str]:
    spec = spec or world.spec
    planner = world.planner(spec, now, index)  # a new run
    status = planner.status(spec, quick=True)
    return status.state.value, status.check


def test_the_index_answers_fresh_without_reading_and_misses_every_change(world: World) -> None:
    _, index = warm_planner(world)
    assert quick(world, index) == ("fresh", "")
    world.edit_record(**{"fingerprint.format": 1})  # the record changed: its stat differs
    assert quick(world, index) == ("stale", "format")


@pytest.mark.parametrize(
    "change",
    ["template", "template-missing", "params", "model", "options", "schema", "generator", "ttl", "quality"],
)
def test_a_warm_index_still_sees_every_input_change(world: World, change: str) -> None:
    _, index = warm_planner(world)
    spec = world.spec
    if change == "template":
        (world.root / "templates" / "note.j2").write_text("Another note.\n")
    elif change == "template-missing":
        (world.root / "templates" / "note.j2").unlink()
    elif change == "params":
        spec = dataclasses.replace(spec, params={"k": 2})
    elif change == "model":
        spec = dataclasses.replace(spec, model="other")
    elif change == "options":
        spec = dataclasses.replace(spec, model_options={"seed": 3})
    elif change == "schema":
        spec = dataclasses.replace(spec, schema=NoteV2)
    elif change == "generator":

        async def other(ctx: Any, **params: Any) -> Note:
            return Note(title="other")

        spec = dataclasses.replace(spec, generator=other)
    elif change == "ttl":
        spec = dataclasses.replace(spec, ttl="1d")
    elif change == "quality":
        spec = dataclasses.replace(spec, quality=lambda data, context: ["a new check refuses it"])
    state, _ = quick(world, index, spec, now=NOW + timedelta(days=3))
    assert state == "stale", change


def test_a_warm_index_sees_an_edit_that_keeps_size_and_mtime(world: World) -> None:
    _, index = warm_planner(world)
    before = world.data.stat()
    text = world.data.read_text()
    world.data.write_text(text.replace('"t"', '"T"'))  # same size
    os.utime(world.data, ns=(before.st_atime_ns, before.st_mtime_ns))  # touch -r: the mtime put back
    assert world.data.stat().st_size == before.st_size
    assert quick(world, index) == ("edited", "edited")  # the ctime moved: verified in full


def test_racy_files_are_not_remembered(world: World) -> None:
    index = FreshIndex(world.root / ".hotdata")  # the real clock: the files were written just now
    planner = world.planner(world.spec, index=index)
    assert planner.status(world.spec).state is FixtureState.FRESH
    assert index.get(world.spec.name) is None  # too fresh to be trusted on its stat alone


def test_a_build_sees_its_own_half_written_files_without_listing_the_directory(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before a build, a fixture's pending and staged files are looked at directly: listing the
    directory for every build made a family of N variants in one directory cost N² entries."""
    from hotdata._names import PathCache
    from hotdata._store import PENDING_SUFFIX

    planner = world.planner(world.spec)
    assert planner.status(world.spec).state is FixtureState.FRESH  # the run lists the directory once
    _, meta = planner.paths(world.spec)
    (meta.parent / (meta.name + PENDING_SUFFIX)).write_bytes(meta.read_bytes())  # appears after the listing
    scans: list[str] = []
    scan = PathCache._scan

    def counted(self: PathCache, directory: str) -> None:
        scans.append(directory)
        scan(self, directory)

    monkeypatch.setattr(PathCache, "_scan", counted)
    planner.status(world.spec, rescan=True)
    assert scans == []
    assert world.spec.name in planner.pending_seen  # seen, though the cached listing predates it
    planner.pending_seen.clear()
    planner.status(world.spec)  # a plain status answers from the run's listing, as before
    assert world.spec.name not in planner.pending_seen
