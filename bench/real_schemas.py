"""Schemas nobody here wrote, for the embedded model: 7 `openai` SDK models and 6 hand-written ones
with a discriminated union, a recursive tree, UUID, Decimal, date, email, patterns and enums.

`write_project(root)` lays out a hotdata project whose generators ask the model for each schema
with `ctx.generate` (the model fills the whole structure under the grammar); the bench and the
embedded tests build it and count what builds within the attempts.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PROMPTS", "write_project"]

SCHEMAS = '''
"""Hand-written schemas with the constructs real projects use."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field


class LineItem(BaseModel):
    description: str = Field(max_length=60, description="what was sold")
    quantity: int = Field(ge=1, le=50)
    unit_price: Decimal = Field(max_digits=8, decimal_places=2, description="price of one unit in euros")


class Invoice(BaseModel):
    number: str = Field(pattern=r"^INV-[0-9]{4}$", description="invoice number like INV-0042")
    issued: date
    customer: str = Field(max_length=60)
    items: list[LineItem] = Field(min_length=1, max_length=4)
    currency: Literal["EUR", "USD"]


class Circle(BaseModel):
    kind: Literal["circle"]
    radius: float = Field(gt=0, le=100)


class Square(BaseModel):
    kind: Literal["square"]
    side: float = Field(gt=0, le=100)


class Drawing(BaseModel):
    title: str = Field(max_length=40)
    shapes: list[Annotated[Circle | Square, Field(discriminator="kind")]] = Field(min_length=1, max_length=4)


class TreeNode(BaseModel):
    label: str = Field(max_length=30, description="the name of this part of the station")
    children: list["TreeNode"] = Field(default_factory=list, max_length=3)


class StationMap(BaseModel):
    root: TreeNode


class Member(BaseModel):
    id: UUID
    name: str = Field(max_length=40)
    email: EmailStr
    role: Literal["pilot", "engineer", "medic", "scientist"]


class LogEvent(BaseModel):
    level: Literal["debug", "info", "warning", "error"]
    message: str = Field(max_length=80, description="what happened, one line")


class EventLog(BaseModel):
    service: str = Field(max_length=30)
    events: list[LogEvent] = Field(min_length=3, max_length=5)


class Order(BaseModel):
    code: str = Field(pattern=r"[A-Z]{3}-[0-9]{4}", description="order code like ABC-1234")
    note: str = Field(max_length=80)
'''

GENERATORS = """
from hotdata.make import fixture
from openai.types import Batch, CreateEmbeddingResponse, FileObject, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.fine_tuning import FineTuningJob

from .schemas import Drawing, EventLog, Invoice, Member, Order, StationMap

SCHEMAS = {{
    "openai/chat_completion": ChatCompletion,
    "openai/chat_completion_chunk": ChatCompletionChunk,
    "openai/embedding_response": CreateEmbeddingResponse,
    "openai/fine_tuning_job": FineTuningJob,
    "openai/batch": Batch,
    "openai/file_object": FileObject,
    "openai/model": Model,
    "own/invoice": Invoice,
    "own/drawing": Drawing,
    "own/station_map": StationMap,
    "own/member": Member,
    "own/event_log": EventLog,
    "own/order": Order,
}}
PROMPTS = {prompts!r}


def declare(name, schema):
    @fixture(name, schema=schema)
    async def build(ctx):
        return await ctx.generate(PROMPTS[name])

    build.__name__ = build.__qualname__ = "build_" + name.replace("/", "_")
    return build


for _name, _schema in SCHEMAS.items():
    globals()["build_" + _name.replace("/", "_")] = declare(_name, _schema)
"""

PROMPTS = {
    "openai/chat_completion": "A chat completion from gpt-4o-mini that answers 'What is the capital of Peru?'.",
    "openai/chat_completion_chunk": "One streamed chunk of a chat completion from gpt-4o-mini, carrying the word 'Lima'.",
    "openai/embedding_response": "The response of text-embedding-3-small for one short input, with a small embedding.",
    "openai/fine_tuning_job": "A fine-tuning job of gpt-4o-mini that succeeded yesterday.",
    "openai/batch": "A batch of chat completions that completed, with its request counts.",
    "openai/file_object": "A JSONL file uploaded for fine-tuning, named train.jsonl.",
    "openai/model": "The model gpt-4o-mini as the models endpoint lists it.",
    "own/invoice": "An invoice from a bike shop in Lyon for two repairs.",
    "own/drawing": "A child's drawing of a snowman made of circles, with a square hat.",
    "own/station_map": "The map of a small research station: the station, its lab with two rooms, and a garage.",
    "own/member": "A crew member of the research station: the station's medic.",
    "own/event_log": "The log of a weather service during a storm: a few different events.",
    "own/order": "An order of spare parts for a drone.",
}

PYPROJECT = """
[project]
name = "real-schemas"
version = "0"

[tool.hotdata]
fixtures_dir = "fixtures"
generators = ["gens"]
templates_dir = "templates"
model = "hotdata-local"
model_options = {{ temperature = 0.8, seed = 7 }}
concurrency = 1
{extra}
"""


def write_project(root: Path, extra: str = "") -> None:
    """A hotdata project at ``root`` with one fixture per real schema."""
    (root / "gens").mkdir(parents=True, exist_ok=True)
    (root / "templates").mkdir(exist_ok=True)
    (root / "gens" / "__init__.py").write_text("")
    (root / "gens" / "schemas.py").write_text(SCHEMAS)
    (root / "gens" / "real.py").write_text(GENERATORS.format(prompts=PROMPTS))
    (root / "pyproject.toml").write_text(PYPROJECT.format(extra=extra))
    (root / "dodo.py").write_text("from hotdata.make import doit_project\nglobals().update(doit_project())\n")
