"""Veterinary clinic visit notes: one visit of a named pet (species, age, reason) to a small-town clinic.
Each note has the vet's observations at the exam, an assessment in plain words, and home-care advice for the owner.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from hotdata.make import GenerationContext, fixture

PET_NAMES = ["Biscuit", "Luna", "Pepper", "Milo", "Hazel", "Otis", "Juniper", "Ziggy"]
OWNERS = ["Ruth Okafor", "Dan Whitlock", "Priya Raman", "Tomas Lindqvist", "Gwen Harper", "Sam Eze"]
VETS = ["Dr. Alvarez", "Dr. Chen", "Dr. Moreau"]


class VetVisit(BaseModel):
    pet_name: str
    species: str
    age_years: int = Field(ge=0, le=40)
    owner: str
    vet: str
    reason: str
    weight_kg: float = Field(gt=0)
    observations: str
    assessment: str
    home_care: str
    follow_up_days: int = Field(ge=0, le=90)


@fixture(
    "vet_visits/{case}",
    schema=VetVisit,
    variants=[
        {"case": "limping_dog", "species": "dog", "reason": "limping on the left hind leg", "weight": 28.0},
        {"case": "cat_not_eating", "species": "cat", "reason": "has not eaten for two days", "weight": 4.2},
        {"case": "rabbit_teeth", "species": "rabbit", "reason": "drooling and dropping food", "weight": 1.9},
        {
            "case": "parrot_feathers",
            "species": "parrot",
            "reason": "plucking its chest feathers",
            "weight": 0.4,
        },
    ],
)
async def generate_vet_visit(
    ctx: GenerationContext, case: str, species: str, reason: str, weight: float
) -> VetVisit:
    pet = ctx.rng.choice(PET_NAMES)
    owner = ctx.rng.choice(OWNERS)
    vet = ctx.rng.choice(VETS)
    age = ctx.rng.randint(1, 12)
    about = (
        f"{pet} is a {age}-year-old {species} weighing {weight} kg, brought to a small-town veterinary clinic "
        f"by {owner} because the {species} is {reason}. The vet is {vet}."
    )
    observations = await ctx.write(
        f"{about}\nIn two sentences, write what {vet} observed while examining {pet}.",
        start=[f"On examination, {pet}", f"{vet} also noticed"],
        max_length=320,
        protect=[pet, vet],
    )
    assessment = await ctx.write(
        f"{about}\nIn two sentences, explain to the owner in plain words what is most likely wrong with {pet}.",
        start="The most likely cause is",
        sentences=2,
        max_length=300,
        protect=[pet],
        context=[observations],
    )
    home_care = await ctx.write(
        f"{about}\nIn two or three sentences, tell {owner} how to care for {pet} at home this week.",
        start=f"At home, keep {pet}",
        sentences=3,
        max_length=360,
        protect=[pet, owner],
        context=[assessment],
        avoid=[assessment],
    )
    return VetVisit(
        pet_name=pet,
        species=species,
        age_years=age,
        owner=owner,
        vet=vet,
        reason=reason,
        weight_kg=weight,
        observations=observations,
        assessment=assessment,
        home_care=home_care,
        follow_up_days=ctx.rng.choice([3, 7, 10, 14]),
    )
