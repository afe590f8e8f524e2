"""The catalog's people: first names drawn by ``ctx.sample``, from a weighted mix of locales.

Each crew member is an AI agent with a human first name. The gender is drawn with the
name, so every prompt can give the model the pronoun instead of leaving it to guess.
"""

from __future__ import annotations

from typing import Literal

from hotdata.make import GenerationContext, Person

# Where the station's crew comes from: mostly English names, some European ones, all in
# Latin script (names the 135M model reads and repeats whole).
LOCALES = {"en_US": 4, "en_GB": 2, "de_DE": 1, "fr_FR": 1, "it_IT": 1, "es_ES": 1}
GENDERS: list[Literal["female", "male"]] = ["female", "male"]


def crew(ctx: GenerationContext, count: int) -> list[Person]:
    """``count`` people with different one-word first names (no "Hans-Peter": a prompt
    names each one, and a hyphenated name is cut in two by the model)."""
    people: list[Person] = []
    while len(people) < count:
        gender = ctx.sample.pick(GENDERS, 1)[0]
        person = ctx.sample.person(locale=ctx.sample.category(LOCALES), gender=gender)
        if person.first_name.isalpha() and person.first_name not in {p.first_name for p in people}:
            people.append(person)
    return people
