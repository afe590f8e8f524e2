"""Gardens, state machines and thought streams: structure computed here, prose by the model."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from hotdata.make import GenerationContext, fixture

from .schemas import GardenAgent, GardenSnapshot, PolynomialState, Thought, ThoughtsStream, Transition

GARDENERS = ("Juniper", "Basalt", "Wren", "Calder", "Ilex", "Moss")


class GardenProse(BaseModel):
    narrative: str = Field(min_length=40, max_length=400)
    stances: list[Annotated[str, Field(min_length=10, max_length=150)]] = Field(min_length=3, max_length=3)


@fixture(
    "garden_states/{variant}",
    schema=GardenSnapshot,
    template="garden.j2",
    variants=[
        {"variant": "main_converging", "mode": "converging", "coherence": 0.86},
        {"variant": "experiment_diverging", "mode": "diverging", "coherence": 0.21},
    ],
)
async def generate_garden(
    ctx: GenerationContext, variant: str, mode: Literal["converging", "diverging"], coherence: float
) -> GardenSnapshot:
    names = ctx.rng.sample(GARDENERS, 3)
    prose: GardenProse = await ctx.generate(ctx.render(names=names), GardenProse)
    agents = [
        GardenAgent(name=name, stance=stance) for name, stance in zip(names, prose.stances, strict=True)
    ]
    return GardenSnapshot(
        id=variant, mode=mode, coherence=coherence, agents=agents, narrative=prose.narrative
    )


class MachineProse(BaseModel):
    description: str = Field(min_length=10, max_length=300)
    triggers: list[str] = Field(min_length=1, max_length=8)


@fixture(
    "polynomial_states/{variant}",
    schema=PolynomialState,
    template="polynomial.j2",
    variants=[{"variant": "three_phase_cycle", "positions": ["sense", "weigh", "commit"], "current": 1}],
)
async def generate_polynomial_state(
    ctx: GenerationContext, variant: str, positions: list[str], current: int
) -> PolynomialState:
    prose: MachineProse = await ctx.generate(ctx.render(), MachineProse)
    # The cycle is computed; the model only names what moves it along.
    transitions = [
        Transition(
            source=state,
            target=positions[(i + 1) % len(positions)],
            trigger=prose.triggers[i % len(prose.triggers)][:60] or "advance",
        )
        for i, state in enumerate(positions)
    ]
    return PolynomialState(
        id=variant,
        positions=positions,
        current_state=positions[current],
        transitions=transitions,
        description=prose.description,
    )


class ThoughtTexts(BaseModel):
    thoughts: list[Annotated[str, Field(min_length=3, max_length=140)]] = Field(min_length=5, max_length=5)


@fixture(
    "thoughts_streams/{agent}",
    schema=ThoughtsStream,
    template="thoughts.j2",
    variants=[{"agent": "soul_deliberating", "start": "2026-03-14T09:00:00+00:00"}],
)
async def generate_thoughts_stream(ctx: GenerationContext, agent: str, start: str) -> ThoughtsStream:
    texts: ThoughtTexts = await ctx.generate(ctx.render(), ThoughtTexts)
    kinds = ("observation", "doubt", "memory", "plan", "decision")
    begin = datetime.fromisoformat(start).astimezone(UTC)
    thoughts = [
        Thought(
            at=begin + timedelta(seconds=37 * i + ctx.rng.randint(0, 20)),
            kind=kinds[i],
            text=re.sub(r"^\s*\d+[.)]\s*", "", text)[:200] or text,
        )
        for i, text in enumerate(texts.thoughts)
    ]
    return ThoughtsStream(agent=agent.replace("_", " "), thoughts=thoughts)
