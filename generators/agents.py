"""Agent snapshots: the cockpit demo and the souls of the seed design.

Structure is drawn here with ``ctx.sample`` (the crew, what the agent is doing, how the
others stand to it and how strongly, how unsettled it is); the model writes only the
prose, one field at a time, as free text begun for it (``ctx.write``).
"""

from __future__ import annotations

import re

from hotdata.make import GenerationContext, fixture

from .crew import crew
from .schemas import AgentSnapshot, Connection, Phase, Relation

# Sentence openers per variant: two variants of one family never start alike.
FEEL = ("{n} feels a", "Right now, {n} feels the", "Inside, {n} feels a", "Today {n} feels the")
FEAR = ("Most of all, {n} fears", "What {n} fears most is", "Deep down, {n} fears", "Above all, {n} fears")

MOODS = {
    "acting": "calm and focused",
    "deliberating": "torn between two options",
    "in_crisis": "close to breaking down",
    "reflecting": "looking back on a hard week",
    "idle": "waiting for the next task",
}

# What an agent can be doing, by kind: the activity's first word, so it is an activity.
ACTIVITIES = {
    "operations": ["rerouting", "recalibrating", "docking", "launching"],
    "analysis": ["rereading", "comparing", "weighing", "reviewing"],
    "communication": ["radioing", "briefing", "messaging"],
    "upkeep": ["checking", "sorting", "repairing"],
    "alarm": ["pacing", "scrambling", "shouting"],
}
# How often each kind is what an agent of a phase is doing.
ACTIVITY_KINDS: dict[Phase, dict[str, int]] = {
    "acting": {"operations": 4, "communication": 1},
    "deliberating": {"analysis": 4, "communication": 1},
    "in_crisis": {"alarm": 3, "operations": 1},
    "reflecting": {"analysis": 2, "upkeep": 2},
    "idle": {"upkeep": 3, "communication": 1},
}
# How unsettled an agent of a phase is: the mean of a normal draw, within [0, 1].
ENTROPY: dict[Phase, float] = {
    "idle": 0.15,
    "acting": 0.35,
    "reflecting": 0.45,
    "deliberating": 0.6,
    "in_crisis": 0.9,
}

# How the others stand to the agent (allies most often), how the prompt says it, and how
# strong such a tie usually is (mean and spread of a normal draw, within [0.05, 1]).
RELATIONS: dict[Relation, int] = {"ally": 4, "rival": 2, "mentor": 1, "student": 1, "observer": 1}
TIES: dict[Relation, str] = {
    "ally": "works closely with {x}",
    "rival": "distrusts {x}",
    "mentor": "learns from {x}",
    "student": "teaches {x}",
    "observer": "has {x} sit in on {their} shifts",  # "is watched by" made every text about watching
}
STRENGTH: dict[Relation, tuple[float, float]] = {
    "ally": (0.75, 0.12),
    "rival": (0.6, 0.2),
    "mentor": (0.7, 0.1),
    "student": (0.5, 0.15),
    "observer": (0.3, 0.1),
}


def one_action(text: str) -> list[str]:
    """An activity is one thing done: a second clause ("..., but she's not there") was junk."""
    return (
        [f"the activity goes on after one action: {text!r}"] if re.search(r", (and|but|while) ", text) else []
    )


@fixture(
    "agent_snapshots/{archetype}",
    schema=AgentSnapshot,
    template="agent_snapshot.j2",
    variants=[
        {"archetype": "cockpit_demo", "phase": "acting", "variant": 0},
        {"archetype": "soul_deliberating", "phase": "deliberating", "variant": 1},
        {"archetype": "soul_in_crisis", "phase": "in_crisis", "variant": 2},
        {"archetype": "soul_reflecting", "phase": "reflecting", "variant": 3},
    ],
)
async def generate_rich_agent_snapshot(
    ctx: GenerationContext, archetype: str, phase: Phase, variant: int
) -> AgentSnapshot:
    agent, *others = crew(ctx, 1 + ctx.sample.integer(2, 4))
    name = agent.first_name
    connections = []
    for other in others:
        kind = ctx.sample.category(RELATIONS)
        mean, spread = STRENGTH[kind]
        strength = ctx.sample.gaussian(mean, spread, low=0.05, high=1.0)
        connections.append(Connection(target=other.first_name, relation=kind, strength=round(strength, 2)))
    ties = [TIES[c.relation].format(x=c.target, their=agent.possessive) for c in connections]
    entropy = round(ctx.sample.gaussian(ENTROPY[phase], 0.06, low=0.0, high=1.0), 2)
    verb = ctx.sample.subcategory(ctx.sample.category(ACTIVITY_KINDS[phase]), ACTIVITIES)
    about = ctx.render(name=name, pronoun=agent.pronoun, mood=MOODS[phase], ties=ties).strip()
    people = [name, *(other.first_name for other in others)]
    doing = await ctx.write(
        f"{about}\nWhat is {name} doing at this moment? Answer with one short phrase.",
        start=f"{name} is {verb}",
        phrase=True,
        min_length=20,
        max_length=100,
        max_words=16,
        protect=people,
        check=one_action,
    )
    activity = doing.removeprefix(f"{name} is ")
    activity = activity[:1].upper() + activity[1:]
    summary = await ctx.write(
        f"{about}\nIn two sentences, describe how {name} feels right now, and what {agent.pronoun} fears.",
        start=[FEEL[variant].format(n=name), FEAR[variant].format(n=name)],
        min_length=40,
        max_length=300,
        protect=people,
    )
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
