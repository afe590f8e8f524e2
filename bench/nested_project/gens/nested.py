"""Three nested schemas from domains not in the catalog, each built by one ``ctx.generate``:
a recipe (ingredients as objects, steps as strings), a hiking trip (days as objects, each with
its stops), and a board-game night (players as objects, rounds as objects).
Written once before any run, from the README's ctx.generate section; never tuned to the bench.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from hotdata.make import GenerationContext, fixture


class Ingredient(BaseModel):
    name: str = Field(max_length=40)
    quantity: float = Field(gt=0)
    unit: Literal["g", "ml", "tsp", "tbsp", "piece"]


class Recipe(BaseModel):
    title: str = Field(max_length=80)
    servings: int = Field(ge=1, le=12)
    vegetarian: bool
    ingredients: list[Ingredient] = Field(min_length=3, max_length=5)
    steps: list[str] = Field(min_length=3, max_length=4)
    tip: str = Field(max_length=300)


@fixture(
    "recipes/{slug}",
    schema=Recipe,
    variants=[
        {"slug": "lentil_soup", "dish": "a red lentil soup with cumin and lemon"},
        {"slug": "apple_crumble", "dish": "an apple crumble with oats"},
    ],
)
async def recipe(ctx: GenerationContext, slug: str, dish: str) -> Recipe:
    result: Recipe = await ctx.generate(
        f"Write a home-cooking recipe for {dish}: its title, servings, ingredients with "
        "quantities, the steps in order, and one tip.",
        Recipe,
    )
    return result


class Stop(BaseModel):
    place: str = Field(max_length=60)
    kind: Literal["summit", "lake", "hut", "viewpoint", "village"]
    note: str = Field(max_length=200)


class Day(BaseModel):
    distance_km: float = Field(ge=1, le=40)
    ascent_m: int = Field(ge=0, le=2500)
    stops: list[Stop] = Field(min_length=2, max_length=3)
    summary: str = Field(max_length=300)


class Hike(BaseModel):
    region: str = Field(max_length=60)
    difficulty: Literal["easy", "moderate", "hard"]
    days: list[Day] = Field(min_length=2, max_length=3)
    packing_advice: str = Field(max_length=300)


@fixture(
    "hikes/{slug}",
    schema=Hike,
    variants=[
        {"slug": "dolomites_huts", "trip": "a three-day hut-to-hut hike in the Dolomites"},
        {"slug": "lake_district", "trip": "a two-day walk around the lakes of the English Lake District"},
    ],
)
async def hike(ctx: GenerationContext, slug: str, trip: str) -> Hike:
    result: Hike = await ctx.generate(
        f"Plan {trip}: the region, how hard it is, each day with its distance, ascent and "
        "stops, a summary of each day, and packing advice.",
        Hike,
    )
    return result


class Player(BaseModel):
    name: str = Field(max_length=30)
    seat: int = Field(ge=1, le=6)
    style: Literal["cautious", "aggressive", "trader", "builder"]


class Round(BaseModel):
    number: int = Field(ge=1, le=10)
    leader: str = Field(max_length=30)
    score_gap: int = Field(ge=0, le=50)
    what_happened: str = Field(max_length=300)


class GameNight(BaseModel):
    game: str = Field(max_length=40)
    players: list[Player] = Field(min_length=3, max_length=4)
    rounds: list[Round] = Field(min_length=2, max_length=3)
    winner: str = Field(max_length=30)
    recap: str = Field(max_length=400)


@fixture(
    "game_nights/{slug}",
    schema=GameNight,
    variants=[
        {"slug": "trading_game", "game": "a resource-trading board game"},
        {"slug": "tile_laying", "game": "a tile-laying board game"},
    ],
)
async def game_night(ctx: GenerationContext, slug: str, game: str) -> GameNight:
    result: GameNight = await ctx.generate(
        f"Describe one evening of {game} among friends: the game's name, the players with their "
        "seats and styles, what happened in each round and who led, the winner, and a short recap.",
        GameNight,
    )
    return result
