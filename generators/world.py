"""Gardens, state machines and thought streams: structure drawn here, prose by the model.

Structure (who, how coherent, which state, which trigger, when) is drawn with
``ctx.sample``. Every prose field is asked for on its own (``ctx.write``) with an opener
that pins its subject; the openers rotate with the variant, so two variants of one
family never read alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal

from hotdata.make import GenerationContext, fixture

from .crew import crew
from .schemas import GardenAgent, GardenSnapshot, PolynomialState, Thought, ThoughtsStream, Transition

OPENERS: dict[str, tuple[str, ...]] = {
    "open": (
        "{a} opens the debate by arguing that",
        "{a} starts by insisting that",
        "From the first minute, {a} argues that",
        "{a} warns the others that",
    ),
    "converging": (
        "By the end, {b} and {c}",
        "Slowly, {b} and {c}",
        "After an hour, {b} and {c}",
        "In the end, {b} and {c}",
    ),
    "diverging": ("But {b} and {c}", "{b} and {c}, however,", "Neither {b} nor {c}", "Meanwhile {b} and {c}"),
    "observation": (
        "Right now, the",
        "Out on the ridge, the drone",
        "On my screen, the",
        "I notice that the",
    ),
    "doubt": ("But what if", "What if", "I am not sure that", "Maybe I am wrong and"),
    "memory": ("Last winter,", "I remember when", "Once before,", "Two seasons ago,"),
    "plan": ("First, I will", "My plan is to", "Next, I will", "I am going to"),
    "decision": ("In the end, I decide to", "So I decide to", "My decision is to", "I choose to"),
}

# (what the agent cares about, how its stance begins): on topic and distinct by construction,
# begun in the first person. Two sets of three per mode, one for each garden of that mode:
# gardens that shared an opener and a care wrote the same sentence word for word.
STANCES: dict[str, tuple[tuple[str, str], ...]] = {
    "converging": (
        ("cares most about the ice-core record", "I think the ice cores"),
        ("thinks a small crew could winter there", "I am sure a small crew"),
        ("trusts the supply planes", "As long as the supply planes"),
        ("values the winter measurements", "I value the winter measurements because"),
        ("wants the station's lab kept warm", "I would keep the lab"),
        ("wants the runway kept clear for the planes", "I will keep the runway"),
    ),
    "diverging": (
        ("cares most about the ice-core record", "We cannot abandon"),
        ("fears the sea ice", "We must close"),
        ("puts the crew's safety first", "No data is worth risking"),
        ("worries about money", "We cannot afford"),
        ("does not trust the weather forecasts", "I do not trust"),
        ("thinks the station is needed for rescues", "If we close the station,"),
    ),
}

# How coherent a garden is, by mode: the mean and spread of a normal draw, within bounds.
COHERENCE: dict[str, tuple[float, float, float, float]] = {
    "converging": (0.78, 0.08, 0.55, 0.97),
    "diverging": (0.2, 0.08, 0.03, 0.4),
}

# Trigger labels are structure: a 135M model's own 2-6 word labels were junk most of the time.
# What ends a state depends on its kind; the weights say how common each event is.
StateKind = Literal["sensing", "deciding", "acting"]
TRIGGERS: dict[StateKind, dict[str, int]] = {
    "sensing": {"new signal arrives": 3, "scan completes": 2, "anomaly detected": 1, "sensor sweep done": 1},
    "deciding": {
        "options ranked": 2,
        "evidence crosses threshold": 2,
        "plan approved": 2,
        "confidence drops": 1,
        "fault isolated": 1,
    },
    "acting": {"action completes": 3, "feedback received": 2, "goal reached": 1, "timer expires": 1},
}

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
    """A stance or a thought is said by its agent: one that names its own speaker (in any
    case) reads as a quote of someone else."""
    return lambda text: [f"the words of {name} name {name}"] if name.lower() in text.lower() else []


def names_at_least(text: str, names: Sequence[str], count: int, what: str) -> list[str]:
    found = sum(name.lower() in text.lower() for name in names)
    return [] if found >= count else [f"names only {found} of the {what}"]


@fixture(
    "garden_states/{variant}",
    schema=GardenSnapshot,
    template="garden.j2",
    variants=[
        {"variant": "main_converging", "mode": "converging", "index": 0},
        {"variant": "experiment_diverging", "mode": "diverging", "index": 1},
        {"variant": "late_converging", "mode": "converging", "index": 2},
        {"variant": "split_diverging", "mode": "diverging", "index": 3},
    ],
)
async def generate_garden(
    ctx: GenerationContext,
    variant: str,
    mode: Literal["converging", "diverging"],
    index: int,
) -> GardenSnapshot:
    people = crew(ctx, 3)
    names = [p.first_name for p in people]
    a, b, c = names
    mean, spread, low, high = COHERENCE[mode]
    coherence = round(ctx.sample.gaussian(mean, spread, low=low, high=high), 2)
    # the two gardens of a mode (index 0 and 2, 1 and 3) take different sets of stances
    first = 3 * (index // 2)
    cares = STANCES[mode][first : first + 3]
    # each agent says what it cares about with its pronoun: the model then refers to it rightly
    about = ctx.render(
        names=names,
        says=[f"{p.first_name} says {p.pronoun} {care}" for p, (care, _) in zip(people, cares, strict=True)],
    ).strip()
    narrative = await ctx.write(
        f"{about}\nTell how their debate goes.",
        start=[opener("open", index, a=a), opener(mode, index, b=b, c=c)],
        min_length=40,
        max_length=480,
        protect=names,
        check=lambda text: names_at_least(text, names, 2, "agents"),
    )
    stances: list[str] = []
    for person, (care, start) in zip(people, cares, strict=True):
        name = person.first_name
        # "{name}'s position" in the instruction came back as "... Alondra's opinion ..."
        stances.append(
            await ctx.write(
                f"{about}\n{name} {care}. Say {person.possessive} position in one short sentence, "
                "in the first person, as I or we.",
                start=start,
                sentences=1,
                min_length=10,
                max_length=150,
                protect=names,
                avoid=stances,
                check=speaker_not_named(name),
                best_of=3,
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
            "positions": ["sense", "weigh", "commit"],
            "kinds": ["sensing", "deciding", "acting"],
            "duties": ["reads the station's sensors", "compares the options", "acts on the best one"],
        },
        {
            "variant": "ooda_loop",
            "positions": ["observe", "orient", "decide", "act"],
            "kinds": ["sensing", "deciding", "deciding", "acting"],
            "duties": [
                "watches the docking bay",
                "checks what changed",
                "picks a response",
                "docks the supply ship",
            ],
        },
        {
            "variant": "repair_cycle",
            "positions": ["scan", "diagnose", "repair"],
            "kinds": ["sensing", "deciding", "acting"],
            "duties": ["scans the hull for faults", "finds the cause", "fixes the damaged panel"],
        },
    ],
)
async def generate_polynomial_state(
    ctx: GenerationContext,
    variant: str,
    positions: list[str],
    kinds: list[StateKind],
    duties: list[str],
) -> PolynomialState:
    (person,) = crew(ctx, 1)
    agent = person.first_name
    current = ctx.sample.integer(0, len(positions) - 1)
    about = ctx.render(agent=agent, pronoun=person.pronoun, current=current).strip()
    # the plainest openers, one state each: a loop described in other words came out garbled
    following = (current + 1) % len(positions)
    here, after = positions[current], positions[following]
    verbs = [duty.split()[0] for duty in duties]  # each state's verb pins what the agent does there
    description = await ctx.write(
        f"{about}\nIn two sentences, explain what {agent} does in each state.",
        start=[f"Now in {here}, {agent} {verbs[current]}", f"Next, in {after}, {agent} {verbs[following]}"],
        min_length=40,
        max_length=300,
        protect=[*positions, agent],
        check=lambda text: names_at_least(text, positions, 2, "states"),
    )
    # The cycle is structure: each move gets its own trigger, one that ends a state of its kind.
    transitions: list[Transition] = []
    for i, (state, kind) in enumerate(zip(positions, kinds, strict=True)):
        used = {t.trigger for t in transitions}
        trigger = ctx.sample.category({t: w for t, w in TRIGGERS[kind].items() if t not in used})
        transitions.append(
            Transition(source=state, target=positions[(i + 1) % len(positions)], trigger=trigger)
        )
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
            "mood": "torn between two options",
            "situation": "a storm front is moving over the eastern ridge",
            "day": "2026-03-14",
            "index": 0,
        },
        {
            "agent": "soul_in_crisis",
            "mood": "close to breaking down",
            "situation": "the drone has little battery left",
            "day": "2026-03-14",
            "index": 1,
        },
        {
            "agent": "cockpit_calm",
            "mood": "calm and focused",
            "situation": "the usual landing pad at the quarry is flooded",
            "day": "2026-03-15",
            "index": 2,
        },
    ],
)
async def generate_thoughts_stream(
    ctx: GenerationContext, agent: str, mood: str, situation: str, day: str, index: int
) -> ThoughtsStream:
    (person,) = crew(ctx, 1)
    name = person.first_name
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
                check=speaker_not_named(name),
            )
        )
    # a working day's moment, then each thought a few seconds to two minutes after the last
    at: datetime = ctx.sample.datetime(f"{day}T06:00", f"{day}T23:00")
    thoughts: list[Thought] = []
    for kind, text in zip(THOUGHT_HINTS, texts, strict=True):
        thoughts.append(Thought(at=at, kind=kind, text=text))
        at += ctx.sample.duration("15s", "2m")
    return ThoughtsStream(agent=name, thoughts=thoughts)
