"""``fixtures/README.md``: the catalog of every fixture, written by the build."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ..._duration import format_duration
from .._errors import GenerationError

__all__ = ["CATALOG_FILE", "CatalogRow", "render_catalog", "write_catalog"]

CATALOG_FILE = "README.md"
# How every catalog hotdata writes begins: a file that does not is someone else's, never overwritten.
_HEADER = "# Fixtures\n\nWritten by `doit fixtures` (and `doit catalog`)"


@dataclass(frozen=True)
class CatalogRow:
    """One fixture as the catalog shows it."""

    name: str
    schema: str
    generator: str
    model: str  # "-" when unknown
    generated: str  # "-" when never generated
    ttl: timedelta | None
    state: str


def _ttl(delta: timedelta | None) -> str:
    return "forever" if delta is None else format_duration(delta)


def render_catalog(rows: Iterable[CatalogRow]) -> str:
    """The Markdown table of every fixture."""
    lines = [
        f"| `{r.name}` | `{r.schema}` | `{r.generator}` | {r.model} | {r.generated} | {_ttl(r.ttl)} | {r.state} |"
        for r in rows
    ]
    return (
        f"{_HEADER} from the provenance records; do not edit.\n"
        "Each fixture is `<name>.json` (the data) and `<name>.meta.json` (its provenance record).\n\n"
        "| fixture | schema | generator | model | generated | ttl | state |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(lines) + "\n"
    )


def write_catalog(
    fixtures_path: Path, rows: Iterable[CatalogRow], write_document: Callable[[Path, bytes], bool]
) -> bool:
    """Rewrite the catalog when its content changed (``write_document``: the Writer's); True when
    it was written.

    ``GenerationError`` when a file hotdata did not write is in its place: it is left alone.
    """
    path = fixtures_path / CATALOG_FILE
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
    return write_document(path, render_catalog(rows).encode("utf-8"))
