"""Generation throughput: N stale fixtures against the fake server at fixed latency.

Run: python -m bench.bench_generate [N] [LATENCY_S] [K]   (default 200 0.1 16)
Floor: what a user would write instead, a hand-written asyncio.gather over the
openai SDK against the same server at the same concurrency, measured in the same
run, the two taken in turn; both are whole processes timed from outside. Targets
(performance issue): <= 1.2x that floor and <= 1.6x the ideal N x latency / K.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import clean_env
from bench.figure import Target, figure, median
from hotdata.testing import FakeOpenAIServer

PYPROJECT = """
[tool.hotdata]
generators = ["gens"]
templates_dir = "templates"
model = "fake-gpt"
concurrency = {k}
"""

GENS = """
from pydantic import BaseModel, Field
from hotdata.make import fixture

class Card(BaseModel):
    title: str = Field(max_length=60)
    body: str = Field(max_length=200)

@fixture("cards/{{i}}", schema=Card, template="card.j2", variants=[{{"i": i}} for i in range({n})])
async def card(ctx, i):
    return await ctx.generate(ctx.render())
"""


FLOOR_SCRIPT = """
import asyncio, sys, json
import openai

async def main(url, n, k):
    client = openai.AsyncOpenAI(base_url=url, api_key="floor", max_retries=0)
    gate = asyncio.Semaphore(k)
    schema = {"type": "object", "properties": {"title": {"type": "string"}, "body": {"type": "string"}}}

    async def one(i):
        async with gate:
            reply = await client.chat.completions.create(
                model="fake-gpt",
                messages=[{"role": "user", "content": f"Card {i}"}],
                response_format={"type": "json_schema", "json_schema": {"name": "output", "schema": schema}},
            )
            return json.loads(reply.choices[0].message.content or "{}")

    await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def floor(url: str, n: int, k: int) -> float:
    """The whole hand-written script, process start and imports included, as for doit."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR_SCRIPT, url, str(n), str(k)], check=True)
    return time.perf_counter() - start


def run(n: int = 200, latency: float = 0.1, k: int = 16, repeat: int = 5) -> list[dict[str, Any]]:
    hot_times, floor_times = [], []
    with FakeOpenAIServer(latency=latency) as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "gens").mkdir()
        (root / "templates").mkdir()
        (root / "pyproject.toml").write_text(PYPROJECT.format(k=k))
        (root / "gens" / "__init__.py").write_text(GENS.format(n=n))
        (root / "templates" / "card.j2").write_text("Write card {{ i }}.\n")
        (root / "dodo.py").write_text(
            "from hotdata.make import doit_project\nglobals().update(doit_project())\n"
        )
        server.write_llm_config(root / "llm", "fake-gpt")
        env = clean_env()
        env["LLM_USER_PATH"] = str(root / "llm")
        for _ in range(repeat):
            # a fresh process each time, timed from outside, stale fixtures each time
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "doit", "fixtures", "force=1"],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
            )
            hot_times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise RuntimeError(proc.stdout + proc.stderr)
            floor_times.append(floor(server.url, n, k))
    hot, flo = median(hot_times), median(floor_times)
    ideal = n * latency / k
    print(
        f"generate N={n} latency={latency * 1000:.0f}ms K={k}: doit fixtures {hot:.2f}s (whole process), "
        f"asyncio.gather+openai script {flo:.2f}s, ideal {ideal:.2f}s; ratio {hot / flo:.2f}x floor, "
        f"{hot / ideal:.2f}x ideal"
    )
    label = f"{n} stale fixtures, {latency * 1000:.0f} ms latency, K = {k}"
    command = f"python -m bench.bench_generate {n} {latency} {k}"
    return [
        figure(
            "generate_vs_sdk_floor",
            f"{label}: vs the SDK script",
            value=hot,
            unit="s",
            floor=flo,
            floor_label="asyncio.gather + openai script",
            target=Target.ratio_at_most(1.2),
            command=command,
        ),
        figure(
            "generate_vs_ideal",
            f"{label}: vs the ideal",
            value=hot,
            unit="s",
            floor=ideal,
            floor_label="ideal: N · latency / K",
            target=Target.ratio_at_most(1.6),
            command=command,
        ),
    ]


if __name__ == "__main__":
    args = sys.argv[1:]
    run(
        int(args[0]) if args else 200,
        float(args[1]) if len(args) > 1 else 0.1,
        int(args[2]) if len(args) > 2 else 16,
    )
