from __future__ import annotations

from pydantic import BaseModel, Field

from hotdata.testing import write_fixture

__all__ = ["Agent", "Connection", "write_fixture"]


class Connection(BaseModel):
    target: str
    strength: float = Field(ge=0, le=1)


class Agent(BaseModel):
    id: str
    name: str
    tags: list[str] = []
    connections: list[Connection] = []
