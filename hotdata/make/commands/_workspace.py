"""What one doit process opens of a project: the parts every command is handed.

Each part is made once here and handed to the commands that need it (``_project`` wires
the tasks): the planner (with the catalog, imported on first use), the writer that holds
the build lock, the answer store, the batch jobs, the failure log, the build's rate
limiters, and the conductor (``Pipeline``) made of them. Nothing reaches a part through
another one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..._freshness import Clock, utcnow
from .._config import HotDataConfig, RunSwitches
from .._failures import FailureLog
from .._pipeline import Pipeline
from ..answers._store import AnswerStore
from ..batch._run import BatchRun
from ..commit._writer import Writer
from ..generate._answering import Budget
from ..generate._maker import CandidateMaker
from ..models._limits import RateLimits
from ..plan._index import FreshIndex
from ..plan._inputs import InputResolver
from ..plan._planner import Planner
from ._prune import Pruner
from ._review import Review
from ._staged import StagedChanges

__all__ = ["Workspace", "open_workspace"]


@dataclass(frozen=True)
class Workspace:
    """The parts of one project in one doit process."""

    config: HotDataConfig
    switches: RunSwitches
    planner: Planner
    writer: Writer
    answers: AnswerStore
    batches: BatchRun
    failures: FailureLog
    limits: RateLimits
    pipeline: Pipeline
    pruner: Pruner
    staged: StagedChanges
    review: Review

    def replay_maker(self, answers: AnswerStore) -> CandidateMaker:
        """A maker that only replays ``answers`` (``doit verify``, ``doit doctor``): its budget
        is its own, and no model is asked, since every plan it gets says ``replay = only``."""
        return CandidateMaker(self.config, budget=Budget(), answers=answers, limits=self.limits)


def open_workspace(config: HotDataConfig, switches: RunSwitches, *, clock: Clock = utcnow) -> Workspace:
    """The parts of ``config``'s project, for a run with ``switches`` (nothing is imported or read)."""
    review = config.review if switches.review is None else switches.review
    batching = config.batch if switches.batch is None else switches.batch
    planner = Planner(InputResolver(config), clock=clock, index=FreshIndex(config.state_path))
    writer = Writer(config.fixtures_path, config.state_path, config.lock_timeout)
    # batch jobs of earlier runs are polled before the first fixture is built, in every mode
    batches = BatchRun(
        config.batches_path,
        writer.write_document,
        batching=batching,
        offline=config.offline,
        plugins=config.llm_plugins,
        model=config.model,
    )
    # under review, a build's answers are staged with it: rejecting it must not touch the store
    answers = AnswerStore(
        config.answers_path,
        writer.write_answer,
        root=config.root,
        staging=review,
        state_dir=config.state_path,
    )
    failures = FailureLog(config.state_path)
    limits = RateLimits()
    maker = CandidateMaker(
        config, budget=Budget.of(config), answers=answers, detour=batches.queue, limits=limits, clock=clock
    )
    pipeline = Pipeline(
        planner=planner,
        maker=maker,
        writer=writer,
        answers=answers,
        batches=batches,
        failures=failures,
        force=switches.force,
        review=review,
        replay=switches.replay or config.replay,
        batch=batching,
    )
    pruner = Pruner(planner, answers, batches, failures, writer)
    staged = StagedChanges(planner, config.root, maker.family)
    return Workspace(
        config=config,
        switches=switches,
        planner=planner,
        writer=writer,
        answers=answers,
        batches=batches,
        failures=failures,
        limits=limits,
        pipeline=pipeline,
        pruner=pruner,
        staged=staged,
        review=Review(staged, writer, answers, pruner, config.state_path, force=switches.force),
    )
