"""Issue 23, part 5: one family, one comparison. Siblings built at the same time in one run are
compared in name order, as `doit validate` compares them afterwards, so a build never commits
what validate refuses. Real `doit` subprocesses, the scripted fake model, both siblings held in
progress together by files they create (an observed event, not a sleep).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project

pytestmark = pytest.mark.slow

FAMILY = """
import asyncio
from pathlib import Path

from hotdata.make import GenerationContext, fixture

from .schemas import Draft, Note


@fixture("fam/{who}", schema=Note, variants=[{"who": "a"}, {"who": "b"}])
async def fam(ctx: GenerationContext, who: str) -> Note:
    Path(f"started-{who}").touch()
    other = Path("started-b" if who == "a" else "started-a")
    for _ in range(6000):  # both siblings are in progress before either asks the model
        if other.exists():
            break
        await asyncio.sleep(0.005)
    draft = await ctx.generate(f"[fixture fam/{who}] A note for the crew.", Draft)
    return Note(title=who, body=draft.text)
"""
SAME = "The crew meets at dawn by the north dock, and the first boat leaves when the tide turns."
OTHER = "Bring warm gloves: the salt store is unheated and the nets still need mending by noon."


def note(text: str) -> str:
    return json.dumps({"text": text})


def test_siblings_built_at_once_are_compared_in_name_order(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.doit("fixtures", check=True)  # the rest of the catalog, so validate judges the family alone
    project.path("gens/fam.py").write_text(FAMILY)
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps({"[fixture fam/a]": [note(SAME)], "[fixture fam/b]": [note(SAME), note(OTHER)]})
    )
    env = {"HOTDATA_MODEL": "hotdata-fake:script", "HOTDATA_FAKE_SCRIPT": str(script)}
    proc = project.doit("fixtures:fam/a", "fixtures:fam/b", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    body = {who: json.loads(project.path(f"fixtures/fam/{who}.json").read_text())["body"] for who in "ab"}
    assert body == {"a": SAME, "b": OTHER}  # the later name yields to the earlier
    record: dict[str, Any] = json.loads(project.path("fixtures/fam/b.meta.json").read_text())
    assert any("fam/a" in reason for failed in record["failed_attempts"] for reason in failed["reasons"])
    validate = project.doit("validate", env=env)
    assert validate.returncode == 0, validate.stdout + validate.stderr
