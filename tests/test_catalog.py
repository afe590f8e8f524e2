"""This repository's own catalog: committed, fresh and valid, loaded the way users load it."""

from __future__ import annotations

from pathlib import Path

import pytest

from generators.schemas import AgentSnapshot
from hotdata import FixtureState
from hotdata.make import FreshnessChecker, load_catalog, load_config
from hotdata.pytest_plugin import HotDataAccess

ROOT = Path(__file__).resolve().parents[1]


def test_every_catalog_fixture_is_committed_fresh_and_valid() -> None:
    config = load_config(ROOT, environ={})
    catalog = load_catalog(config)
    assert len(catalog) >= 8
    checker = FreshnessChecker(config)
    reports = {spec.name: checker.check(spec) for spec in catalog}
    stale = {n: r.reason for n, r in reports.items() if r.state is not FixtureState.FRESH}
    assert stale == {}, "run `doit fixtures` and commit fixtures/"
    for spec in catalog:
        raw = checker.paths(spec)[0].read_bytes()
        assert checker.adapter(spec.schema).errors_for(raw) == []
    readme = (config.fixtures_path / "README.md").read_text()
    assert all(f"`{spec.name}`" in readme for spec in catalog)


def test_the_test_fixture_through_the_plugin(hotdata: HotDataAccess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    agent = hotdata.load("test/agent_minimal", AgentSnapshot)
    assert agent.name == "Probe"
    assert agent.phase == "idle"
    assert len(agent.summary) >= 40
