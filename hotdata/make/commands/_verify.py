"""``doit verify``: are the committed fixtures what the committed code produces?

Every fixture is generated again from recorded answers only (``replay = only``:
zero model calls), in memory — the generate stage writes nothing — and compared
byte for byte with the committed data file. Drift is reported per fixture with
the classifier's reason and a field-level diff; a missing answer is reported with
what differed from the closest recorded request. A recorded answer that is not the
one the fixture's record was built from (by digest) is reported as a change of the
store, not of the code; staged answers (a build under review) are never used.
"""

from __future__ import annotations

import concurrent.futures
import json
from dataclasses import dataclass

from doit.exceptions import TaskFailed

from ..._errors import HotDataError
from ..._freshness import FixtureState
from .._errors import ChangedAnswer
from .._pipeline import Pipeline
from .._spec import FixtureSpec
from ..answers._store import built_from
from ..generate._runner import Runner
from ._diff import diff_values, render_changes

__all__ = ["Drift", "verify"]


@dataclass(frozen=True)
class Drift:
    name: str
    lines: list[str]


def _check(pipeline: Pipeline, runner: Runner, spec: FixtureSpec) -> Drift | None:
    status = pipeline.planner.status(spec)
    if status.state is FixtureState.MISSING:
        return Drift(spec.name, [f"{spec.name}: {status.reason}; build it with `doit fixtures`"])
    try:
        committed = status.data_path.read_bytes()
        candidate = runner.run(
            runner.generate(
                spec,
                status.data_path,
                status.meta_path,
                pipeline.siblings(spec),
                status.reason,
                expected=built_from(status.data_path, status.meta_path, staged=False),
            ),
            pipeline.inputs.timeout_for(spec),
            f"fixture {spec.name}",
        )
    except ChangedAnswer as exc:
        return Drift(spec.name, [f"{spec.name}: the answer store changed, not the code: {exc}"])
    except HotDataError as exc:
        return Drift(spec.name, [f"{spec.name}: cannot be rebuilt from recorded answers: {exc}"])
    except OSError as exc:
        return Drift(spec.name, [f"{spec.name}: cannot read {status.data_path}: {exc.strerror}"])
    if candidate.data == committed:
        return None
    try:
        old = json.loads(committed)
    except ValueError:
        old = None
    head = f"{spec.name}: the committed data differs from what the code produces ({status.state.value}: {status.reason})"
    changes = render_changes(
        diff_values(old, json.loads(candidate.data)), max_lines=20, secrets=pipeline.inputs.secrets
    )
    return Drift(spec.name, [head, *(f"    {line}" for line in changes)])


def verify(pipeline: Pipeline) -> bool | TaskFailed:
    # the committed store, as the committed fixtures were built from it (never a staged answer)
    runner = Runner(pipeline.config, pipeline.inputs, answers=pipeline.answers.committed(), replay="only")
    workers = concurrent.futures.ThreadPoolExecutor(pipeline.config.concurrency, "hotdata-verify")
    try:
        checked = workers.map(lambda spec: _check(pipeline, runner, spec), list(pipeline.catalog))
        drifts = [d for d in checked if d is not None]
    finally:
        workers.shutdown()
        runner.close()
    count = len(pipeline.catalog)
    if drifts:
        for drift in drifts:
            print("\n".join(drift.lines))
        print(f"doit verify: {len(drifts)} of {count} fixture(s) are not what the committed code produces")
        return TaskFailed(f"{len(drifts)} fixture(s) drifted; see above")
    print(f"doit verify: all {count} fixture(s) are what the committed code produces (0 model calls)")
    return True
