"""This repository's own catalog: committed, fresh, good and documented, loaded the way users load it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from generators.schemas import AgentSnapshot
from hotdata import FixtureState
from hotdata.make import load_config
from hotdata.make.commands import quality_problems
from hotdata.make.plan import InputResolver, Planner
from hotdata.pytest_plugin import HotDataAccess

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("agent_snapshots", "garden_states", "polynomial_states", "thoughts_streams")


def test_every_catalog_fixture_is_committed_fresh_good_and_documented() -> None:
    config = load_config(ROOT, environ={})
    planner = Planner(InputResolver(config))
    catalog = planner.catalog
    per_family = Counter(spec.name.split("/")[0] for spec in catalog)
    assert all(per_family[family] >= 3 for family in FAMILIES), per_family
    assert "test/agent_minimal" in catalog
    statuses = {spec.name: planner.status(spec) for spec in catalog}
    stale = {n: s.reason for n, s in statuses.items() if s.state is not FixtureState.FRESH}
    assert stale == {}, "run `doit fixtures` and commit fixtures/"  # fresh includes: data validates
    problems = [p for spec in catalog for p in quality_problems(planner, spec, statuses[spec.name])]
    assert problems == []  # every gate, near-duplicate variants included
    readme = (config.fixtures_path / "README.md").read_text()
    assert all(f"`{spec.name}`" in readme for spec in catalog)


def test_the_test_fixture_through_the_plugin(hotdata: HotDataAccess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    agent = hotdata.load("test/agent_minimal")  # declared once: the schema comes from the record
    assert isinstance(agent, AgentSnapshot)
    assert agent.name == "Probe"
    assert agent.phase == "idle"
    assert len(agent.summary) >= 40
