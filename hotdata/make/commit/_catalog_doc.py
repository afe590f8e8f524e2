"""``fixtures/README.md``: the catalog of every fixture, written by the build."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ..._duration import format_duration
from .._errors import GenerationError

if TYPE_CHECKING:
    from .._pipeline import Pipeline

__all__ = ["CATALOG_FILE", "render_catalog", "write_catalog"]

CATALOG_FILE = "README.md"
# How every catalog hotdata writes begins: a file that does not is someone else's, never overwritten.
_HEADER = "# Fixtures\n\nWritten by `doit fixtures` (and `doit catalog`)"


def _ttl(delta: timedelta | None) -> str:
    return "forever" if delta is None else format_duration(delta)


def render_catalog(pipeline: Pipeline) -> str:
    """The Markdown table of every fixture, from the committed records as they are now."""
    rows = []
    pipeline.planner.rescan()  # this run may have written fixtures since it listed them
    for spec in pipeline.catalog:
        # what this run already decided stands, unless it then built or failed the fixture
        status = pipeline.last_status(spec.name)
        if status is None or pipeline.outcome(spec.name) is not None:
            status = pipeline.planner.status(spec)
        rec = status.record
        generated = rec.generated_at.strftime("%Y-%m-%d %H:%M UTC") if rec else "-"
        model = rec.model if rec and rec.model else "-"
        entry = pipeline.index.get(spec.name) if rec is None else None
        if entry is not None:  # found fresh by the local index, without reading the record
            generated, model = entry.generated_at, entry.model
        schema = getattr(spec.schema, "__qualname__", str(spec.schema))
        outcome = pipeline.outcome(spec.name)
        state = status.state.value
        if outcome is not None and outcome.kind.value == "failed":
            state += " (last build failed)"
        rows.append(
            f"| `{spec.name}` | `{schema}` | `{spec.generator_name}` | {model} | {generated} | "
            f"{_ttl(pipeline.inputs.ttl_for(spec))} | {state} |"
        )
    return (
        f"{_HEADER} from the provenance records; do not edit.\n"
        "Each fixture is `<name>.json` (the data) and `<name>.meta.json` (its provenance record).\n\n"
        "| fixture | schema | generator | model | generated | ttl | state |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )


def write_catalog(pipeline: Pipeline) -> bool:
    """Rewrite the catalog when its content changed; True when it was written.

    ``GenerationError`` when a file hotdata did not write is in its place: it is left alone.
    """
    path = pipeline.config.fixtures_path / CATALOG_FILE
    try:
        ours = path.read_bytes().startswith(_HEADER.encode("utf-8"))
    except FileNotFoundError:
        ours = True
    except OSError:  # a directory, or unreadable: not a catalog hotdata wrote
        ours = False
    if not ours:
        raise GenerationError(
            f"{path} was not written by hotdata, so the fixture catalog is not written over it; "
            "move that file elsewhere to get the catalog"
        )
    return pipeline.writer.write_document(path, render_catalog(pipeline).encode("utf-8"))
