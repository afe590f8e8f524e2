"""doit integration: the tasks and DOIT_CONFIG a dodo.py gets from ``doit_project()``."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed
from doit.reporter import ConsoleReporter

from ..._errors import HotDataError
from .._config import load_config, read_run_switches
from .._secrets import mask_secrets
from .._snapshot import environment_digest
from .._spec import FixtureSpec
from . import _commands, _doctor, _migrate, _preview, _verify
from ._estimate import RunEstimate, cost_refusal, estimate_run, limit_text, replay_checker
from ._remember import remember_catalog
from ._reporter import EstimateReporter, HotDataReporter
from ._workspace import Workspace, open_workspace

__all__ = ["doit_project"]

TaskDict = dict[str, Any]


def doit_project(
    root: str | os.PathLike[str] | None = None, *, started_ns: int | None = None, env: str | None = None
) -> dict[str, Any]:
    """Everything a dodo.py needs: ``globals().update(doit_project())``.

    Returns ``DOIT_CONFIG`` and the task creators ``task_fixtures``, ``task_validate``,
    ``task_status``, ``task_generate`` and ``task_catalog`` ..., each handed the parts of one
    ``Workspace`` it needs. Configuration errors become a failing task with the message, not
    a traceback. ``started_ns`` (when the run began) and ``env`` (``environment_digest()``) key
    the catalog snapshot a build run leaves for the next no-op run.
    """
    started_ns = time.time_ns() if started_ns is None else started_ns
    env = environment_digest() if env is None else env
    try:
        config = load_config(Path(root) if root is not None else None)
        switches = read_run_switches(_command_line_variables())
    except HotDataError as exc:
        message = str(exc)
        if "migrate" in sys.argv[1:] and message.startswith("unknown argument"):
            # doit takes every NAME=VALUE word for a variable, `--rename old=new`'s value too
            message += "; `doit migrate` takes a rename joined to its option: --rename=OLD=NEW"
        _say(message)
        return _broken(message)
    ws = open_workspace(config, switches)
    try:
        ws.planner.catalog  # noqa: B018 - imports the generator modules now, to report a failure once
    except HotDataError as exc:
        _say(str(exc))
    doit_config = {
        "backend": "json",  # explicit: this Python's default dbm falls back to the fragile dbm.dumb
        "dep_file": str(config.root / ".doit.db"),
        "default_tasks": ["fixtures"],
        "continue": True,
        "reporter": HotDataReporter(
            ws.pipeline,
            after_build=lambda: remember_catalog(ws, started_ns, env),
            before_build=lambda names: _cost_guard(ws, names),
        ),
        "num_process": config.concurrency,
        "par_type": "thread",
        "subtasks": True,  # `doit list` shows every fixture, not only the group
    }
    if switches.dry:  # nothing is built, asked or written: doit's own state stays in memory too
        doit_config.update(
            backend="sqlite3", dep_file=":memory:", reporter=EstimateReporter(lambda n: _dry_run(ws, n))
        )
    return {
        "DOIT_CONFIG": doit_config,
        "task_fixtures": _fixtures_creator(ws),
        "task_validate": _simple_creator(
            ws,
            "validate",
            "Validate every data file against its schema and its record (never calls a model).",
            lambda: _commands.validate(ws.planner, ws.staged),
        ),
        "task_status": _status_creator(ws),
        "task_generate": _generate_creator(ws),
        "task_verify": _simple_creator(
            ws,
            "verify",
            "Rebuild every fixture from recorded answers (0 model calls) and compare with the committed data.",
            # the committed store, as the committed fixtures were built from it (never a staged answer)
            lambda: _verify.verify(
                ws.planner, ws.replay_maker(ws.answers.committed()), ws.config.concurrency
            ),
        ),
        "task_prune": _simple_creator(
            ws,
            "prune",
            "Remove recorded answers (fixtures/.answers) that no fixture of the catalog uses any more.",
            ws.pruner.prune,
        ),
        "task_doctor": _simple_creator(
            ws,
            "doctor",
            "What this machine can run: the llama.cpp build, the models and keys, replay (spends nothing).",
            lambda: _doctor.doctor(
                ws.config, ws.planner, ws.replay_maker(ws.answers), ws.switches.replay or ws.config.replay
            ),
        ),
        "task_review": _review_creator(ws),
        "task_preview": _preview_creator(ws),
        "task_accept": _decision_creator(ws, "accept", ws.review.accept),
        "task_reject": _decision_creator(ws, "reject", ws.review.reject),
        "task_stats": _stats_creator(ws),
        "task_migrate": _migrate_creator(ws),
        "task_catalog": _simple_creator(
            ws,
            "catalog",
            "Write fixtures/README.md: every fixture with schema, generator, model, generated_at, ttl.",
            lambda: _write_catalog(ws, announce=True),
        ),
    }


def _estimate(ws: Workspace, names: list[str], statuses: Any = None) -> RunEstimate:
    """The estimate of a ``doit fixtures`` run of ``names`` with this run's switches."""
    checker = replay_checker(ws.config, ws.answers, ws.limits)
    pipeline = ws.pipeline
    return estimate_run(
        ws.planner,
        checker,
        names,
        config=ws.config,
        force=pipeline.force,
        replay=pipeline.replay,
        batch=pipeline.batch,
        statuses=statuses,
    )


def _dry_run(ws: Workspace, names: list[str]) -> list[str]:
    """``doit fixtures dry=1``: the estimate's lines."""
    head = "hotdata: dry run (dry=1): no model asked, nothing written; `doit fixtures` would:"
    try:
        return [head, *_estimate(ws, names).lines()]
    except HotDataError as exc:
        return [f"hotdata: dry run (dry=1): no estimate: {exc}"]


def _cost_guard(ws: Workspace, names: list[str]) -> str | None:
    """Before a build run: the refusal when its estimate is over ``max_cost`` (the run is stopped
    before any call), else None."""
    max_cost = ws.config.max_cost
    if max_cost is None:
        return None
    where = (
        "HOTDATA_MAX_COST"
        if os.environ.get("HOTDATA_MAX_COST", "").strip()
        else f"[tool.hotdata] of {ws.config.root / 'pyproject.toml'}"
    )
    try:
        refusal = cost_refusal(_estimate(ws, names), max_cost, where)
    except HotDataError as exc:
        refusal = f"max_cost = {limit_text(max_cost)} ({where}): the run cannot be estimated, so nothing was asked: {exc}"
    if refusal is not None:
        ws.pipeline.refuse(refusal)
    return refusal


def _command_line_variables() -> dict[str, str]:
    """Every ``name=value`` argument of this doit run.

    doit's public ``get_var`` answers only for a name asked for, so a misspelt ``forse=1``
    would go unnoticed; its module keeps them all (None outside a doit run)."""
    from doit import doit_cmd

    found = getattr(doit_cmd, "_CMDLINE_VARS", None)
    return dict(found) if isinstance(found, dict) else {}


def _failing(
    basename: str,
    doc: str,
    message: str,
    params: list[dict[str, Any]] | None = None,
    pos_arg: str | None = None,
) -> TaskDict:
    task: TaskDict = {"basename": basename, "actions": [lambda: TaskFailed(message)], "uptodate": [False]}
    # the task keeps its options and arguments, so `doit status --json` or `doit accept NAME`
    # report the real error, not "--json unknown" or "Invalid parameter: NAME"
    task = {**task, "doc": doc, "params": params or []}
    return {**task, "pos_arg": pos_arg} if pos_arg else task


def _say(message: str) -> None:
    # Said at once, on stderr: doit rejects `fixtures:NAME` or an option such as --json
    # before any task runs, which would hide the real error behind "Invalid parameter".
    print(f"hotdata: {message}", file=sys.stderr, flush=True)


class _SaidAlready(ConsoleReporter):  # type: ignore[misc]
    """A configuration error is said once, as one line (``_say``); doit's own report of the
    failing task would repeat it in a block of its own."""

    desc = "hotdata: configuration errors only"

    def execute_task(self, task: Any) -> None:
        pass

    def add_failure(self, task: Any, fail: Any) -> None:
        pass

    def complete_run(self) -> None:
        for err in self.runtime_errors:
            self.outstream.write(f"ERROR: {err}\n")


def _broken(message: str) -> dict[str, Any]:
    def creator(
        name: str, params: list[dict[str, Any]] | None = None, pos_arg: str | None = None
    ) -> Callable[[], TaskDict]:
        doc = (
            "(configuration error) " + message.splitlines()[0]
            if name == "fixtures"
            else "(configuration error)"
        )

        def task() -> TaskDict:
            return _failing(name, doc, message, params, pos_arg)

        task.__doc__ = doc
        return task

    return {
        "DOIT_CONFIG": {"backend": "json", "default_tasks": ["fixtures"], "reporter": _SaidAlready},
        "task_fixtures": creator("fixtures"),
        "task_validate": creator("validate"),
        "task_status": creator("status", _STATUS_PARAMS),
        "task_generate": creator("generate", _GENERATE_PARAMS),
        "task_verify": creator("verify"),
        "task_prune": creator("prune"),
        "task_review": creator("review", _STATUS_PARAMS),
        "task_preview": creator("preview", _PREVIEW_PARAMS, "names"),
        "task_accept": creator("accept", _ALL, "names"),
        "task_reject": creator("reject", _ALL, "names"),
        "task_stats": creator("stats", _STATS_PARAMS_ALL),
        "task_migrate": creator("migrate", _MIGRATE_PARAMS, "names"),
        "task_catalog": creator("catalog"),
    }


def _catalog_failure(
    ws: Workspace, basename: str, doc: str, params: Any = None, pos_arg: str | None = None
) -> TaskDict | None:
    try:
        ws.planner.catalog  # noqa: B018 - imports the generator modules
    except HotDataError as exc:
        return _failing(basename, doc, str(exc), params, pos_arg)
    return None


def _fixture_doc(spec: FixtureSpec, secrets: tuple[str, ...]) -> str:
    shown = mask_secrets(dict(spec.params), list(secrets))  # never a key in `doit list`
    params = ", ".join(f"{k}={v}" for k, v in shown.items())
    doc = f"{spec.schema_label} from {spec.generator.__name__}({params})"
    return doc if len(doc) <= 90 else doc[:87] + "..."


def _write_catalog(ws: Workspace, *, announce: bool = False) -> bool | TaskFailed:
    try:
        written = ws.pipeline.write_catalog()  # False (unchanged) is not a failure
    except HotDataError as exc:
        return TaskFailed(str(exc))
    if announce:
        path = ws.config.fixtures_path / "README.md"
        print(f"{path} {'written' if written else 'already current'}")
    return True


def _fixtures_creator(ws: Workspace) -> Callable[[], Iterator[TaskDict]]:
    pipeline, secrets = ws.pipeline, ws.planner.resolver.secrets

    def up_to_date(name: str) -> bool:
        # a plain function: doit reads the signature of every uptodate callable, once per task,
        # and a bound method costs it twice the work (at 10,000 fixtures, ~50 ms)
        return pipeline.is_up_to_date(name)

    def build(name: str) -> bool | TaskFailed:
        outcome = pipeline.build(name)
        # a run refused by max_cost fails (exit code 1); a budget reached mid-run leaves fixtures stale
        if outcome.kind.value == "failed" or outcome.message == pipeline.refusal:
            return TaskFailed(outcome.message)
        return True

    def task_fixtures() -> Iterator[TaskDict]:
        """Generate every stale fixture; fresh and hand-edited ones are skipped (force=1 overwrites)."""
        doc = task_fixtures.__doc__ or ""
        failure = _catalog_failure(ws, "fixtures", doc)
        if failure is not None:
            yield failure
            return
        yield {"basename": "fixtures", "name": None, "doc": doc}
        if ws.switches.dry:  # the reporter estimates the selected fixtures; no task does anything
            for spec in ws.planner.catalog:
                yield {"name": spec.name, "actions": [], "uptodate": [True], "verbosity": 0}
            return
        for spec in ws.planner.catalog:
            yield {
                "name": spec.name,
                "actions": [(build, [spec.name])],
                "uptodate": [(up_to_date, [spec.name], {})],
                "doc": _fixture_doc(spec, secrets),
                # doit swaps sys.stdout around a captured action, which races between its
                # worker threads (seen: stdout left closed, exit 120 at 10,000 fixtures)
                "io": {"capture": False},
                "verbosity": 0,
            }

    return task_fixtures


def _simple_creator(
    ws: Workspace, basename: str, doc: str, action: Callable[[], bool | TaskFailed]
) -> Callable[[], TaskDict]:
    def task() -> TaskDict:
        return _catalog_failure(ws, basename, doc) or {
            "actions": [action],
            "uptodate": [False],
            "verbosity": 2,
            "doc": doc,
        }

    task.__doc__ = doc
    return task


_STATUS_PARAMS = [
    {"name": "json_output", "long": "json", "type": bool, "default": False, "help": "print JSON"}
]


def _status_creator(ws: Workspace) -> Callable[[], TaskDict]:
    def status(json_output: bool) -> bool:
        return _commands.status(
            ws.planner,
            ws.failures,
            ws.batches,
            ws.pruner,
            ws.staged,
            offline=ws.config.offline,
            json_output=json_output,
            estimate=lambda statuses: _estimate(ws, [s.name for s in ws.planner.catalog], statuses),
        )

    def task_status() -> TaskDict:
        """One line per fixture: state, why, age, model, tokens; the estimate of `doit fixtures` (--json for JSON;
        never calls a model)."""
        doc = task_status.__doc__ or ""
        return _catalog_failure(ws, "status", doc, _STATUS_PARAMS) or {
            "actions": [(status, [], {})],
            "params": _STATUS_PARAMS,
            "uptodate": [False],
            "verbosity": 2,
            "doc": doc,
        }

    return task_status


_STATS_PARAMS_ALL: list[dict[str, Any]] = [
    *_STATUS_PARAMS,
    {"name": "html", "long": "html", "default": "", "help": "write the report as one HTML page at PATH"},
]


def _stats_creator(ws: Workspace) -> Callable[[], TaskDict]:
    cwd = Path.cwd()  # where doit was started: --html PATH is relative to it

    def stats(json_output: bool, html: str) -> bool | TaskFailed:
        return _commands.stats(ws.planner, json_output, html, cwd)

    def task_stats() -> TaskDict:
        """The catalog as a whole: field lengths, distinct ratios, enum coverage, repeated phrases and names,
        similar pairs, refusals, tokens, ages (--json; --html PATH; never calls a model)."""
        doc = task_stats.__doc__ or ""
        return _catalog_failure(ws, "stats", doc, _STATS_PARAMS_ALL) or {
            "actions": [(stats, [], {})],
            "params": _STATS_PARAMS_ALL,
            "uptodate": [False],
            "verbosity": 2,
            "doc": doc,
        }

    return task_stats


_GENERATE_PARAMS: list[dict[str, Any]] = [
    {"name": "schema", "long": "schema", "default": "", "help": "schema as module:Name"},
    {"name": "template", "long": "template", "default": "", "help": "template under templates_dir"},
    {"name": "prompt", "long": "prompt", "default": "", "help": "prompt text (jinja2)"},
    {"name": "name", "long": "name", "default": "", "help": "output fixture name"},
    {"name": "system", "long": "system", "default": "", "help": "system prompt sent first (optional)"},
    {"name": "param", "long": "param", "type": list, "default": [], "help": "key:value (repeatable)"},
]


def _generate_creator(ws: Workspace) -> Callable[[], TaskDict]:
    def generate(
        schema: str, template: str, prompt: str, name: str, system: str, param: list[str]
    ) -> bool | TaskFailed:
        return _commands.generate(
            ws.pipeline, ws.planner, ws.writer, schema, template, prompt, name, param, system=system
        )

    def task_generate() -> TaskDict:
        """Generate one ad hoc fixture: --schema mod:Name, --template f.j2 or --prompt text, --name, --param k:v,
        --system text."""
        return {
            "actions": [(generate, [], {})],
            "params": _GENERATE_PARAMS,
            "uptodate": [False],
            "verbosity": 2,
            "doc": task_generate.__doc__,
        }

    return task_generate


def _review_creator(ws: Workspace) -> Callable[[], TaskDict]:
    def review(json_output: bool) -> bool | TaskFailed:
        # fixtures/README.md says "pending" for what a terminal review just decided
        return ws.review.review(json_output, after_decisions=lambda: _write_catalog(ws))

    def task_review() -> TaskDict:
        """Show fixtures staged for review (why, and a field-level diff); decide a/r/s on a terminal."""
        doc = task_review.__doc__ or ""
        return _catalog_failure(ws, "review", doc, _STATUS_PARAMS) or {
            "actions": [(review, [], {})],
            "params": _STATUS_PARAMS,
            "uptodate": [False],
            "verbosity": 2,
            "doc": doc,
        }

    return task_review


_ALL = [{"name": "all_", "long": "all", "type": bool, "default": False, "help": "every pending fixture"}]


def _decision_creator(
    ws: Workspace, verb: str, decide: Callable[[list[str], bool], bool | TaskFailed]
) -> Callable[[], TaskDict]:
    def decide_and_document(names: list[str], all_: bool) -> bool | TaskFailed:
        decided = decide(names, all_)
        # fixtures/README.md said "pending" for what was just decided, until the next build
        documented = _write_catalog(ws)
        return decided if decided is not True else documented

    def task() -> TaskDict:
        doc = task.__doc__ or ""
        return _catalog_failure(ws, verb, doc, _ALL, "names") or {
            "actions": [(decide_and_document, [], {})],
            "params": _ALL,
            "pos_arg": "names",
            "uptodate": [False],
            "verbosity": 2,
            "doc": doc,
        }

    task.__doc__ = (
        f"{verb.capitalize()} fixtures staged for review: doit {verb} NAME... or doit {verb} --all"
        + (" (force=1 discards a hand edit of the committed data)." if verb == "accept" else ".")
    )
    return task


_PREVIEW_PARAMS: list[dict[str, Any]] = [
    {"name": "n", "long": "n", "type": int, "default": 0, "help": "samples to show (as n=K; default 3)"}
]


def _preview_creator(ws: Workspace) -> Callable[[], TaskDict]:
    def preview(n: int, names: list[str]) -> bool | TaskFailed:
        try:
            names, after = _preview.split_n_option(names)  # doit reads no option after NAME itself
        except HotDataError as exc:
            return TaskFailed(str(exc))
        samples = after or n or ws.switches.n or _preview.DEFAULT_SAMPLES
        return _preview.preview(ws.config, ws.planner, ws.limits, names, samples)

    def task_preview() -> TaskDict:
        """Show a few runs of one fixture's generator, gated, with their cost; write nothing:
        doit preview NAME [n=K]."""
        doc = task_preview.__doc__ or ""
        return _catalog_failure(ws, "preview", doc, _PREVIEW_PARAMS, "names") or {
            "actions": [(preview, [], {})],
            "params": _PREVIEW_PARAMS,
            "pos_arg": "names",
            "uptodate": [False],
            "verbosity": 2,
            "doc": doc,
        }

    return task_preview


_MIGRATE_PARAMS: list[dict[str, Any]] = [
    {
        "name": "rename",
        "long": "rename",
        "type": list,
        "default": [],
        "help": "--rename=OLD=NEW: the field at OLD (talks.*.title or /talks/*/title) renamed NEW (repeatable)",
    },
    {
        "name": "fn",
        "long": "fn",
        "default": "",
        "help": "module:function (data, name) -> data, after the renames",
    },
]


def _migrate_creator(ws: Workspace) -> Callable[[], TaskDict]:
    def migrate(rename: list[str], fn: str, names: list[str]) -> bool | TaskFailed:
        request = _migrate.MigrationRequest(
            tuple(rename), fn, tuple(names), dry=ws.switches.dry, review=ws.pipeline.review
        )
        return _migrate.migrate(ws.planner, ws.writer, ws.pipeline, request)

    def task_migrate() -> TaskDict:
        """Migrate committed data by code, no model: doit migrate --rename=OLD=NEW [--fn module:function]
        NAME... [dry=1] [review=1]; checked by the schema and the gates, all or nothing."""
        doc = task_migrate.__doc__ or ""
        return _catalog_failure(ws, "migrate", doc, _MIGRATE_PARAMS, "names") or {
            "actions": [(migrate, [], {})],
            "params": _MIGRATE_PARAMS,
            "pos_arg": "names",
            "uptodate": [False],
            "verbosity": 2,
            "doc": doc,
        }

    return task_migrate
