"""A schema change that does not matter: what a description change costs, against a full rebuild.

Run: python -m bench.bench_schema [N] [--record]   (default N = 200; ``--record`` writes the
     figures into bench/results.json)

N fixtures of one generator, answered by the fake OpenAI server over real HTTP. The schema's
field description changes: `doit fixtures` keeps every data file (revalidated) and rewrites
only the records, with 0 requests. Beside it, from the same project and run: the full rebuild
the same change cost before (issue 25: every fixture asked again), measured as
`doit fixtures force=1 replay=off`. Only the description change is measured here; the other
changes issue 25 lists (new field, rename, ...) are still full rebuilds.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import clean_env
from bench.bench_replay import chat_requests, run_doit
from bench.figure import Target, figure
from hotdata.testing import FakeOpenAIServer

COMMAND = "python -m bench.bench_schema {n}"

PYPROJECT = """
[tool.hotdata]
generators = ["gens"]
templates_dir = "templates"
model = "fake-gpt"
concurrency = 16

[tool.hotdata.retries]
backoff_initial = 0.01
backoff_max = 0.05
"""

GENS = """
from pydantic import BaseModel, Field
from hotdata.make import fixture


class Card(BaseModel):
    title: str = Field(description="A short title.")
    body: str = Field(max_length=2000, description="The card's text.")


@fixture("cards/{{i}}", schema=Card, template="card.j2", variants=[{{"i": i}} for i in range({n})])
async def card(ctx, i):
    return await ctx.generate(ctx.render())
"""


def data_files(project: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted((project / "fixtures" / "cards").glob("*.json"))
        if not p.name.endswith(".meta.json")
    }


def measure(n: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(seed=3) as server:
        project = Path(tmp) / "project"
        (project / "gens").mkdir(parents=True)
        (project / "templates").mkdir()
        (project / "pyproject.toml").write_text(PYPROJECT)
        (project / "gens" / "__init__.py").write_text(GENS.format(n=n))
        (project / "templates" / "card.j2").write_text("A card numbered {{ i }}.\n")
        (project / "dodo.py").write_text(
            "from hotdata.make import doit_project\nglobals().update(doit_project())\n"
        )
        server.write_llm_config(Path(tmp) / "llm", "fake-gpt")
        env = clean_env(LLM_USER_PATH=str(Path(tmp) / "llm"))
        run_doit(project, env, "fixtures")
        chat_requests(server)
        before = data_files(project)

        gens = project / "gens" / "__init__.py"
        gens.write_text(gens.read_text().replace("The card's text.", "What the card says."))
        kept_wall, kept_out = run_doit(project, env, "fixtures")
        kept_requests = chat_requests(server)
        kept = sum(before[name] == data for name, data in data_files(project).items())
        _, verify_out = run_doit(project, env, "verify")
        verify_requests = chat_requests(server)

        gens.write_text(gens.read_text().replace("What the card says.", "The card's words."))
        full_wall, full_out = run_doit(project, env, "fixtures", "force=1", "replay=off")
        full_requests = chat_requests(server)

    print(
        f"N = {n}: description change -> {kept_requests} requests, {kept} of {n} data files kept byte "
        f"for byte ({kept_wall:.1f}s; doit verify after: {verify_requests} requests); full rebuild -> "
        f"{full_requests} requests ({full_wall:.1f}s)"
    )
    ok = (
        f"{n} record(s) updated (data kept)" in kept_out
        and "are what the committed code produces" in verify_out
        and verify_requests == 0
        and f"{n} generated" in full_out
    )
    return [
        figure(
            f"schema_description_requests_{n}",
            f"schema change, N = {n}: requests after a field description changed "
            f"({kept} of {n} data files kept byte for byte; a full rebuild asks {full_requests})",
            value=kept_requests,
            unit="requests",
            floor=None,
            floor_label=None,
            target=Target.value_at_most(0, "requests"),
            also_requires=ok and kept == n,
            command=COMMAND.format(n=n),
        ),
        figure(
            f"schema_description_seconds_{n}",
            f"schema change, N = {n}: `doit fixtures` after a field description changed (0 model calls)",
            value=kept_wall,
            unit="s",
            floor=full_wall,
            floor_label=f"full rebuild of {n} fixtures, fake model (force=1 replay=off, {full_requests} requests)",
            target=Target.reported(),
            also_requires=ok,
            command=COMMAND.format(n=n),
        ),
    ]


def run(ns: list[int] | None = None) -> list[dict[str, Any]]:
    return [row for n in ns or [200] for row in measure(n)]


def main(argv: list[str]) -> int:
    record = "--record" in argv
    ns = [int(a) for a in argv if a != "--record"] or None
    load_before = os.getloadavg()[0]
    rows = run(ns)
    if record:
        from bench.__main__ import record as write_rows

        write_rows(rows, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
