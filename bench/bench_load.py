"""Runtime load: HotData.load() against Model.model_validate_json(path.read_bytes()).

Run: python -m bench.bench_load
Medians (µs per call) over repeated batches, the floor in the same run, at 5 KB,
100 KB and 1 MB with a mutable schema, and at 5 KB with a frozen schema and with
copy="never". Targets (performance issue): a first load <= 1.1x the floor; a cached
load never slower than the floor (aim: >= 1.3x faster); frozen schemas and
copy="never" >= 10x faster; ``import hotdata`` <= ``import pydantic`` + 15 ms.

A first load is what a changed file causes: the file's mtime is moved on before each
load (``os.utime``), and the cost of that ``utime`` call, timed alone, is taken off.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from bench.figure import Target, figure, median
from hotdata import HotData
from hotdata.testing import write_fixture

COMMAND = "python -m bench.bench_load"
SIZES = (("5KB", "5 KB", 5_000), ("100KB", "100 KB", 100_000), ("1MB", "1 MB", 1_000_000))


class Connection(BaseModel):
    target: str
    strength: float = Field(ge=0, le=1)
    kind: Literal["ally", "rival", "mentor"]


class FrozenConnection(BaseModel, frozen=True):
    target: str
    strength: float = Field(ge=0, le=1)
    kind: Literal["ally", "rival", "mentor"]


class FrozenSnapshot(BaseModel, frozen=True):
    """The same shape, deeply immutable: hotdata shares it between callers without copying."""

    id: str
    name: str
    phase: str
    summary: str
    thoughts: tuple[str, ...]
    connections: tuple[FrozenConnection, ...]


class Snapshot(BaseModel):
    id: str
    name: str
    phase: str
    summary: str
    thoughts: list[str]
    connections: list[Connection]
    metrics: dict[str, float]


def make(size: int) -> Snapshot:
    n = max(1, size // 400)
    return Snapshot(
        id="agent-1",
        name="Ada",
        phase="deliberating",
        summary="Weighs the garden's divergence against the cost of another cycle. " * (n * 2),
        thoughts=[f"Thought {i}: the polynomial state drifts toward convergence." for i in range(n * 3)],
        connections=[
            Connection(target=f"agent-{i}", strength=(i % 10) / 10, kind="ally") for i in range(n * 2)
        ],
        metrics={f"m{i}": i * 0.5 for i in range(n * 2)},
    )


def interleaved_us(fns: dict[str, Callable[[], Any]], number: int, repeat: int = 15) -> dict[str, float]:
    """Median µs per call of each function, their batches taken in turn (order rotated each
    repeat), so a burst of load from other work on the machine hits them alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for i in range(repeat):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            samples[name].append(timeit.timeit(fns[name], number=number) / number * 1e6)
    return {name: median(values) for name, values in samples.items()}


def read_and_validate(schema: type[BaseModel], path: Path) -> Callable[[], BaseModel]:
    """The floor: what a user writes without hotdata."""
    return lambda: schema.model_validate_json(path.read_bytes())


def touch_and_load(handle: HotData[Any]) -> tuple[Callable[[], None], Callable[[], Any]]:
    """``touch`` moves the file's mtime on; ``touch`` then ``load`` is a first load: after a
    change, with nothing cached to reuse. Its cost less ``touch`` alone is the first load."""
    path = handle.path
    stamps = itertools.count(path.stat().st_mtime_ns + 1)

    def touch() -> None:
        stamp = next(stamps)
        os.utime(path, ns=(stamp, stamp))

    def first() -> Any:
        touch()
        return handle.load()

    handle.load()
    return touch, first


def import_ms(module: str) -> float:
    code = f"import time; t=time.perf_counter(); import {module}; print((time.perf_counter()-t)*1000)"
    return median(
        float(subprocess.check_output([sys.executable, "-X", "frozen_modules=on", "-c", code]))
        for _ in range(9)
    )


def load_figures(tmp: Path) -> list[dict[str, Any]]:
    results = []
    for key, label, size in SIZES:
        handle = HotData(tmp / f"snap_{key}.json", Snapshot)
        write_fixture(handle, make(size))
        path = handle.path
        number = max(10, 10_000_000 // (size * 2))  # a batch: 0.05-0.2 s at every size
        touch, first = touch_and_load(HotData(path, Snapshot))
        shared = HotData(path, Snapshot, copy="never")
        handle.load()
        shared.load()
        us = interleaved_us(
            {
                "floor": read_and_validate(Snapshot, path),
                "touch": touch,
                "first": first,
                "cached": handle.load,
                **({"never": shared.load} if key == "5KB" else {}),
            },
            number,
        )
        floor_us, first_us, cached_us = us["floor"], us["first"] - us["touch"], us["cached"]
        print(
            f"{label} ({path.stat().st_size} bytes): floor read+validate {floor_us:.1f} µs; "
            f"first load {first_us:.1f} µs ({first_us / floor_us:.2f}x); "
            f"cached load {cached_us:.1f} µs ({floor_us / cached_us:.2f}x faster)"
        )
        common: dict[str, Any] = {
            "unit": "µs",
            "floor": floor_us,
            "floor_label": "read + validate",
            "command": COMMAND,
        }
        results += [
            figure(
                f"load_first_{key}",
                f"first load, {label}",
                value=first_us,
                target=Target.ratio_at_most(1.1),
                **common,
            ),
            figure(
                f"load_cached_{key}",
                f"cached load, {label}, mutable schema",
                value=cached_us,
                target=Target.never_slower(aim_faster_by=1.3),
                **common,
            ),
        ]
        if "never" in us:
            print(f"  cached load, copy='never' {us['never']:.2f} µs ({floor_us / us['never']:.1f}x faster)")
            results.append(
                figure(
                    "load_cached_copy_never_5KB",
                    'cached load, 5 KB, `copy="never"`',
                    value=us["never"],
                    target=Target.faster_by(10),
                    **common,
                )
            )
    frozen = HotData(tmp / "frozen_5KB.json", FrozenSnapshot)
    write_fixture(frozen, FrozenSnapshot.model_validate(make(5_000).model_dump(exclude={"metrics"})))
    fpath = frozen.path
    frozen.load()
    us = interleaved_us({"floor": read_and_validate(FrozenSnapshot, fpath), "cached": frozen.load}, 2000)
    print(
        f"5 KB frozen schema: floor {us['floor']:.1f} µs, cached load {us['cached']:.2f} µs "
        f"({us['floor'] / us['cached']:.1f}x faster)"
    )
    results.append(
        figure(
            "load_cached_frozen_5KB",
            "cached load, 5 KB, frozen schema",
            value=us["cached"],
            unit="µs",
            floor=us["floor"],
            floor_label="read + validate",
            target=Target.faster_by(10),
            command=COMMAND,
        )
    )
    return results


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        results = load_figures(Path(tmp))
    pyd, hot = import_ms("pydantic"), import_ms("hotdata")
    print(f"import pydantic {pyd:.1f} ms, import hotdata {hot:.1f} ms (target <= pydantic + 15 ms)")
    results.append(
        figure(
            "import_hotdata",
            "`import hotdata` (fresh process)",
            value=hot,
            unit="ms",
            floor=pyd,
            floor_label="`import pydantic`",
            target=Target.floor_plus(15, "ms"),
            command=COMMAND,
        )
    )
    return results


if __name__ == "__main__":
    run()
