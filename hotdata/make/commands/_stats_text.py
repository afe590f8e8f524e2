"""``doit stats`` in the terminal: the report's tables (rich), readable at 80 columns."""

from __future__ import annotations

import sys
from typing import Any

from ._stats import StatsReport

__all__ = ["age_text", "print_stats"]


def age_text(seconds: int | None) -> str:
    """An age as ``doit status`` shows one (``3d``, ``5h``, ``-`` when unknown)."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _num(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def print_stats(report: StatsReport) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    # at most 80 columns: the report reads the same in a terminal, a CI log and the README
    console = Console(width=min(Console().width, 80) if sys.stdout.isatty() else 80, highlight=False)

    def table(title: str, *columns: str, text: int = 1) -> Table:
        """The first ``text`` columns are words, left-aligned; the others are figures."""
        t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
        for i, col in enumerate(columns):
            t.add_column(col, justify="left" if i < text else "right", overflow="fold")
        return t

    totals = report.totals
    console.print(
        f"doit stats: {totals['read']} of {totals['catalog']} fixture(s) read; {_num(totals['calls'])} "
        f"call(s); tokens {_num(totals['input_tokens'])} in, {_num(totals['output_tokens'])} out\nages: newest {age_text(totals['newest_age_seconds'])}, "
        f"median {age_text(totals['median_age_seconds'])}, oldest {age_text(totals['oldest_age_seconds'])}",
        markup=False,
    )
    fixtures = table("Fixtures", "fixture", "age", "calls", "tokens", "refused")
    for r in report.fixtures:
        tokens = None
        if r["input_tokens"] is not None or r["output_tokens"] is not None:
            tokens = (r["input_tokens"] or 0) + (r["output_tokens"] or 0)
        _add(
            fixtures,
            r["name"],
            age_text(r["age_seconds"]),
            _num(r["calls"]),
            _num(tokens),
            _num(r["refused_attempts"]),
        )
    console.print(fixtures)
    fields = table("Fields (string lengths)", "schema field", "n", "min", "median", "max", "distinct")
    for f in report.fields:
        _add(
            fields,
            f"{f['schema'].rsplit(':', 1)[-1]} {f['pointer']}",
            str(f["values"]),
            str(f["min_length"]),
            f"{f['median_length']:g}",
            str(f["max_length"]),
            f"{f['distinct_ratio']:.0%}",
        )
    console.print(fields)
    if report.enums:
        enums = table("Enum coverage", "schema field", "used", "never used", text=3)
        for e in report.enums:
            used = ", ".join(f"{v} {n}" for v, n in e["used"].items() if n)
            _add(
                enums, f"{e['schema'].rsplit(':', 1)[-1]} {e['pointer']}", used, ", ".join(e["unused"]) or "-"
            )
        console.print(enums)
    _ranked(console, table("Most repeated phrases", "3 words", "times", "fixtures"), report.ngrams, "ngram")
    _ranked(console, table("Most repeated names", "name", "times", "fixtures"), report.names, "name")
    if report.near_duplicates:
        near = table("Most similar pairs (prose, same schema)", "pair", "similarity")
        for p in report.near_duplicates:
            flag = " (near-duplicate)" if p["over_threshold"] else ""
            _add(near, f"{p['a']}\n{p['b']}", f"{p['similarity']:.2f}{flag}")
        console.print(near)
    refusals = ", ".join(f"{check} {n}" for check, n in report.refusals.items()) or "none"
    console.print(f"gate refusals by check: {refusals}", markup=False)
    for line in report.problems:
        console.print(f"unreadable: {line}", markup=False, soft_wrap=True)  # one line, whatever its length


def _add(t: Any, *cells: str) -> None:
    """A row of plain text: fixture data is never read as rich markup (``[bold]``)."""
    from rich.text import Text

    t.add_row(*(Text(c) for c in cells))


def _ranked(console: Any, t: Any, rows: list[dict[str, Any]], key: str) -> None:
    if not rows:
        console.print(f"{t.title}: none shared by two fixtures", markup=False)
        return
    for r in rows:
        _add(t, r[key], str(r["count"]), str(len(r["fixtures"])))
    console.print(t)
