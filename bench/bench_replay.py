"""Recorded answers: what a code change and a template change cost, and `doit verify`'s time.

Run: python -m bench.bench_replay [N ...] [--runs K] [--record]
     (default: N = 100, one run; `python -m bench` runs 100 and 1000). With ``--runs K`` each N
     is measured K times and the run with the median `doit verify` time gives the figures (its
     floor from that same run); ``--record`` writes them into bench/results.json.

Over N fixtures of two generators (half each) answered by the fake OpenAI server over
real HTTP:
(a) a change to one generator's post-processing code: every fixture of that generator
    is rebuilt with 0 requests, and its prose is identical;
(b) a change to the template of the other generator: exactly its fixtures make requests;
(c) `doit verify` on the committed state: wall time, 0 requests; beside it, its floor from
    the same project and run: `doit fixtures` with every fixture fresh (the no-op check: the
    process, the catalog and each fixture's state, what verify pays before it replays).
    Target (issue 26): at most 3 s at N = 1,000.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import clean_env
from bench.figure import Target, figure
from hotdata.testing import FakeOpenAIServer

COMMAND = "python -m bench.bench_replay {n}"

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
from pydantic import BaseModel
from hotdata.make import fixture


class Card(BaseModel):
    title: str
    body: str


@fixture("cards/{{i}}", schema=Card, template="card.j2", variants=[{{"i": i}} for i in range({half})])
async def card(ctx, i):
    value = await ctx.generate(ctx.render())
    return Card(title=value.title, body=value.body)


@fixture("notes/{{i}}", schema=Card, template="note.j2", variants=[{{"i": i}} for i in range({half})])
async def note(ctx, i):
    return await ctx.generate(ctx.render())
"""


def run_doit(project: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "doit", *args], cwd=project, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"doit {' '.join(args)} failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
    return elapsed, proc.stdout


def chat_requests(server: FakeOpenAIServer) -> int:
    count = sum(1 for r in server.requests if str(r.get("path", "")).endswith("/chat/completions"))
    server.requests.clear()
    return count


def bodies(project: Path, prefix: str) -> dict[str, str]:
    return {
        p.name: json.loads(p.read_text())["body"]
        for p in sorted((project / "fixtures" / prefix).glob("*.json"))
        if not p.name.endswith(".meta.json")
    }


def built_project(
    tmp: Path, server: FakeOpenAIServer, gens: str, templates: dict[str, str], pyproject: str = PYPROJECT
) -> tuple[Path, dict[str, str]]:
    """A project in ``tmp`` of one generator module (``gens``) and ``templates`` (name -> text),
    answered by model fake-gpt of ``server`` and built once; its root and the environment to run
    doit in (the requests of that first build are forgotten)."""
    project = tmp / "project"
    (project / "gens").mkdir(parents=True)
    (project / "templates").mkdir()
    (project / "pyproject.toml").write_text(pyproject)
    (project / "gens" / "__init__.py").write_text(gens)
    for name, text in templates.items():
        (project / "templates" / name).write_text(text)
    (project / "dodo.py").write_text(
        "from hotdata.make import doit_project\nglobals().update(doit_project())\n"
    )
    server.write_llm_config(tmp / "llm", "fake-gpt")
    env = clean_env(LLM_USER_PATH=str(tmp / "llm"))
    run_doit(project, env, "fixtures")
    chat_requests(server)
    return project, env


def measure(n: int) -> list[dict[str, Any]]:
    half = n // 2
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(seed=2) as server:
        templates = {"card.j2": "A card numbered {{ i }}.\n", "note.j2": "A note numbered {{ i }}.\n"}
        project, env = built_project(Path(tmp), server, GENS.format(half=half), templates)
        before = bodies(project, "cards")

        gens = project / "gens" / "__init__.py"  # (a) post-processing code of one generator
        gens.write_text(gens.read_text().replace("title=value.title", "title=value.title.upper()"))
        code_wall, code_out = run_doit(project, env, "fixtures")
        code_requests = chat_requests(server)
        same_prose = bodies(project, "cards") == before

        template = project / "templates" / "note.j2"  # (b) the other generator's template
        template.write_text("A short note numbered {{ i }}.\n")
        _, template_out = run_doit(project, env, "fixtures")
        template_requests = chat_requests(server)

        verify_wall, verify_out = run_doit(project, env, "verify")  # (c)
        verify_requests = chat_requests(server)
        noop_wall, noop_out = run_doit(project, env, "fixtures")  # (c)'s floor: nothing to build
        noop_requests = chat_requests(server)

    print(
        f"N = {n}: code change -> {code_requests} requests, prose identical: {same_prose} ({code_wall:.1f}s); "
        f"template change -> {template_requests} requests for {half} fixtures; "
        f"doit verify {verify_wall:.2f}s, {verify_requests} requests "
        f"(floor: no-op doit fixtures {noop_wall:.2f}s)"
    )
    common: dict[str, Any] = {"floor": None, "floor_label": None, "command": COMMAND.format(n=n)}
    return [
        figure(
            f"replay_code_change_requests_{n}",
            f"replay, N = {n}: requests after a post-processing change to {half} fixtures' generator",
            value=code_requests,
            unit="requests",
            target=Target.value_at_most(0, "requests"),
            also_requires=same_prose and f"{half} generated" in code_out,
            note=None if same_prose else "the prose changed",
            **common,
        ),
        figure(
            f"replay_template_change_requests_{n}",
            f"replay, N = {n}: requests after a template change to {half} fixtures",
            value=template_requests,
            unit="requests",
            target=Target.value_at_most(half, "requests"),
            also_requires=template_requests == half and f"{half} generated" in template_out,
            **common,
        ),
        figure(
            f"replay_verify_seconds_{n}",
            f"doit verify, N = {n} (0 model calls)",
            value=verify_wall,
            unit="s",
            floor=noop_wall,
            floor_label=f"no-op doit fixtures, {n:,} fresh",
            target=Target.value_at_most(3.0, "s") if n >= 1000 else Target.reported(),
            also_requires=verify_requests == 0
            and noop_requests == 0
            and "are what the committed code produces" in verify_out
            and f"0 generated, {n} up to date" in noop_out,
            command=COMMAND.format(n=n),
        ),
    ]


def run(ns: list[int] | None = None, runs: int = 1) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n in ns or [100]:
        measured = [measure(n) for _ in range(runs)]
        verify_times = [
            next(r["value"] for r in m if r["metric"].startswith("replay_verify_")) for m in measured
        ]
        middle = sorted(range(runs), key=lambda i: verify_times[i])[(runs - 1) // 2]
        if runs > 1:
            times = ", ".join(f"{t:.2f}" for t in verify_times)
            print(f"N = {n}: doit verify over {runs} runs: {times} s; median {verify_times[middle]:.2f} s")
            for row in measured[middle]:
                if row["metric"].startswith("replay_verify_"):
                    row["note"] = row["note"] or f"median of {runs} runs ({times} s)"
        rows += measured[middle]
    return rows


def main(argv: list[str]) -> int:
    runs = 1
    if "--runs" in argv:
        at = argv.index("--runs")
        runs = int(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    record = "--record" in argv
    ns = [int(a) for a in argv if a != "--record"] or None
    load_before = os.getloadavg()[0]
    rows = run(ns, runs)
    if record:
        from bench.__main__ import record as write_rows

        write_rows(rows, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
