"""Agent snapshots: the cockpit demo and the two souls of the seed design."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from hotdata.build import GenerationContext, fixture

from .schemas import AgentSnapshot, Connection, Phase


class AgentProse(BaseModel):
    """What the model writes; the generator fills in the structure."""

    name: str = Field(min_length=2, max_length=30)
    activity: str = Field(min_length=3, max_length=100)
    summary: str = Field(min_length=10, max_length=300)
    allies: list[str] = Field(min_length=1, max_length=3)
    rival: str = Field(min_length=2, max_length=30)
    mood: Literal["calm", "curious", "torn", "desperate", "resolute"]


@fixture(
    "agent_snapshots/{archetype}",
    schema=AgentSnapshot,
    template="agent_snapshot.j2",
    variants=[
        {"archetype": "cockpit_demo", "phase": "acting", "entropy": 0.35},
        {"archetype": "soul_deliberating", "phase": "deliberating", "entropy": 0.55},
        {"archetype": "soul_in_crisis", "phase": "in_crisis", "entropy": 0.92},
    ],
)
async def generate_rich_agent_snapshot(
    ctx: GenerationContext, archetype: str, phase: Phase, entropy: float
) -> AgentSnapshot:
    prose: AgentProse = await ctx.generate(ctx.render(), AgentProse)
    connections = [
        Connection(target=name, relation="ally", strength=round(0.9 - 0.2 * i, 2))
        for i, name in enumerate(prose.allies)
    ]
    connections.append(Connection(target=prose.rival, relation="rival", strength=round(entropy, 2)))
    return AgentSnapshot(
        id=archetype,
        name=prose.name,
        archetype=archetype.replace("_", " "),
        phase=phase,
        activity=prose.activity,
        summary=prose.summary,
        entropy=entropy,
        connections=connections,
    )
