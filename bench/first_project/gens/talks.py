"""Conference talk abstracts with speaker bios: one accepted talk (topic, track, level, length) at a regional software conference.
Each has a title, an abstract, three takeaways for the audience, and a short third-person bio of its speaker.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from hotdata.make import GenerationContext, fixture

SPEAKERS = [
    ("Amara Nwosu", "staff engineer at a payments company"),
    ("Henrik Dahl", "accessibility lead at a public broadcaster"),
    ("Mei Tanaka", "maintainer of an open-source build tool"),
    ("Carlos Ibáñez", "data platform engineer at a logistics firm"),
    ("Fatima Zahra Idrissi", "researcher in green computing"),
    ("Owen Gallagher", "engineering manager at a health-tech startup"),
]

Level = Literal["beginner", "intermediate", "advanced"]


class TalkDraft(BaseModel):
    title: str = Field(max_length=90)
    abstract: str = Field(min_length=120, max_length=700)
    takeaways: list[str] = Field(min_length=3, max_length=3)


class Speaker(BaseModel):
    name: str
    role: str
    bio: str


class Talk(BaseModel):
    slug: str
    track: str
    level: Level
    minutes: int
    title: str
    abstract: str
    takeaways: list[str]
    speaker: Speaker


@fixture(
    "talks/{slug}",
    schema=Talk,
    template="talk.j2",
    variants=[
        {
            "slug": "zero_downtime_migrations",
            "track": "Backend",
            "level": "advanced",
            "topic": "running database schema migrations without downtime",
        },
        {
            "slug": "mobile_accessibility",
            "track": "Frontend",
            "level": "beginner",
            "topic": "testing mobile apps with screen readers",
        },
        {
            "slug": "volunteer_maintainers",
            "track": "Community",
            "level": "intermediate",
            "topic": "keeping a volunteer-run open-source project healthy",
        },
        {
            "slug": "ml_energy",
            "track": "Data",
            "level": "intermediate",
            "topic": "measuring and cutting the energy use of machine-learning training",
        },
    ],
)
async def generate_talk(ctx: GenerationContext, slug: str, track: str, level: Level, topic: str) -> Talk:
    name, role = ctx.rng.choice(SPEAKERS)
    minutes = ctx.rng.choice([25, 30, 45])
    about = ctx.render(speaker=name, role=role, minutes=minutes)
    draft = await ctx.generate(
        f"{about}\nWrite the talk's title, a two- or three-sentence abstract for the programme, "
        "and three short takeaways the audience will leave with.",
        TalkDraft,
    )
    first = name.split()[0]
    bio = await ctx.write(
        f"{about}\nIn two sentences, write {name}'s speaker bio for the conference website, in the third person.",
        start=[f"{name} is a", f"Outside work, {first}"],
        max_length=300,
        protect=[name, first],
        context=[draft.abstract],
    )
    return Talk(
        slug=slug,
        track=track,
        level=level,
        minutes=minutes,
        title=draft.title,
        abstract=draft.abstract,
        takeaways=draft.takeaways,
        speaker=Speaker(name=name, role=role, bio=bio),
    )
