"""Gardens, state machines and thought streams: structure computed here, prose by the model.

Every prose field is asked for on its own (``ctx.write``) with an opener that pins
its subject; the openers rotate with the variant, so two variants of one family
never read alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from hotdata.make import GenerationContext, fixture

from .schemas import GardenAgent, GardenSnapshot, PolynomialState, Thought, ThoughtsStream, Transition

GARDENERS = ("Juniper", "Basalt", "Wren", "Calder", "Ilex", "Moss")

OPENERS: dict[str, tuple[str, ...]] = {
    "open": (
        "{a} opens the debate by arguing that",
        "{a} starts by insisting that",
        "From the first minute, {a} argues that",
        "{a} reminds the others that",
    ),
    "converging": (
        "By the end, {b} and {c}",
        "Slowly, {b} and {c}",
        "After an hour, {b} and {c}",
        "In the end, {b} and {c}",
    ),
    "diverging": ("But {b} and {c}", "{b} and {c}, however,", "Neither {b} nor {c}", "Meanwhile {b} and {c}"),
    "observation": ("Right now, the", "Out there, the", "On my screen, the", "I notice that the"),
    "doubt": ("But what if", "What if", "I am not sure that", "Maybe I am wrong and"),
    "memory": ("Last winter,", "I remember when", "Once before,", "Two seasons ago,"),
    "plan": ("First, I will", "My plan is to", "Next, I will", "I am going to"),
    "decision": ("In the end, I", "So I decide to", "My decision is to", "I choose to"),
}

# (what the agent cares about, how its stance begins): on topic and distinct by construction.
STANCES: dict[str, tuple[tuple[str, str], ...]] = {
    "converging": (
        ("cares most about the ice-core record", "I think the ice cores"),
        ("thinks a small crew could winter there", "I am sure a small crew"),
        ("trusts the supply planes", "As long as the supply planes"),
        ("values the winter measurements", "The winter measurements"),
    ),
    "diverging": (
        ("cares most about the ice-core record", "We cannot abandon"),
        ("fears the sea ice", "We must close"),
        ("puts the crew's safety first", "No data is worth risking"),
        ("worries about money", "We cannot afford"),
    ),
}

# Trigger labels are structure: a 135M model's own 2-6 word labels were junk most of the time.
TRIGGERS = (
    "new signal arrives",
    "evidence crosses threshold",
    "options ranked",
    "plan approved",
    "action completes",
    "feedback received",
    "timer expires",
    "confidence drops",
    "goal reached",
    "anomaly detected",
)

THOUGHT_HINTS = {
    "observation": "something you notice right now",
    "doubt": "a worry that makes you hesitate",
    "memory": "something from your past that matters now",
    "plan": "what you will do next",
    "decision": "what you finally decide",
}


def opener(key: str, variant: int, **names: str) -> str:
    pool = OPENERS[key]
    return pool[variant % len(pool)].format(**names)


def speaker_not_named(name: str) -> Callable[[str], list[str]]:
    """A stance is said by its agent: one that names its own speaker reads as a quote of someone else."""
    return lambda text: [f"the stance of {name} names {name}"] if name in text else []


def names_at_least(text: str, names: Sequence[str], count: int, what: str) -> list[str]:
    found = sum(name.lower() in text.lower() for name in names)
    return [] if found >= count else [f"names only {found} of the {what}"]


@fixture(
    "garden_states/{variant}",
    schema=GardenSnapshot,
    template="garden.j2",
    variants=[
        {"variant": "main_converging", "mode": "converging", "coherence": 0.86, "index": 0},
        {"variant": "experiment_diverging", "mode": "diverging", "coherence": 0.21, "index": 1},
        {"variant": "late_converging", "mode": "converging", "coherence": 0.71, "index": 2},
        {"variant": "split_diverging", "mode": "diverging", "coherence": 0.12, "index": 3},
    ],
)
async def generate_garden(
    ctx: GenerationContext,
    variant: str,
    mode: Literal["converging", "diverging"],
    coherence: float,
    index: int,
) -> GardenSnapshot:
    names = ctx.rng.sample(GARDENERS, 3)
    a, b, c = names
    about = ctx.render(names=names).strip()
    narrative = await ctx.write(
        f"{about}\nTell how their debate goes.",
        start=[opener("open", index, a=a), opener(mode, index, b=b, c=c)],
        min_length=40,
        max_length=480,
        protect=names,
        check=lambda text: names_at_least(text, names, 2, "agents"),
    )
    stances: list[str] = []
    for i, name in enumerate(names):
        care, start = STANCES[mode][(index + i) % len(STANCES[mode])]
        stances.append(
            await ctx.write(
                f"{about}\n{name} {care}. Write {name}'s position in one short sentence, in the first person.",
                start=start,
                sentences=1,
                min_length=10,
                max_length=150,
                protect=names,
                avoid=stances,
                check=speaker_not_named(name),
            )
        )
    agents = [GardenAgent(name=name, stance=stance) for name, stance in zip(names, stances, strict=True)]
    return GardenSnapshot(id=variant, mode=mode, coherence=coherence, agents=agents, narrative=narrative)


@fixture(
    "polynomial_states/{variant}",
    schema=PolynomialState,
    template="polynomial.j2",
    variants=[
        {
            "variant": "three_phase_cycle",
            "agent": "Vesper",
            "positions": ["sense", "weigh", "commit"],
            "duties": ["reads the station's sensors", "compares the options", "acts on the best one"],
            "current": 1,
            "index": 0,
        },
        {
            "variant": "ooda_loop",
            "agent": "Kestrel",
            "positions": ["observe", "orient", "decide", "act"],
            "duties": [
                "watches the docking bay",
                "checks what changed",
                "picks a response",
                "carries it out",
            ],
            "current": 2,
            "index": 1,
        },
        {
            "variant": "repair_cycle",
            "agent": "Basalt",
            "positions": ["scan", "diagnose", "repair"],
            "duties": ["scans the hull for faults", "finds the cause", "fixes the damaged panel"],
            "current": 0,
            "index": 2,
        },
    ],
)
async def generate_polynomial_state(
    ctx: GenerationContext,
    variant: str,
    agent: str,
    positions: list[str],
    duties: list[str],
    current: int,
    index: int,
) -> PolynomialState:
    about = ctx.render().strip()
    # the plainest openers, one state each: a loop described in other words came out garbled
    here, after = positions[current], positions[(current + 1) % len(positions)]
    description = await ctx.write(
        f"{about}\nIn two sentences, explain what {agent} does in each state.",
        start=[f"Now in {here}, {agent}", f"Next, in {after}, {agent}"],
        min_length=40,
        max_length=300,
        protect=[*positions, agent],
        check=lambda text: names_at_least(text, positions, 2, "states"),
    )
    # The cycle is structure: each move gets its own trigger label.
    labels = ctx.rng.sample(TRIGGERS, len(positions))
    transitions = [
        Transition(source=state, target=positions[(i + 1) % len(positions)], trigger=labels[i])
        for i, state in enumerate(positions)
    ]
    return PolynomialState(
        id=variant,
        positions=positions,
        current_state=positions[current],
        transitions=transitions,
        description=description,
    )


@fixture(
    "thoughts_streams/{agent}",
    schema=ThoughtsStream,
    template="thoughts.j2",
    variants=[
        {
            "agent": "soul_deliberating",
            "name": "Halcyon",
            "mood": "torn between two options",
            "situation": "a storm front is moving over the eastern ridge",
            "start": "2026-03-14T09:00:00+00:00",
            "index": 0,
        },
        {
            "agent": "soul_in_crisis",
            "name": "Vesper",
            "mood": "close to breaking down",
            "situation": "the drone has little battery left",
            "start": "2026-03-14T22:40:00+00:00",
            "index": 1,
        },
        {
            "agent": "cockpit_calm",
            "name": "Marlow",
            "mood": "calm and focused",
            "situation": "the usual landing pad at the quarry is flooded",
            "start": "2026-03-15T06:15:00+00:00",
            "index": 2,
        },
    ],
)
async def generate_thoughts_stream(
    ctx: GenerationContext, agent: str, name: str, mood: str, situation: str, start: str, index: int
) -> ThoughtsStream:
    about = ctx.render(agent=name).strip()
    texts: list[str] = []
    for kind, hint in THOUGHT_HINTS.items():
        texts.append(
            await ctx.write(
                f"{about}\nWrite your {kind} ({hint}) as one short sentence.",
                start=opener(kind, index),
                sentences=1,
                min_length=15,
                max_length=140,
                protect=[name],
                avoid=texts,
            )
        )
    begin = datetime.fromisoformat(start).astimezone(UTC)
    thoughts = [
        Thought(at=begin + timedelta(seconds=37 * i + ctx.rng.randint(0, 20)), kind=kind, text=text)
        for i, (kind, text) in enumerate(zip(THOUGHT_HINTS, texts, strict=True))
    ]
    return ThoughtsStream(agent=name, thoughts=thoughts)
