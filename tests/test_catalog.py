"""This repository's own catalog: committed, fresh, good and documented, loaded the way users load it."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from datetime import datetime, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, get_args

import pytest
from faker import Faker

from generators.agents import ACTIVITIES, ACTIVITY_KINDS
from generators.crew import LOCALES, crew
from generators.schemas import AgentSnapshot, Relation
from generators.world import TRIGGERS
from hotdata import FixtureState
from hotdata.make import FixtureSpec, Sampler, load_config
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


# The structure of the catalog is drawn by ctx.sample (issue 24), not picked from lists in code.

PROSE = re.compile(r"/(activity|summary|narrative|stance|description|text)$")


@cache
def generated() -> list[FixtureSpec]:
    """The catalog's fixtures written by a model (the test fixture is hand-shaped)."""
    catalog = Planner(InputResolver(load_config(ROOT, environ={}))).catalog
    return [spec for spec in catalog if not spec.name.startswith("test/")]


def committed(name: str) -> Any:
    return json.loads((ROOT / "fixtures" / f"{name}.json").read_text())


def leaves(value: Any, pointer: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in leaves(item, f"{pointer}/{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in leaves(item, f"{pointer}/{i}").items()}
    return {pointer: value}


class StructureOnly:
    """A generator's context with the model taken out: ``ctx.sample`` seeded as a build seeds
    it (by the fixture's name), each prose field its opener and "ok"."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rng = random.Random(name)
        self.sample = Sampler(self.rng)

    def render(self, template: str | None = None, **variables: Any) -> str:
        return ""

    async def write(self, instruction: str, *, start: str | list[str] | None = None, **options: Any) -> str:
        openers = [start] if isinstance(start, str) else list(start or ["It"])
        return " ".join(f"{opener} ok." for opener in openers)


def structure(spec: FixtureSpec) -> dict[str, Any]:
    value = asyncio.run(spec.generator(StructureOnly(spec.name), **spec.params))
    return {k: v for k, v in leaves(value.model_dump(mode="json")).items() if not PROSE.search(k)}


@cache
def crew_names() -> frozenset[str]:
    """Every first name the crew can be drawn from: Faker's lists of the crew's locales."""
    names: set[str] = set()
    for locale in LOCALES:
        person = Faker(locale).provider("faker.providers.person")
        names |= set(person.first_names_female) | set(person.first_names_male)  # type: ignore[union-attr]
    return frozenset(names)


def test_the_committed_structure_is_what_ctx_sample_draws_for_each_fixture_name() -> None:
    """Names, numbers, kinds and times of every fixture are the generator's ctx.sample draws on
    the fixture's own seed: run without a model, each generator gives the committed structure."""
    for spec in generated():
        expected = {k: v for k, v in leaves(committed(spec.name)).items() if not PROSE.search(k)}
        assert structure(spec) == expected, spec.name


def test_every_generated_fixture_sampled_its_people_with_faker() -> None:
    for spec in generated():
        record = json.loads((ROOT / "fixtures" / f"{spec.name}.meta.json").read_text())
        assert set(record["fingerprint"].get("samplers", {})) == {"faker"}, spec.name


def test_the_catalog_people_are_faker_first_names_never_from_a_list_in_code() -> None:
    found: list[str] = []
    for spec in generated():
        data = leaves(committed(spec.name))
        found += [
            v
            for k, v in data.items()
            if re.fullmatch(r"/name|/agent|/agents/\d+/name|/connections/\d+/target", k)
        ]
    assert found and set(found) <= crew_names(), set(found) - crew_names()
    assert len(set(found)) >= 0.8 * len(found)  # a crew per fixture, not one roster for all


def test_a_crew_depends_on_the_fixture_name_alone() -> None:
    first = [p.first_name for p in crew(StructureOnly("garden_states/a"), 3)]  # type: ignore[arg-type]
    assert first == [p.first_name for p in crew(StructureOnly("garden_states/a"), 3)]  # type: ignore[arg-type]
    others = {tuple(p.first_name for p in crew(StructureOnly(f"x/{i}"), 3)) for i in range(20)}  # type: ignore[arg-type]
    assert len(others) == 20
    people = crew(StructureOnly("x/many"), 40)  # type: ignore[arg-type]
    assert len({p.first_name for p in people}) == 40
    assert {p.locale for p in people} > {"en_US"}  # the locale mix reaches Faker
    assert {p.gender for p in people} == {"female", "male"}


def test_the_catalog_categories_are_the_declared_ones() -> None:
    for spec in generated():
        data = committed(spec.name)
        if spec.name.startswith("agent_snapshots/"):
            verbs = {v for kind in ACTIVITY_KINDS[data["phase"]] for v in ACTIVITIES[kind]}
            assert data["activity"].split()[0].lower() in verbs, spec.name
            assert {c["relation"] for c in data["connections"]} <= set(get_args(Relation))
            assert all(0.05 <= c["strength"] <= 1 for c in data["connections"])
        if spec.name.startswith("polynomial_states/"):
            kinds = dict(zip(spec.params["positions"], spec.params["kinds"], strict=True))
            assert all(t["trigger"] in TRIGGERS[kinds[t["source"]]] for t in data["transitions"]), spec.name
            assert len({t["trigger"] for t in data["transitions"]}) == len(data["transitions"])
        if spec.name.startswith("thoughts_streams/"):
            times = [datetime.fromisoformat(t["at"]) for t in data["thoughts"]]
            gaps = [b - a for a, b in pairwise(times)]
            assert all(timedelta(seconds=15) <= gap <= timedelta(minutes=2) for gap in gaps), spec.name
            assert 6 <= times[0].hour < 23 and str(times[0].date()) == spec.params["day"]


def test_an_agent_is_spoken_of_with_its_own_pronoun() -> None:
    """The sampled gender reaches the prompt: no agent snapshot calls its agent by the other pronoun."""
    other = {"female": r"\b(he|him|his|himself)\b", "male": r"\b(she|her|hers|herself)\b"}
    for spec in generated():
        if not spec.name.startswith("agent_snapshots/"):
            continue
        ctx = StructureOnly(spec.name)
        ctx.sample.integer(2, 4)  # the generator's first draw: how many others
        (gender,) = {p.gender for p in crew(ctx, 1)}  # type: ignore[arg-type]
        data = committed(spec.name)
        text = f"{data['activity']} {data['summary']}"
        assert gender and not re.search(other[gender], text, re.IGNORECASE), (spec.name, gender, text)
