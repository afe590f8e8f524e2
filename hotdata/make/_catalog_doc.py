"""``fixtures/README.md``: the catalog of every fixture, written by the build."""

from __future__ import annotations

from datetime import timedelta

from .._duration import format_duration
from .._store import write_atomic
from ._session import BuildSession

__all__ = ["CATALOG_FILE", "render_catalog", "write_catalog"]

CATALOG_FILE = "README.md"


def _ttl(delta: timedelta | None) -> str:
    return "forever" if delta is None else format_duration(delta)


def render_catalog(session: BuildSession) -> str:
    """The Markdown table of every fixture, from the committed records."""
    rows = []
    for spec in session.catalog:
        report = session.reports.get(spec.name) or session.check(spec.name)
        if spec.name in session.outcomes:  # generated in this run: read the new record
            report = session.check(spec.name)
        rec = report.record
        generated = rec.generated_at.strftime("%Y-%m-%d %H:%M UTC") if rec else "-"
        model = rec.model if rec and rec.model else "-"
        schema = getattr(spec.schema, "__qualname__", str(spec.schema))
        rows.append(
            f"| `{spec.name}` | `{schema}` | `{spec.generator_name}` | {model} | {generated} | "
            f"{_ttl(session.checker.ttl_for(spec))} | {report.state.value} |"
        )
    return (
        "# Fixtures\n\n"
        "Written by `doit fixtures` (and `doit catalog`) from the provenance records; do not edit.\n"
        "Each fixture is `<name>.json` (the data) and `<name>.meta.json` (its provenance record).\n\n"
        "| fixture | schema | generator | model | generated | ttl | state |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )


def write_catalog(session: BuildSession) -> bool:
    """Rewrite the catalog when its content changed; True when it was written."""
    path = session.config.fixtures_path / CATALOG_FILE
    text = render_catalog(session).encode("utf-8")
    try:
        if path.read_bytes() == text:
            return False
    except OSError:
        pass
    write_atomic(path, text)
    return True
