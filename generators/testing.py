"""Fixtures this repository's own tests load (under ``test/``)."""

from __future__ import annotations

from hotdata.make import GenerationContext, fixture

from .schemas import AgentSnapshot, Connection


@fixture("test/agent_minimal", schema=AgentSnapshot, template="probe.j2")
async def generate_test_agent(ctx: GenerationContext) -> AgentSnapshot:
    about = ctx.render().strip()
    doing = await ctx.write(
        f"{about}\nWhat is Probe doing at this moment? Answer with one short phrase.",
        start="Probe is checking",
        phrase=True,
        min_length=20,
        max_length=100,
        protect=["Probe", "Echo"],
    )
    activity = doing.removeprefix("Probe is ")
    activity = activity[:1].upper() + activity[1:]
    summary = await ctx.write(
        f"{about}\nIn two sentences, describe what Probe notices and what it waits for.",
        start=["Probe notices", "It waits for"],
        min_length=40,
        max_length=300,
        protect=["Probe", "Echo"],
    )
    return AgentSnapshot(
        id="test-probe",
        name="Probe",
        archetype="test probe",
        phase="idle",
        activity=activity,
        summary=summary,
        entropy=0.1,
        connections=[Connection(target="Echo", relation="ally", strength=0.5)],
    )
