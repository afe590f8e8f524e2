"""Bike-shop repair orders: a customer's bike (make, model, kind) brought in with a complaint, and the work done as line items.
Each order has the complaint in the customer's words, a mechanic's note per line item, the findings, and a pickup message.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from hotdata.make import GenerationContext, fixture

CUSTOMERS = ["Alba Reyes", "Kwame Mensah", "Ingrid Solberg", "Leo Marchetti", "Noor Haddad", "Felix Braun"]
MECHANICS = ["Jonah", "Marisol", "Dev"]

# Line items the shop offers for each kind of job: (description, kind, price).
CATALOG: dict[str, list[tuple[str, Literal["part", "labour"], float]]] = {
    "puncture": [
        ("Inner tube 700x35c", "part", 8.5),
        ("Puncture-resistant tyre", "part", 42.0),
        ("Tube replacement labour", "labour", 12.0),
        ("Rim tape", "part", 4.0),
    ],
    "tune_up": [
        ("Standard tune-up", "labour", 65.0),
        ("Brake pads (pair)", "part", 18.0),
        ("Chain 11-speed", "part", 34.0),
        ("Bar tape", "part", 22.0),
    ],
    "brakes": [
        ("Hydraulic brake bleed", "labour", 35.0),
        ("Sintered disc pads", "part", 26.0),
        ("Disc rotor 180 mm", "part", 39.0),
        ("Rotor truing", "labour", 10.0),
    ],
    "gears": [
        ("Rear derailleur adjustment", "labour", 15.0),
        ("Shift cable and housing", "part", 14.0),
        ("Derailleur hanger alignment", "labour", 12.0),
        ("Grip shifter", "part", 19.0),
    ],
}


class Customer(BaseModel):
    name: str
    phone: str


class Bike(BaseModel):
    make: str
    model: str
    kind: str


class LineItem(BaseModel):
    description: str
    kind: Literal["part", "labour"]
    price: float = Field(ge=0)
    mechanic_note: str


class RepairOrder(BaseModel):
    order_number: str
    customer: Customer
    bike: Bike
    complaint: str
    mechanic: str
    items: list[LineItem] = Field(min_length=1)
    findings: str
    pickup_message: str
    total: float = Field(ge=0)


@fixture(
    "repair_orders/{order}",
    schema=RepairOrder,
    variants=[
        {
            "order": "commuter_flat",
            "job": "puncture",
            "make": "Trek",
            "model": "FX 2",
            "kind": "hybrid commuter",
            "problem": "the rear tyre keeps going flat every few days",
        },
        {
            "order": "road_tune_up",
            "job": "tune_up",
            "make": "Cannondale",
            "model": "Synapse",
            "kind": "road bike",
            "problem": "the chain skips and the brakes feel soft before a charity ride",
        },
        {
            "order": "ebike_squeal",
            "job": "brakes",
            "make": "Specialized",
            "model": "Turbo Vado",
            "kind": "electric bike",
            "problem": "the front brake squeals loudly and takes long to stop",
        },
        {
            "order": "kids_gears",
            "job": "gears",
            "make": "Woom",
            "model": "5",
            "kind": "children's bike",
            "problem": "the gears will not shift into the easiest gear",
        },
    ],
)
async def generate_repair_order(
    ctx: GenerationContext, order: str, job: str, make: str, model: str, kind: str, problem: str
) -> RepairOrder:
    customer = ctx.rng.choice(CUSTOMERS)
    first = customer.split()[0]
    mechanic = ctx.rng.choice(MECHANICS)
    phone = f"555-{ctx.rng.randint(100, 999)}-{ctx.rng.randint(1000, 9999)}"
    chosen = ctx.rng.sample(CATALOG[job], 3)
    bike = f"{make} {model} ({kind})"
    about = f"{customer} brought a {bike} into a neighbourhood bike shop because {problem}. The mechanic is {mechanic}."

    complaint = await ctx.write(
        f"{about}\nIn two sentences, in {first}'s own words, describe the problem with the bike.",
        start=f"My {make} {model}",
        sentences=2,
        max_length=280,
        protect=[make, model],
    )
    items: list[LineItem] = []
    notes: list[str] = []
    for description, item_kind, price in chosen:
        note = await ctx.write(
            f"{about}\nIn one sentence, write {mechanic}'s note on the work order line '{description}'.",
            start=f"{'Replaced' if item_kind == 'part' else 'Did'} the",
            sentences=1,
            max_length=180,
            avoid=notes,
            context=[complaint],
        )
        notes.append(note)
        items.append(LineItem(description=description, kind=item_kind, price=price, mechanic_note=note))
    findings = await ctx.write(
        f"{about}\nThe work done: {', '.join(d for d, _, _ in chosen)}.\n"
        f"In two sentences, explain what {mechanic} found wrong with the bike and why it happened.",
        start=f"{mechanic} found that",
        sentences=2,
        max_length=300,
        protect=[mechanic, make, model],
        context=[complaint, *notes],
    )
    pickup = await ctx.write(
        f"{about}\nIn two sentences, write the text message the shop sends {first} to say the bike is ready to pick up.",
        start=f"Hi {first}, your {make}",
        sentences=2,
        max_length=240,
        protect=[first, make, model],
        avoid=[findings],
    )
    return RepairOrder(
        order_number=f"RO-{ctx.rng.randint(10000, 99999)}",
        customer=Customer(name=customer, phone=phone),
        bike=Bike(make=make, model=model, kind=kind),
        complaint=complaint,
        mechanic=mechanic,
        items=items,
        findings=findings,
        pickup_message=pickup,
        total=round(sum(i.price for i in items), 2),
    )
