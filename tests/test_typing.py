"""The public API as a user's ``mypy --strict`` sees it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

USER_FILE = """
import random
from typing import Literal, assert_type

from pydantic import BaseModel

from hotdata import HotData, registry
from hotdata.make import Sampler


class Model(BaseModel):
    name: str


handle = HotData("fixtures/a.json", Model)
assert_type(handle, HotData[Model])
assert_type(handle.load(), Model)
assert_type(handle.load_or_default(Model(name="d")), Model)
assert_type(HotData.from_name("fixtures", "a", Model).load(), Model)
shared = HotData("fixtures/a.json", Model, copy="never")
assert_type(shared, HotData[Model])
value = registry.load("a")  # found by name: the schema is only known at run time

# ctx.sample's categories come back as typed: a Literal's keys give that Literal
Kind = Literal["bug", "question"]
weights: dict[Kind, int] = {"bug": 3, "question": 1}
sample = Sampler(random.Random("a"))
assert_type(sample.category(weights), Kind)
assert_type(sample.subcategory(sample.category(weights), {"bug": ["billing"], "question": ["pricing"]}), str)
"""

WRONG = """
from pydantic import BaseModel

from hotdata import HotData


class Model(BaseModel):
    name: str


count: int = HotData("fixtures/a.json", Model).load()
HotData("fixtures/a.json", Model, copy=True)
"""


def mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "user_code.py"
    path.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_handles_are_typed_by_their_schema(tmp_path: Path) -> None:
    result = mypy(tmp_path, USER_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mistakes_are_type_errors(tmp_path: Path) -> None:
    result = mypy(tmp_path, WRONG)
    assert result.returncode == 1
    assert 'Incompatible types in assignment (expression has type "Model", variable has type "int")' in (
        result.stdout
    )
    assert "copy" in result.stdout  # copy=True no longer means "auto": it is not a CopyMode
