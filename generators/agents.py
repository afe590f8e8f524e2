"""Agent snapshots: the cockpit demo and the two souls of the seed design."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hotdata.make import GenerationContext, fixture

from .schemas import AgentSnapshot, Connection, Phase

# Names are structure, picked here; a 135M model copies names from the prompt
# rather than inventing good ones, so it writes only the prose.
NAMES = ("Vesper", "Kestrel", "Oriel", "Juniper", "Basalt", "Halcyon", "Marlow", "Sable", "Corvid", "Tamsin")


class AgentProse(BaseModel):
    """What the model writes; the generator fills in the structure."""

    activity: str = Field(min_length=10, max_length=90, description="what the agent is doing right now")
    summary: str = Field(min_length=40, max_length=300, description="two sentences about its state of mind")


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
    name, *others = ctx.rng.sample(NAMES, 4)
    allies, rival = others[:2], others[2]
    prose: AgentProse = await ctx.generate(ctx.render(name=name, allies=allies, rival=rival), AgentProse)
    connections = [
        Connection(target=ally, relation="ally", strength=round(0.9 - 0.2 * i, 2))
        for i, ally in enumerate(allies)
    ]
    connections.append(Connection(target=rival, relation="rival", strength=round(entropy, 2)))
    return AgentSnapshot(
        id=archetype,
        name=name,
        archetype=archetype.replace("_", " "),
        phase=phase,
        activity=prose.activity,
        summary=prose.summary,
        entropy=entropy,
        connections=connections,
    )
