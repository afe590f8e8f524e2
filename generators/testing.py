"""Fixtures this repository's own tests load (under ``test/``)."""

from __future__ import annotations

from hotdata.make import GenerationContext, fixture

from .agents import AgentProse
from .schemas import AgentSnapshot, Connection


@fixture("test/agent_minimal", schema=AgentSnapshot, template="agent_snapshot.j2")
async def generate_test_agent(ctx: GenerationContext) -> AgentSnapshot:
    prose: AgentProse = await ctx.generate(
        ctx.render(name="Probe", phase="idle", entropy=0.1, allies=["Echo"], rival="Static"), AgentProse
    )
    return AgentSnapshot(
        id="test-probe",
        name="Probe",
        archetype="test probe",
        phase="idle",
        activity=prose.activity,
        summary=prose.summary,
        entropy=0.1,
        connections=[Connection(target="Echo", relation="ally", strength=0.5)],
    )
