from typing import Literal

from pydantic import BaseModel, Field


class Agent(BaseModel):
    """An agent in the demo."""

    name: str = Field(max_length=40)
    phase: Literal["deliberating", "crisis", "resting"]
    summary: str = Field(max_length=200)


class Note(BaseModel):
    title: str
    body: str


class Draft(BaseModel):
    """What the model writes for a note; the generator adds the title."""

    text: str = Field(max_length=300)
