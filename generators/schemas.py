"""Schemas of this repository's catalog.

Constrained on purpose (enums, bounds, lengths): they document the data, and
they keep even the small embedded model's answers usable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Phase = Literal["idle", "deliberating", "acting", "reflecting", "in_crisis"]
Relation = Literal["ally", "rival", "mentor", "student", "observer"]


class Connection(BaseModel):
    """A link from one agent to another."""

    target: str = Field(min_length=2, max_length=40, description="the other agent's name")
    relation: Relation
    strength: float = Field(ge=0, le=1)


class AgentSnapshot(BaseModel):
    """One agent at one moment: what the cockpit screen shows."""

    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=2, max_length=40)
    archetype: str = Field(max_length=40)
    phase: Phase
    activity: str = Field(min_length=3, max_length=120, description="what the agent is doing right now")
    summary: str = Field(
        min_length=10, max_length=400, description="a vivid paragraph about its state of mind"
    )
    entropy: float = Field(ge=0, le=1, description="how unsettled the agent is")
    connections: list[Connection] = Field(default_factory=list, max_length=5)


class GardenAgent(BaseModel):
    name: str = Field(min_length=2, max_length=40)
    stance: str = Field(min_length=3, max_length=160)


class GardenSnapshot(BaseModel):
    """A garden of agents, either converging on a shared view or drifting apart."""

    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    mode: Literal["converging", "diverging"]
    coherence: float = Field(ge=0, le=1)
    agents: list[GardenAgent] = Field(min_length=2, max_length=6)
    narrative: str = Field(min_length=10, max_length=500)


class Transition(BaseModel):
    source: str
    target: str
    trigger: str = Field(min_length=2, max_length=60)


class PolynomialState(BaseModel):
    """A small state machine: its states in order, where it is, and how it moves."""

    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    positions: list[str] = Field(min_length=2, max_length=8)
    current_state: str
    transitions: list[Transition]
    description: str = Field(min_length=10, max_length=400)


class Thought(BaseModel):
    at: datetime
    kind: Literal["observation", "doubt", "plan", "memory", "decision"]
    text: str = Field(min_length=3, max_length=200)


class ThoughtsStream(BaseModel):
    """A timestamped stream of one agent's thoughts."""

    agent: str = Field(min_length=2, max_length=40)
    thoughts: list[Thought] = Field(min_length=1, max_length=12)
