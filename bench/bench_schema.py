"""Schema changes: what each kind costs, against the full rebuild it was before.

Run: python -m bench.bench_schema [N] [--repeats R] [--record]   (default N = 200, R = 3;
     ``--record`` writes the figures into bench/results.json)

N fixtures of one generator, answered by the fake OpenAI server over real HTTP, built once. Each
change is then made on a fresh copy of that project, R times: `doit fixtures` (its requests, the
string values kept byte for byte at the same JSON pointer, its median seconds), and beside it, on
the same copy and in the same run, the full rebuild the change cost before issue 25 (every fixture
asked again): `doit fixtures force=1 replay=off`. After the first build the fake answers from
another seed, as a model samples anew: what is asked again is written again. The changes: a new field with a default (filled
from the schema's default, no call), a new required prose field (asked alone: one request a
fixture, its recorded answer replayed around it), a renamed field (rebuilt by `doit fixtures`; or
moved by `doit migrate --rename`, no call), a field description and a tightened `max_length` the
data meets (record updated, no call). ``--only KEY`` measures one change (its key in CHANGES).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import bench_replay
from bench.bench_replay import built_project, chat_requests, run_doit
from bench.figure import Target, figure
from hotdata.testing import FakeOpenAIServer

COMMAND = "python -m bench.bench_schema {n} --repeats {repeats}"

# The fake writes from a vocabulary of a few dozen words: 200 one-line summaries of it are alike
# by chance, and the near-duplicate gate (0.5 by default) would refuse some of a rebuild's. What is
# measured here is the change, not the fake's vocabulary.
PYPROJECT = bench_replay.PYPROJECT + "\n[tool.hotdata.quality]\nnear_duplicate_threshold = 0.95\n"

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


def strings(project: Path) -> dict[tuple[str, str], str]:
    """Every string value of the data files, by (file, JSON pointer)."""
    found: dict[tuple[str, str], str] = {}

    def walk(name: str, value: Any, pointer: str) -> None:
        if isinstance(value, str):
            found[name, pointer] = value
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(name, item, f"{pointer}/{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(name, item, f"{pointer}/{i}")

    for path in sorted((project / "fixtures" / "cards").glob("*.json")):
        if not path.name.endswith(".meta.json"):
            walk(path.name, json.loads(path.read_bytes()), "")
    return found


def kept(before: dict[tuple[str, str], str], project: Path, moved: dict[str, str] | None = None) -> int:
    """How many of ``before`` are byte for byte at the same place (a pointer ``moved`` to another)."""
    after, moved = strings(project), moved or {}
    return sum(after.get((name, moved.get(at, at))) == value for (name, at), value in before.items())


@dataclass(frozen=True)
class Change:
    key: str  # in the metric names
    words: str  # in the labels
    old: str  # the schema's text before ...
    new: str  # ... and after ("{longest}": the longest body of the first build)
    calls: int | None  # requests a fixture, its target, with every other string kept (None: a rebuild)
    command: tuple[str, ...] = ("fixtures",)  # the doit command the change is followed by
    moved: dict[str, str] = field(default_factory=dict)  # pointer before -> after the change

    @property
    def free(self) -> bool:  # the data is kept: 0 requests is its target
        return self.calls == 0


BODY = '    body: str = Field(max_length=2000, description="The card\'s text.")\n'
CHANGES = (
    Change("default", "a field with a default added", BODY, BODY + "    tags: list[str] = []\n", 0),
    Change(
        "required",
        "a required prose field added",
        BODY,
        BODY + '    summary: str = Field(description="The card in one line.")\n',
        1,
    ),
    Change("description", "a field description changed", "The card's text.", "What the card says.", 0),
    Change(
        "max_length",
        "`max_length` tightened, the data meets it",
        "max_length=2000",
        "max_length={longest}",
        0,
    ),
    Change("rename", "a field renamed", "    body: str", "    text: str", None),
    Change(
        "rename_migrate",
        "a field renamed, its data moved by `doit migrate --rename=body=text cards`",
        "    body: str",
        "    text: str",
        0,
        ("migrate", "--rename=body=text", "cards"),
        {"/body": "/text"},
    ),
)


@dataclass
class Runs:
    """One change's repeats: the change's `doit fixtures` and the full rebuild beside it."""

    seconds: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    full_seconds: list[float] = field(default_factory=list)
    full_requests: list[int] = field(default_factory=list)
    full_kept: list[int] = field(default_factory=list)
    ok: bool = True
    verify: str = ""  # what `doit verify` said after the change's build, in words


def verify_words(project: Path, env: dict[str, str], server: FakeOpenAIServer) -> str:
    """`doit verify` after a build that kept the data: passes, or how many drifted (said, not hidden:
    a figure whose kept data verify refuses is shown with it)."""
    proc = subprocess.run(
        [sys.executable, "-m", "doit", "verify"], cwd=project, env=env, capture_output=True, text=True
    )
    asked = chat_requests(server)
    said = [
        line.removeprefix("doit verify: ")
        for line in proc.stdout.splitlines()
        if line.startswith("doit verify: ")
    ]
    if proc.returncode == 0:
        return f"; `doit verify` after: passes, {asked} requests"
    return f"; `doit verify` after: {said[-1] if said else 'failed'}, {asked} requests"


def measure_change(
    change: Change, base: Path, env: dict[str, str], server: FakeOpenAIServer, n: int, repeats: int
) -> Runs:
    before = strings(base)
    longest = max(len(v) for (_, pointer), v in before.items() if pointer == "/body")
    runs = Runs()
    for repeat in range(repeats):
        project = base.parent / f"{change.key}-{repeat}"
        shutil.copytree(base, project, symlinks=True)
        gens = project / "gens" / "__init__.py"
        text = gens.read_text()
        assert change.old in text, change.old
        gens.write_text(text.replace(change.old, change.new.format(longest=longest), 1))
        server.seed = 100 + 2 * repeat  # what is asked is answered anew, as a model samples anew
        wall, out = run_doit(project, env, *change.command)
        runs.seconds.append(wall)
        runs.requests.append(chat_requests(server))
        runs.kept.append(kept(before, project, change.moved))
        if change.command[0] == "migrate":
            runs.ok &= f"{n} fixture(s) migrated" in out
        elif change.free:
            runs.ok &= f"{n} record(s) updated (data kept" in out
        elif change.calls is not None:
            runs.ok &= f"{n} generated" in out
        if change.calls is not None and repeat == 0:
            # is the kept data what the code produces, from the recorded answers?
            runs.verify = verify_words(project, env, server)
        server.seed = 101 + 2 * repeat
        wall, out = run_doit(project, env, "fixtures", "force=1", "replay=off")
        runs.full_seconds.append(wall)
        runs.full_requests.append(chat_requests(server))
        runs.full_kept.append(kept(before, project))
        runs.ok &= f"{n} generated" in out
        shutil.rmtree(project)
    return runs


def rows_of(change: Change, runs: Runs, n: int, total: int, repeats: int) -> list[dict[str, Any]]:
    requests, strings_kept = max(runs.requests), min(runs.kept)
    full_requests, full_kept = max(runs.full_requests), max(runs.full_kept)
    seconds, full_seconds = statistics.median(runs.seconds), statistics.median(runs.full_seconds)
    print(
        f"N = {n}, {change.words}: {requests} requests, {strings_kept} of {total} strings kept, "
        f"{seconds:.1f}s; full rebuild: {full_requests} requests, {full_kept} of {total} strings kept, "
        f"{full_seconds:.1f}s (medians of {repeats}){runs.verify}"
    )
    command = COMMAND.format(n=n, repeats=repeats)
    target = Target.reported() if change.calls is None else Target.value_at_most(change.calls * n, "requests")
    return [
        figure(
            f"schema_{change.key}_requests_{n}",
            f"schema change, N = {n}: requests after {change.words} ({strings_kept} of {total} string "
            f"values kept byte for byte; the full rebuild asks {full_requests}, keeps {full_kept}{runs.verify})",
            value=requests,
            unit="requests",
            floor=None,
            floor_label=None,
            target=target,
            also_requires=runs.ok and (strings_kept == total or change.calls is None),
            command=command,
        ),
        figure(
            f"schema_{change.key}_seconds_{n}",
            f"schema change, N = {n}: `doit {change.command[0]}` after {change.words} ({requests} model calls)",
            value=seconds,
            unit="s",
            floor=full_seconds,
            floor_label=f"full rebuild of {n} fixtures, fake model (force=1 replay=off, {full_requests} requests)",
            target=Target.reported(),
            also_requires=runs.ok,
            command=command,
        ),
    ]


def measure(n: int, repeats: int = 3, only: str | None = None) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(seed=3) as server:
        templates = {"card.j2": "A card numbered {{ i }}.\n"}
        project, env = built_project(Path(tmp), server, GENS.format(n=n), templates, PYPROJECT)
        total = len(strings(project))
        rows = []
        for change in CHANGES:
            if only is not None and change.key != only:
                continue
            runs = measure_change(change, project, env, server, n, repeats)
            rows += rows_of(change, runs, n, total, repeats)
    return rows


def run(ns: list[int] | None = None, repeats: int = 3, only: str | None = None) -> list[dict[str, Any]]:
    return [row for n in ns or [200] for row in measure(n, repeats, only)]


def main(argv: list[str]) -> int:
    record = "--record" in argv
    args = [a for a in argv if a != "--record"]
    repeats = 3
    if "--repeats" in args:
        at = args.index("--repeats")
        repeats = int(args[at + 1])
        del args[at : at + 2]
    only = None
    if "--only" in args:
        at = args.index("--only")
        only = args[at + 1]
        del args[at : at + 2]
    ns = [int(a) for a in args] or None
    load_before = os.getloadavg()[0]
    rows = run(ns, repeats, only)
    if record:
        from bench.__main__ import record as write_rows

        write_rows(rows, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
