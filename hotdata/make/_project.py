"""doit integration: the tasks and DOIT_CONFIG a dodo.py gets from ``doit_project()``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from doit import get_var
from doit.exceptions import TaskFailed

from .._errors import HotDataError
from .._hotdata import FixtureState
from .._provenance import sha256_hex
from .._store import read_record
from ._catalog_doc import write_catalog
from ._config import HotDataConfig, load_config
from ._session import BuildSession, import_object
from ._spec import FixtureSpec

__all__ = ["CATALOG_SUBTASK", "doit_project"]

CATALOG_SUBTASK = "_catalog"

TaskDict = dict[str, Any]


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def doit_project(root: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Everything a dodo.py needs: ``globals().update(doit_project())``.

    Returns ``DOIT_CONFIG`` and the task creators ``task_fixtures``, ``task_validate``,
    ``task_status`` and ``task_generate``, all bound to one ``BuildSession``.
    Configuration errors become a failing task with the message, not a traceback.
    """
    try:
        config = load_config(Path(root) if root is not None else None)
    except HotDataError as exc:
        return _broken(str(exc))
    session = BuildSession(config, force=_truthy(get_var("force", os.environ.get("HOTDATA_FORCE", ""))))
    from ._reporter import make_reporter

    doit_config = {
        "backend": "json",  # explicit: this Python's default dbm falls back to the fragile dbm.dumb
        "dep_file": str(config.root / ".doit.db"),
        "default_tasks": ["fixtures"],
        "continue": True,
        "reporter": make_reporter(session),
        "num_process": config.concurrency,
        "par_type": "thread",
        "subtasks": True,  # `doit list` shows every fixture, not only the group
    }
    return {
        "DOIT_CONFIG": doit_config,
        "task_fixtures": _fixtures_creator(session),
        "task_validate": _validate_creator(session),
        "task_status": _status_creator(session),
        "task_generate": _generate_creator(session),
        "task_catalog": _catalog_creator(session),
    }


def _broken(message: str) -> dict[str, Any]:
    def fail() -> TaskFailed:
        return TaskFailed(message)

    def creator(doc: str) -> Callable[[], TaskDict]:
        def task() -> TaskDict:
            return {"actions": [fail], "uptodate": [False], "doc": doc}

        task.__doc__ = doc
        return task

    return {
        "DOIT_CONFIG": {"backend": "json", "default_tasks": ["fixtures"]},
        "task_fixtures": creator("(configuration error) " + message.splitlines()[0]),
        "task_validate": creator("(configuration error)"),
        "task_status": creator("(configuration error)"),
    }


def _catalog_or_failure(session: BuildSession, basename: str, doc: str) -> TaskDict | None:
    try:
        session.catalog  # noqa: B018 - imports the generator modules
    except HotDataError as exc:
        message = str(exc)
        return {
            "basename": basename,
            "actions": [lambda: TaskFailed(message)],
            "uptodate": [False],
            "doc": doc,
        }
    return None


def _fixtures_creator(session: BuildSession) -> Callable[[], Iterator[TaskDict]]:
    def build(name: str) -> bool | TaskFailed:
        outcome = session.build(name)
        if outcome.status == "failed":
            return TaskFailed(outcome.message)
        return True

    def task_fixtures() -> Iterator[TaskDict]:
        """Generate every stale fixture; fresh and hand-edited ones are skipped (force=1 overwrites)."""
        doc = task_fixtures.__doc__ or ""
        failure = _catalog_or_failure(session, "fixtures", doc)
        if failure is not None:
            yield failure
            return
        yield {"basename": "fixtures", "name": None, "doc": doc}
        for spec in session.catalog:
            yield {
                "name": spec.name,
                "actions": [(build, [spec.name])],
                "uptodate": [(session.is_up_to_date, [spec.name], {})],
                "doc": _fixture_doc(spec),
                # doit swaps sys.stdout around a captured action, which races between its
                # worker threads (seen: stdout left closed, exit 120 at 10,000 fixtures)
                "io": {"capture": False},
                "verbosity": 0,
            }
        # Last: the catalog document, rewritten only when its content would change.
        yield {
            "name": CATALOG_SUBTASK,
            "actions": [(_refresh_catalog, [session])],
            "task_dep": [f"fixtures:{spec.name}" for spec in session.catalog],
            "uptodate": [False],
            "doc": "rewrite fixtures/README.md, the table of every fixture",
            "io": {"capture": False},
            "verbosity": 0,
        }

    return task_fixtures


def _refresh_catalog(session: BuildSession) -> bool:
    write_catalog(session)  # False (unchanged) is not a failure
    return True


def _catalog_creator(session: BuildSession) -> Callable[[], TaskDict]:
    def catalog() -> bool:
        written = write_catalog(session)
        print(f"{session.config.fixtures_path / 'README.md'} {'written' if written else 'already current'}")
        return True

    def task_catalog() -> TaskDict:
        """Write fixtures/README.md: every fixture with schema, generator, model, generated_at, ttl."""
        doc = task_catalog.__doc__ or ""
        return _catalog_or_failure(session, "catalog", doc) or {
            "actions": [catalog],
            "uptodate": [False],
            "verbosity": 2,
            "doc": doc,
        }

    return task_catalog


def _fixture_doc(spec: FixtureSpec) -> str:
    params = ", ".join(f"{k}={v}" for k, v in spec.params.items())
    doc = f"{spec.schema_label} from {spec.generator.__name__}({params})"
    return doc if len(doc) <= 90 else doc[:87] + "..."


def validation_problems(session: BuildSession, spec: FixtureSpec) -> tuple[list[str], str | None]:
    """Problems that fail ``doit validate`` for one fixture, and a note that does not."""
    data_path, meta_path = session.checker.paths(spec)
    try:
        raw = data_path.read_bytes()
    except FileNotFoundError:
        return [f"{data_path}: missing; build it with `doit fixtures`"], None
    except OSError as exc:
        return [f"{data_path}: unreadable ({exc.strerror})"], None
    problems = [f"{data_path}: {e}" for e in session.adapter(spec.schema).errors_for(raw)]
    data_sha = sha256_hex(raw)
    try:
        record = read_record(data_path, meta_path, data_sha)
    except HotDataError as exc:
        return [*problems, str(exc)], None
    if record is None:
        return [*problems, f"{meta_path}: provenance record missing; rebuild with `doit fixtures`"], None
    if record.name != spec.name:
        problems.append(f"{meta_path}: records name {record.name!r}, expected {spec.name!r}")
    note = None
    if record.data_sha256 != data_sha:
        note = "edited by hand since generation"
    else:
        reason = session.checker.stale_reason(spec, record)
        if reason:
            note = f"stale: {reason}"
    return problems, note


def _validate_creator(session: BuildSession) -> Callable[[], TaskDict]:
    def validate() -> bool | TaskFailed:
        failed: list[str] = []
        notes: list[str] = []
        for spec in session.catalog:
            problems, note = validation_problems(session, spec)
            failed += problems
            if note:
                notes.append(f"{spec.name}: {note}")
        for line in notes:
            print(f"note: {line}")
        count = len(session.catalog)
        if failed:
            print(f"doit validate: {len(failed)} problem(s) in {count} fixture(s):")
            for line in failed:
                print(f"  - {line}")
            return TaskFailed(f"{len(failed)} fixture problem(s); see the list above")
        print(f"doit validate: all {count} fixture(s) valid")
        return True

    def task_validate() -> TaskDict:
        """Validate every data file against its current schema and its provenance (never calls a model)."""
        doc = task_validate.__doc__ or ""
        return _catalog_or_failure(session, "validate", doc) or {
            "actions": [validate],
            "uptodate": [False],
            "verbosity": 2,
            "doc": doc,
        }

    return task_validate


def _format_age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _status_creator(session: BuildSession) -> Callable[[], TaskDict]:
    def status(json_output: bool) -> bool:
        rows = []
        for spec in session.catalog:
            report = session.check(spec.name)
            row = report.to_json()
            if report.state is FixtureState.FRESH:
                problems, _ = validation_problems(session, spec)
                if problems:
                    row.update(state="invalid", reason=problems[0])
            rows.append(row)
        if json_output:
            print(json.dumps(rows, indent=2))
            return True
        width = max([len(r["name"]) for r in rows] + [4])
        for r in rows:
            tokens = "-" if r["tokens"] is None else str(r["tokens"])
            print(
                f"{r['name']:<{width}}  {r['state']:<7}  {_format_age(r['age_seconds']):>5}  "
                f"{r['model'] or '-':<16} {tokens:>7} tok  {r['reason']}"
            )
        return True

    def task_status() -> TaskDict:
        """One line per fixture: state, why, age, model, tokens (--json for JSON; never calls a model)."""
        doc = task_status.__doc__ or ""
        return _catalog_or_failure(session, "status", doc) or {
            "actions": [(status, [], {})],
            "params": [
                {"name": "json_output", "long": "json", "type": bool, "default": False, "help": "print JSON"}
            ],
            "uptodate": [False],
            "verbosity": 2,
            "doc": doc,
        }

    return task_status


def _generate_creator(session: BuildSession) -> Callable[[], TaskDict]:
    def generate(schema: str, template: str, prompt: str, name: str, param: list[str]) -> bool | TaskFailed:
        if not schema or not name or bool(template) == bool(prompt):
            return TaskFailed(
                "doit generate needs --schema module:Name, --name fixture/name and exactly one of "
                "--template file.j2 or --prompt 'text'"
            )
        try:
            params = dict(_split_param(p) for p in param)
            spec = _adhoc_spec(session.config, import_object(schema), template, prompt, name, params)
            session.adhoc(spec)
            outcome = session.build(name)
        except HotDataError as exc:
            return TaskFailed(str(exc))
        if outcome.status != "generated":
            return TaskFailed(outcome.message or outcome.status)
        print(f"generated {name} ({outcome.usage.calls} model call(s))")
        return True

    def task_generate() -> TaskDict:
        """Generate one ad hoc fixture: --schema mod:Name, --template f.j2 or --prompt text, --name, --param k:v."""
        return {
            "actions": [generate],
            "params": [
                {"name": "schema", "long": "schema", "default": "", "help": "schema as module:Name"},
                {
                    "name": "template",
                    "long": "template",
                    "default": "",
                    "help": "template under templates_dir",
                },
                {"name": "prompt", "long": "prompt", "default": "", "help": "prompt text (jinja2)"},
                {"name": "name", "long": "name", "default": "", "help": "output fixture name"},
                {
                    "name": "param",
                    "long": "param",
                    "type": list,
                    "default": [],
                    "help": "key:value (repeatable)",
                },
            ],
            "uptodate": [False],
            "verbosity": 2,
            "doc": task_generate.__doc__,
        }

    return task_generate


def _split_param(text: str) -> tuple[str, Any]:
    # key:value, because doit itself takes every key=value argument as a doit variable
    key, sep, value = text.partition(":")
    if not sep or not key:
        raise HotDataError(f"--param {text!r} is not key:value (for example --param topic:rain)")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _adhoc_spec(
    config: HotDataConfig, schema: Any, template: str, prompt: str, name: str, params: dict[str, Any]
) -> FixtureSpec:
    async def adhoc(ctx: Any, **_: Any) -> Any:
        text = ctx.render() if template else ctx.render_text(prompt)
        return await ctx.generate(text)

    return FixtureSpec(
        name=name,
        generator=adhoc,
        schema=schema,
        templates=(template,) if template else (),
        params=params,
        version="adhoc:" + sha256_hex(prompt.encode())[:16] if prompt else "adhoc",
    )
