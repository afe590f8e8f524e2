"""Big catalogs: batch mode at 1,000 fixtures, and the adaptive limiter under a rate limit.

Run: python -m bench.bench_batch [N_BATCH] [N_RATE] [RATE] [LATENCY_S] [K]   (default 1000 500 20 0.1 16)

Batch: N_BATCH stale fixtures against the fake server's Batch API, 2 % of the batch
answers invalid (a 200 whose JSON fails the schema, re-asked synchronously). Timed from
outside, whole processes: ``doit fixtures batch=1`` (submit) and the ``doit fixtures``
that collects and builds. Requests billed (batch items answered plus synchronous
requests) must equal N_BATCH plus the re-asks of invalid items, and no batch item may
run twice.

Rate limits: N_RATE stale fixtures against a fake admitting RATE chat completions a
second (429 beyond, with Retry-After and x-ratelimit headers), LATENCY_S per request,
K fixtures at once. Wall time of the whole ``doit fixtures`` process against the ideal
N_RATE / RATE seconds (target <= 1.15x) and the share of requests refused (target <= 5 %).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import clean_env
from bench.figure import Target, figure
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
    title: str = Field(max_length=200)
    body: str = Field(max_length=400)

@fixture("cards/{{i}}", schema=Card, template="card.j2", variants=[{{"i": i}} for i in range({n})])
async def card(ctx, i):
    return await ctx.generate(ctx.render())
"""

INVALID_SHARE = 0.02


def project(root: Path, server: FakeOpenAIServer, n: int, k: int) -> dict[str, str]:
    (root / "gens").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT.format(k=k))
    (root / "gens" / "__init__.py").write_text(GENS.format(n=n))
    (root / "templates" / "card.j2").write_text("Write card {{ i }}.\n")
    (root / "dodo.py").write_text("from hotdata.make import doit_project\nglobals().update(doit_project())\n")
    server.write_llm_config(root / "llm", "fake-gpt")
    return clean_env(LLM_USER_PATH=str(root / "llm"))


def doit(root: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "doit", "fixtures", *args], cwd=root, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout + proc.stderr)
    return seconds, proc.stdout


def fresh(root: Path, env: dict[str, str]) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "doit", "status", "--json"],
        cwd=root,
        env={**env, "HOTDATA_OFFLINE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(proc.stdout[proc.stdout.index("[") :])
    return sum(1 for row in rows if row["state"] == "fresh")


def chat(server: FakeOpenAIServer) -> list[dict[str, Any]]:
    return [r for r in server.requests if r["path"].endswith("/chat/completions")]


def run_batch(n: int = 1000) -> list[dict[str, Any]]:
    with FakeOpenAIServer(seed=11) as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = project(root, server, n, 16)
        server.hold_batches()  # the submitting run only submits
        submit, out = doit(root, env, "batch=1")
        assert f"{n} waiting for a batch" in out, out
        server.fail_batch_items(INVALID_SHARE, kind="invalid")
        server.hold_batches(False)
        collect, out = doit(root, env)
        answers = [json.loads(p.read_text()) for p in (root / "fixtures" / ".answers").rglob("*.json")]
        invalid = sum(1 for a in answers if json.loads(a["answer"]["text"]) == {"unexpected": True})
        # every refused answer (the invalid ones, and valid ones the quality gates refused) is re-asked
        records = [json.loads(p.read_text()) for p in (root / "fixtures" / "cards").glob("*.meta.json")]
        refused = sum(r["attempts"] - 1 for r in records)
        reasks = len(chat(server))
        billed = server.batch_requests_billed + reasks
        duplicates = sum(c - 1 for c in Counter(e.custom_id for e in server.batch_executions).values())
        built = fresh(root, env)
    expected = n + refused
    print(
        f"batch N={n}: submit {submit:.2f}s, collect and build {collect:.2f}s (whole processes); "
        f"{server.batch_requests_billed} batch items + {reasks} synchronous re-asks = {billed} billed "
        f"(expected {n} + {refused} refused answers ({invalid} invalid, {refused - invalid} failing the "
        f"quality gates) = {expected}); {duplicates} duplicates; {built} fresh"
    )
    label = f"{n:,} fixtures through the Batch API"
    command = f"python -m bench.bench_batch {n}"
    ok = built == n
    note = None if ok else f"only {built} of {n} fixtures fresh after collecting"
    return [
        figure(
            "batch_submit",
            f"{label}: submit (`doit fixtures batch=1`)",
            value=submit,
            unit="s",
            floor=None,
            floor_label=None,
            target=Target.reported(),
            command=command,
            also_requires=ok,
            note=note,
        ),
        figure(
            "batch_collect",
            f"{label}: collect and build (`doit fixtures`)",
            value=collect,
            unit="s",
            floor=None,
            floor_label=None,
            target=Target.reported(),
            command=command,
            also_requires=ok,
            note=note,
        ),
        figure(
            "batch_billed",
            f"{label}: requests billed ({INVALID_SHARE:.0%} of answers made invalid)",
            value=billed,
            unit="requests",
            floor=expected,
            floor_label=f"{n:,} + {refused} re-asks ({invalid} invalid, {refused - invalid} refused by gates)",
            target=Target.reported(),
            command=command,
            also_requires=billed == expected and ok,
            note=None if billed == expected else f"billed {billed}, expected exactly {expected}",
        ),
        figure(
            "batch_duplicates",
            f"{label}: batch items run twice",
            value=duplicates,
            unit="requests",
            floor=None,
            floor_label=None,
            target=Target.value_at_most(0, "requests"),
            command=command,
        ),
    ]


def run_rate(n: int = 500, rate: float = 20.0, latency: float = 0.1, k: int = 16) -> list[dict[str, Any]]:
    with (
        FakeOpenAIServer(seed=12, rate_limit=rate, latency=latency) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        root = Path(tmp)
        env = project(root, server, n, k)
        wall, _ = doit(root, env)
        requests = chat(server)
        refused = sum(1 for r in requests if r["fault"] == "rate_limited")
        built = fresh(root, env)
    ideal = n / rate
    share = 100.0 * refused / max(len(requests), 1)
    print(
        f"rate limit {rate:g}/s, N={n}, latency {latency * 1000:.0f}ms, K={k}: doit fixtures {wall:.2f}s "
        f"(whole process), ideal {ideal:.2f}s, ratio {wall / ideal:.2f}x; {refused} of {len(requests)} "
        f"requests refused ({share:.1f}%); {built} fresh"
    )
    label = f"{n} fixtures, provider limit {rate:g} requests/s, {latency * 1000:.0f} ms latency, K = {k}"
    command = f"python -m bench.bench_batch 0 {n} {rate:g} {latency:g} {k}"
    ok = built == n
    note = None if ok else f"only {built} of {n} fixtures fresh"
    return [
        figure(
            "rate_limit_wall",
            f"{label}: wall time",
            value=wall,
            unit="s",
            floor=ideal,
            floor_label="ideal: N / limit",
            target=Target.ratio_at_most(1.15),
            command=command,
            also_requires=ok,
            note=note,
        ),
        figure(
            "rate_limit_refused",
            f"{label}: requests refused (429)",
            value=share,
            unit="%",
            floor=None,
            floor_label=None,
            target=Target.value_at_most(5, "%"),
            command=command,
            also_requires=ok,
            note=note,
        ),
    ]


def run(
    n_batch: int = 1000, n_rate: int = 500, rate: float = 20.0, latency: float = 0.1, k: int = 16
) -> list[dict[str, Any]]:
    return (run_batch(n_batch) if n_batch else []) + (run_rate(n_rate, rate, latency, k) if n_rate else [])


if __name__ == "__main__":
    args = sys.argv[1:]
    run(
        int(args[0]) if args else 1000,
        int(args[1]) if len(args) > 1 else 500,
        float(args[2]) if len(args) > 2 else 20.0,
        float(args[3]) if len(args) > 3 else 0.1,
        int(args[4]) if len(args) > 4 else 16,
    )
