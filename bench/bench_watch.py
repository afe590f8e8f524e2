"""Hot reload latency: a fixture written as a build writes it -> the app is told.

Run: python -m bench.bench_watch [ROUNDS]   (default 60)

Two sides, each watching its own directory with the same step (10 ms) and debounce
(100 ms), both running for the whole bench:

* hotdata: ``HotDataWatcher`` with a registered fixture; the time is taken in the
  ``on_change`` callback, which holds the new value, read and validated;
* the floor, raw watchfiles: ``watchfiles.watch`` in a thread; the time is taken when
  it yields the batch that names the fixture's data file (nothing read or validated).

Both sides see the same replace: ``write_fixture`` of the same value, the data file and
its provenance record written the way a build commits them (temp files, fsync, renames),
timed from before the write starts. Rounds alternate between the sides (each side goes
first in half of them), so a busy spell of the shared machine falls on both, and the
pause between rounds varies over one step, so neither side's write lands at a fixed
point of watchfiles' step cycle (a fixed point decides a figure by up to one step).
p50 and p95 over the rounds; targets: p50 <= 1.1x the floor, p95 <= 1.3x, every
round seen on both sides.
"""

from __future__ import annotations

import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import watchfiles
from pydantic import BaseModel

from bench.figure import Target, figure, percentile
from hotdata import HotData, HotDataRegistry, HotDataWatcher
from hotdata.testing import write_fixture

STEP, DEBOUNCE = 10, 100  # ms, the same on both sides
PAUSE = 0.15  # s between rounds, plus up to one step drawn at random
WAIT = 2.0  # s a side may take to report a write before the round counts as never seen


class Snapshot(BaseModel):
    name: str
    round: int
    notes: list[str]


def snapshot(i: int) -> Snapshot:
    return Snapshot(name="s", round=i, notes=[f"note {j}" for j in range(20)])


class HotSide:
    """``HotDataWatcher`` on one fixture; a round ends in its ``on_change`` callback."""

    label = "HotDataWatcher"

    def __init__(self, root: Path) -> None:
        reg = HotDataRegistry()
        self.handle = reg.register("snap", HotData.from_name(root, "snap", Snapshot))
        write_fixture(self.handle, snapshot(-1))
        self.watcher = HotDataWatcher(root, reg, step=STEP, debounce=DEBOUNCE)
        self.arrived: dict[int, float] = {}
        self.got = threading.Event()
        self.watcher.on_change("snap", self._arrive)

    def _arrive(self, value: Snapshot) -> None:
        self.arrived[value.round] = time.perf_counter()
        self.got.set()

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()

    def round(self, i: int) -> float | None:
        self.got.clear()
        start = time.perf_counter()
        write_fixture(self.handle, snapshot(i))
        if self.got.wait(WAIT) and i in self.arrived:
            return (self.arrived[i] - start) * 1000
        return None


class RawSide:
    """Raw ``watchfiles.watch`` on the same kind of fixture; a round ends when a batch names
    the data file."""

    label = "raw watchfiles"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.handle = HotData.from_name(root, "snap", Snapshot)
        write_fixture(self.handle, snapshot(-1))
        self.seen: list[float] = []
        self.got = threading.Event()
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        data_name = self.handle.path.name
        for changes in watchfiles.watch(self.root, step=STEP, debounce=DEBOUNCE, stop_event=self.halt):
            if any(Path(path).name == data_name for _, path in changes):
                self.seen.append(time.perf_counter())
                self.got.set()

    def start(self) -> None:
        self.thread.start()
        time.sleep(0.3)  # raw watchfiles says nothing when its notifier is in place

    def stop(self) -> None:
        self.halt.set()
        self.thread.join(2)

    def round(self, i: int) -> float | None:
        self.got.clear()
        start = time.perf_counter()
        write_fixture(self.handle, snapshot(i))
        if self.got.wait(WAIT):
            return (self.seen[-1] - start) * 1000
        return None


def measure(rounds: int, seed: int = 26) -> tuple[list[float], list[float]]:
    """Latencies in ms of (hotdata, raw watchfiles), rounds alternating between the sides."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        hot, raw = HotSide(Path(a)), RawSide(Path(b))
        hot.start()
        raw.start()
        try:
            got: dict[str, list[float]] = {hot.label: [], raw.label: []}
            for i in range(rounds):
                for side in (hot, raw) if i % 2 == 0 else (raw, hot):
                    time.sleep(PAUSE + rng.uniform(0, STEP / 1000))
                    latency = side.round(i)
                    if latency is not None:
                        got[side.label].append(latency)
        finally:
            hot.stop()
            raw.stop()
    return got[hot.label], got[raw.label]


def run(rounds: int = 60) -> list[dict[str, Any]]:
    hot, raw = measure(rounds)
    results = []
    for label, q, limit in (("p50", 0.5, 1.1), ("p95", 0.95, 1.3)):
        h, r = percentile(hot, q), percentile(raw, q)
        print(
            f"hot reload {label}: HotDataWatcher {h:.1f} ms, raw watchfiles {r:.1f} ms "
            f"(ratio {h / r:.2f}x) over {len(hot)}/{rounds} and {len(raw)}/{rounds} rounds"
        )
        missed = [
            f"{rounds - len(got)} of {rounds} writes never reached {side}"
            for side, got in (("HotDataWatcher", hot), ("raw watchfiles", raw))
            if len(got) < rounds
        ]
        results.append(
            figure(
                f"hot_reload_{label}",
                f"hot reload {label} (fixture write → callback)",
                value=h,
                unit="ms",
                floor=r,
                floor_label=f"raw watchfiles {label}",
                target=Target.ratio_at_most(limit),
                command=f"python -m bench.bench_watch {rounds}",
                also_requires=not missed,
                note="; ".join(missed) or None,
            )
        )
    return results


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
