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

Three changes the committed data does not meet as it is, each measured the same way, whatever the
code does with them: `max_length` tightened below about half of the bodies (the limit is the median
body length of the first build, or the length nearest it that no body has exactly, when there is
one: a value as long as the limit reads as cut off to the truncation gate; how many fixtures
exceed it is printed), an int field made a str with a pattern (`minutes: int` -> `minutes: str`,
`N min`, on a project built with `minutes`), and a field removed (`title`). Their target is computed from the data, not
assumed: the committed data of the first build is validated under the new schema class (pydantic,
in this process) and each pointer it fails counts one request, the strings at every other pointer
kept byte for byte (a removed field's strings are not counted: they are to be dropped). Whether
the change's build did it is checked on the data too, not on doit's words: every data file
validates under the new schema and holds no key it lacks.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bench import bench_replay
from bench.bench_replay import built_project, chat_requests, run_doit
from bench.figure import Target, figure
from hotdata.testing import FakeOpenAIServer

COMMAND = "python -m bench.bench_schema {n} --repeats {repeats}"

# The fake writes from a vocabulary of a few dozen words: 200 one-line summaries of it are alike
# by chance, and the near-duplicate gate (0.5 by default) would refuse some of a rebuild's. What is
# measured here is the change, not the fake's vocabulary.
PYPROJECT = bench_replay.PYPROJECT + "\n[tool.hotdata.quality]\nnear_duplicate_threshold = 0.95\n"

SCHEMA = """
from pydantic import BaseModel, Field
from hotdata.make import fixture


class Card(BaseModel):
    title: str = Field(description="A short title.")
    body: str = Field(max_length=2000, description="The card's text.")
"""
FIXTURE = """

@fixture("cards/{{i}}", schema=Card, template="card.j2", variants=[{{"i": i}} for i in range({n})])
async def card(ctx, i):
    return await ctx.generate(ctx.render())
"""
GENS = SCHEMA + FIXTURE


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


def data_files(project: Path) -> dict[str, Any]:
    """Every data file of the catalog, parsed, by file name."""
    return {
        path.name: json.loads(path.read_bytes())
        for path in sorted((project / "fixtures" / "cards").glob("*.json"))
        if not path.name.endswith(".meta.json")
    }


def schema_class(gens: str) -> type[BaseModel]:
    """The schema class Card as the generator module ``gens`` declares it, run here alone."""
    source = gens.split("\n@fixture", 1)[0].replace("from hotdata.make import fixture\n", "")
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    card = namespace["Card"]
    assert isinstance(card, type) and issubclass(card, BaseModel)
    return card


def failing(schema: type[BaseModel], data: dict[str, Any]) -> set[tuple[str, str]]:
    """The (file, JSON pointer) where ``data`` does not validate under ``schema``."""
    found: set[tuple[str, str]] = set()
    for name, value in data.items():
        try:
            schema.model_validate(value)
        except ValidationError as error:
            found |= {(name, "".join(f"/{part}" for part in e["loc"])) for e in error.errors()}
    return found


def removed(schema: type[BaseModel], data: dict[str, Any]) -> set[tuple[str, str]]:
    """The (file, JSON pointer) of the top-level keys of ``data`` that ``schema`` has no field for."""
    return {
        (name, f"/{key}") for name, value in data.items() for key in value if key not in schema.model_fields
    }


def under(at: tuple[str, str], pointers: Iterable[tuple[str, str]]) -> bool:
    name, pointer = at
    return any(name == where and (pointer == p or pointer.startswith(p + "/")) for where, p in pointers)


def limit_near_half(lengths: list[int]) -> int:
    """A `max_length` about half of ``lengths`` exceed: their median, or the length nearest it that
    none has exactly (a value as long as the limit reads as cut off at it to the truncation gate)."""
    half = statistics.median_low(lengths)
    taken = set(lengths)
    for step in range(len(lengths)):
        for limit in (half - step, half + step):
            if 0 < limit < max(lengths) and limit not in taken:
                return limit
    return half


@dataclass(frozen=True)
class Change:
    key: str  # in the metric names
    words: str  # in the labels
    old: str  # the schema's text before ...
    new: str  # ... and after ("{longest}": the longest body of the first build)
    calls: int | None  # requests a fixture, its target, with every other string kept (None: a rebuild)
    command: tuple[str, ...] = ("fixtures",)  # the doit command the change is followed by
    moved: dict[str, str] = field(default_factory=dict)  # pointer before -> after the change
    # the data does not meet the new schema as it is: the target is one request a pointer it fails
    # (found by validating the first build's data), every other string kept (``calls`` is None)
    per_pointer: bool = False
    base: str = ""  # schema lines the project is built with besides BODY ("": the common project)

    @property
    def free(self) -> bool:  # the data is kept: 0 requests is its target
        return self.calls == 0


BODY = '    body: str = Field(max_length=2000, description="The card\'s text.")\n'
MINUTES = '    minutes: int = Field(ge=1, le=60, description="How long the card takes to read.")\n'
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
    Change(
        "max_length_exceeded",
        "`max_length` tightened below about half of the bodies",
        "max_length=2000",
        "max_length={half}",
        None,
        per_pointer=True,
    ),
    Change(
        "type_changed",
        "an int field made a str with a pattern (`minutes: int` -> `minutes: str`, `N min`)",
        MINUTES,
        MINUTES.replace(
            "minutes: int = Field(ge=1, le=60,", 'minutes: str = Field(pattern=r"^[1-9][0-9]? min$",'
        ),
        None,
        per_pointer=True,
        base=MINUTES,
    ),
    Change(
        "field_removed",
        "a field removed (`title`)",
        '    title: str = Field(description="A short title.")\n',
        "",
        None,
        per_pointer=True,
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
    total: int = 0  # the string values counted: every one, but a removed field's
    kept_target: int | None = None  # a per-pointer change: the strings to keep, those not failing
    failing: int = 0  # ... and the pointers the committed data fails under the new schema
    detail: str = ""  # ... in words


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
    bodies = [len(v) for (_, pointer), v in before.items() if pointer == "/body"]
    half = limit_near_half(bodies)
    text = (base / "gens" / "__init__.py").read_text()
    assert change.old in text, change.old
    changed = text.replace(change.old, change.new.format(longest=max(bodies), half=half), 1)
    runs = Runs()
    if change.per_pointer:
        # the target, from the data: one request a pointer the first build's data fails under the
        # new schema, the strings everywhere else kept (a removed field's not counted)
        schema, data = schema_class(changed), data_files(base)
        fails, gone = failing(schema, data), removed(schema, data)
        before = {at: value for at, value in before.items() if not under(at, gone)}
        runs.kept_target = sum(not under(at, fails) for at in before)
        runs.failing = len(fails)
        words = [f"{len({name for name, _ in fails})} of {n} fixtures fail it, {len(fails)} pointer(s)"]
        if "{half}" in change.new:
            words.insert(
                0, f"max_length 2000 -> {half}, {sum(b == half for b in bodies)} bodies exactly at it"
            )
        if gone:
            fields = ", ".join(sorted({f"`{pointer[1:]}`" for _, pointer in gone}))
            words.append(f"{fields} in {len({name for name, _ in gone})} data files, to be dropped")
        runs.detail = "; ".join(words)
    runs.total = len(before)
    for repeat in range(repeats):
        project = base.parent / f"{change.key}-{repeat}"
        shutil.copytree(base, project, symlinks=True)
        (project / "gens" / "__init__.py").write_text(changed)
        server.seed = 100 + 2 * repeat  # what is asked is answered anew, as a model samples anew
        wall, out = run_doit(project, env, *change.command)
        runs.seconds.append(wall)
        runs.requests.append(chat_requests(server))
        runs.kept.append(kept(before, project, change.moved))
        if change.per_pointer:  # by the data, whatever doit says: valid, nothing the schema lacks
            after = data_files(project)
            runs.ok &= len(after) == n and not failing(schema, after) and not removed(schema, after)
        elif change.command[0] == "migrate":
            runs.ok &= f"{n} fixture(s) migrated" in out
        elif change.free:
            runs.ok &= f"{n} record(s) updated (data kept" in out
        elif change.calls is not None:
            runs.ok &= f"{n} generated" in out
        if (change.calls is not None or change.per_pointer) and repeat == 0:
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


def rows_of(change: Change, runs: Runs, n: int, repeats: int) -> list[dict[str, Any]]:
    requests, strings_kept, total = max(runs.requests), min(runs.kept), runs.total
    full_requests, full_kept = max(runs.full_requests), max(runs.full_kept)
    seconds, full_seconds = statistics.median(runs.seconds), statistics.median(runs.full_seconds)
    detail = aim = ""
    if runs.kept_target is not None:
        detail = f" ({runs.detail})"
        data = "meets the new schema" if runs.ok else "does NOT meet the new schema (or a fixture is missing)"
        aim = (
            f"; target: at most {runs.failing} requests, {runs.kept_target} strings kept; data after: {data}"
        )
    print(
        f"N = {n}, {change.words}{detail}: {requests} requests, {strings_kept} of {total} strings kept, "
        f"{seconds:.1f}s; full rebuild: {full_requests} requests, {full_kept} of {total} strings kept, "
        f"{full_seconds:.1f}s (medians of {repeats}){runs.verify}{aim}"
    )
    command = COMMAND.format(n=n, repeats=repeats)
    if runs.kept_target is not None:
        target = Target.value_at_most(runs.failing, "requests")
        kept_enough = strings_kept >= runs.kept_target
    elif change.calls is None:
        target, kept_enough = Target.reported(), True
    else:
        target, kept_enough = Target.value_at_most(change.calls * n, "requests"), strings_kept == total
    note = None  # why a per-pointer row fails besides its requests, said
    if runs.kept_target is not None and not (runs.ok and kept_enough):
        note = "; ".join(
            ([] if kept_enough else [f"{strings_kept} strings kept, the target {runs.kept_target}"])
            + ([] if runs.ok else ["the data after does not meet the new schema, or a fixture is missing"])
        )
    return [
        figure(
            f"schema_{change.key}_requests_{n}",
            f"schema change, N = {n}: requests after {change.words}{detail} ({strings_kept} of {total} string "
            f"values kept byte for byte; the full rebuild asks {full_requests}, keeps {full_kept}{runs.verify})",
            value=requests,
            unit="requests",
            floor=None,
            floor_label=None,
            target=target,
            also_requires=runs.ok and kept_enough,
            command=command,
            note=note,
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
    chosen = [change for change in CHANGES if only is None or change.key == only]
    if not chosen:
        raise SystemExit(f"--only {only}: no such change; one of {', '.join(c.key for c in CHANGES)}")
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(seed=3) as server:
        templates = {"card.j2": "A card numbered {{ i }}.\n"}
        built: dict[str, tuple[Path, dict[str, str]]] = {}  # by the schema lines besides BODY
        rows = []
        for change in chosen:
            if change.base not in built:  # built once, from the same seed, before its first change
                where = Path(tmp) / (f"base-{len(built)}" if change.base else "")
                where.mkdir(exist_ok=True)
                gens = (SCHEMA.replace(BODY, BODY + change.base) + FIXTURE).format(n=n)
                server.seed = 3
                built[change.base] = built_project(where, server, gens, templates, PYPROJECT)
            project, env = built[change.base]
            runs = measure_change(change, project, env, server, n, repeats)
            rows += rows_of(change, runs, n, repeats)
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
