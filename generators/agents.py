"""Agent snapshots: the cockpit demo and the souls of the seed design.

Structure is chosen here (names, phase, numbers, connections); the model writes
only the prose, one field at a time, as free text begun for it (``ctx.write``).
"""

from __future__ import annotations

from hotdata.make import GenerationContext, fixture

from .schemas import AgentSnapshot, Connection, Phase

NAMES = ("Vesper", "Kestrel", "Oriel", "Juniper", "Basalt", "Halcyon", "Marlow", "Sable", "Corvid", "Tamsin")

# Sentence openers per variant: two variants of one family never start alike.
FEEL = ("{n} feels a", "Right now, {n} feels the", "Inside, {n} feels a", "Today {n} feels the")
FEAR = ("Most of all, {n} fears", "What {n} fears most is", "Deep down, {n} fears", "Above all, {n} fears")

# What each phase looks like from outside: the activity's first word, so it is an activity.
DOING = {
    "acting": ("rerouting", "recalibrating", "docking"),
    "deliberating": ("rereading", "comparing", "weighing"),
    "in_crisis": ("pacing", "shouting", "scrambling"),
    "reflecting": ("reviewing", "replaying", "sorting"),
    "idle": ("watching", "checking", "waiting"),
}

MOODS = {
    "acting": "calm and focused",
    "deliberating": "torn between two options",
    "in_crisis": "close to breaking down",
    "reflecting": "looking back on a hard week",
}


@fixture(
    "agent_snapshots/{archetype}",
    schema=AgentSnapshot,
    template="agent_snapshot.j2",
    variants=[
        {"archetype": "cockpit_demo", "phase": "acting", "entropy": 0.35, "variant": 0},
        {"archetype": "soul_deliberating", "phase": "deliberating", "entropy": 0.55, "variant": 1},
        {"archetype": "soul_in_crisis", "phase": "in_crisis", "entropy": 0.92, "variant": 2},
        {"archetype": "soul_reflecting", "phase": "reflecting", "entropy": 0.48, "variant": 3},
    ],
)
async def generate_rich_agent_snapshot(
    ctx: GenerationContext, archetype: str, phase: Phase, entropy: float, variant: int
) -> AgentSnapshot:
    # each variant its own agent; the people around it picked from the rest
    name = NAMES[(3 * variant) % len(NAMES)]
    allies_and_rival = ctx.rng.sample([n for n in NAMES if n != name], 3)
    allies, rival = allies_and_rival[:2], allies_and_rival[2]
    about = ctx.render(name=name, mood=MOODS[phase], allies=allies, rival=rival).strip()
    people = [name, *allies, rival]
    doing = await ctx.write(
        f"{about}\nWhat is {name} doing at this moment? Answer with one short phrase.",
        start=f"{name} is {ctx.rng.choice(DOING[phase])}",
        phrase=True,
        min_length=20,
        max_length=100,
        max_words=16,
        protect=people,
    )
    activity = doing.removeprefix(f"{name} is ")
    activity = activity[:1].upper() + activity[1:]
    summary = await ctx.write(
        f"{about}\nIn two sentences, describe how {name} feels right now, and what {name} fears.",
        start=[FEEL[variant].format(n=name), FEAR[variant].format(n=name)],
        min_length=40,
        max_length=300,
        protect=people,
    )
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
        activity=activity,
        summary=summary,
        entropy=entropy,
        connections=connections,
    )
