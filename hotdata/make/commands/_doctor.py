"""``doit doctor``: what this machine can run, without spending money.

* the embedded model's llama.cpp: its compiled-in features, and a one-token decode in
  a worker process (ok, or the crash and the fix);
* each model the catalog uses: whether ``llm`` resolves it, and whether the key it needs
  is present (never its value);
* the replay mode, and whether every stale fixture can be rebuilt from recorded answers
  (its generator runs with ``replay = only``, in memory: nothing is written, no model is asked).

It fails when a build would: a model no plugin serves, a missing key that a stale fixture
needs, an embedded model that cannot decode.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from doit.exceptions import TaskFailed

from ..._errors import HotDataError
from ..._freshness import FixtureState
from .._candidate import Tally
from .._config import HotDataConfig, ReplayMode
from ..generate._answering import ReplayMiss
from ..generate._maker import CandidateMaker
from ..plan._planner import Planner

__all__ = ["doctor"]

_SHOWN = 10  # names listed per line at most


def _names(names: list[str]) -> str:
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _key_line(model: Any) -> str | None:
    """Whether the key ``model`` needs is present: where it would come from, never its value."""
    import llm

    alias = getattr(model, "needs_key", None)
    if not alias:
        return None
    env = getattr(model, "key_env_var", None)
    where = f"`llm keys set {alias}`" + (f" or ${env}" if env else "")
    if llm.get_key(alias=alias, env=env):
        return f"key: present ({where})"
    return f"key: MISSING; set it with {where}"


def _models(config: HotDataConfig, planner: Planner, problems: list[str]) -> list[str]:
    from ..models._llm import lookup_model  # here: only `doit doctor` loads llm for this

    used = Counter(planner.inputs(spec).model for spec in planner.catalog)
    used.setdefault(config.model, 0)
    lines = []
    for model_id, count in sorted(used.items()):
        where = f"{count} fixture(s)" + (" and the default" if model_id == config.model else "")
        model = lookup_model(model_id, config.llm_plugins)
        if model is None:
            lines.append(f"model {model_id} ({where}): no llm plugin serves it")
            problems.append(
                f"model {model_id}: unknown to llm; `llm models` lists the installed ones, "
                "`llm install <plugin>` adds providers"
            )
            continue
        plugin = type(model).__module__.split(".")[0]
        lines.append(f"model {model_id} ({where}): resolved by llm (plugin {plugin})")
        key = _key_line(model)
        if key is not None:
            lines.append(f"  {key}")
            if key.startswith("key: MISSING") and count:
                problems.append(f"model {model_id}: {key}")
    return lines


def _embedded(config: HotDataConfig, planner: Planner, problems: list[str]) -> list[str]:
    from ..embedded import LOCAL_MODEL_ID, prove_decode, read_build, reinstall_command

    build = read_build()
    lines = [f"llama.cpp: {build.describe()}"]
    if build.version is None:
        return lines
    if not build.portable and build.problem is None:
        lines.append(f"  fix: {reinstall_command()}")
    proof = prove_decode()
    lines.append(f"llama.cpp: {proof.describe()}")
    uses = any(planner.inputs(s).model == LOCAL_MODEL_ID for s in planner.catalog)
    if not proof.ok and (uses or config.model == LOCAL_MODEL_ID):
        problems.append(f"{LOCAL_MODEL_ID}: {proof.problem}")
    return lines


def _replay(config: HotDataConfig, planner: Planner, maker: CandidateMaker, mode: ReplayMode) -> list[str]:
    lines = [f"replay: {mode}" + ("; model calls are off (offline)" if config.offline else "")]
    stale = [
        spec
        for spec in planner.catalog
        if planner.status(spec).state in (FixtureState.STALE, FixtureState.MISSING)
    ]
    if not stale:
        lines.append("replay: every fixture is fresh; `doit fixtures` has nothing to rebuild")
        return lines
    replayable, paid, broken = [], [], []
    try:
        for spec in stale:
            # whether each could be rebuilt from recorded answers at all, whichever it was built from
            plan = dataclasses.replace(planner.plan(spec, planner.status(spec), replay="only"), built_from={})
            try:
                maker.make(plan, Tally())
                replayable.append(spec.name)
            except ReplayMiss:
                paid.append(spec.name)
            except HotDataError as exc:
                broken.append(f"{spec.name}: {exc}")
    finally:
        maker.close()
    lines.append(
        f"replay: {len(stale)} fixture(s) to rebuild; {len(replayable)} replay from recorded answers"
    )
    if paid:
        lines.append(f"  need model calls: {_names(paid)}")
    lines.extend(f"  fails before any model call: {line}" for line in broken)
    return lines


def doctor(
    config: HotDataConfig, planner: Planner, maker: CandidateMaker, replay: ReplayMode
) -> bool | TaskFailed:
    """``doit doctor``; ``maker`` replays recorded answers (it never asks a model), ``replay`` is
    the run's mode."""
    problems: list[str] = []
    lines = [
        *_embedded(config, planner, problems),
        *_models(config, planner, problems),
        *_replay(config, planner, maker, replay),
    ]
    print("\n".join(f"doit doctor: {line}" if not line.startswith("  ") else line for line in lines))
    if problems:
        print(f"doit doctor: {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return TaskFailed(f"{len(problems)} problem(s); see above")
    print("doit doctor: this machine can build the catalog")
    return True
