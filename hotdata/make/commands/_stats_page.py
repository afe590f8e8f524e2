"""``doit stats --html PATH``: the report as one self-contained HTML page.

Charts are pygal's SVG, inlined, with its tooltip script left out (pygal links it from the
web by default; only its few inline lines of configuration stay): the page loads nothing by
address, so it opens offline, in a CI artifact viewer or a mail attachment alike. pygal is the ``stats`` extra; without it the
command says how to install it. Every text from the catalog is escaped.
"""

from __future__ import annotations

import html
import tomllib
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from ._stats import StatsReport
from ._stats_text import age_text

__all__ = ["INSTALL_HINT", "page_title", "render_page"]

INSTALL_HINT = "doit stats --html needs pygal: pip install 'hotdata[stats]'"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0 0 1.5em; } figure svg { max-width: 100%; height: auto; }
.problem { color: #a00; }
"""


def page_title(root: Path) -> str:
    """``hotdata catalog: NAME``, NAME being ``[project] name`` in the project's pyproject.toml, else
    its folder's name (which says where a checkout was cloned, not what the project is)."""
    try:
        name = (
            tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
            .get("project", {})
            .get("name")
        )
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        name = None
    return f"hotdata catalog: {name if isinstance(name, str) and name.strip() else root.resolve().name}"


def _charts() -> Any:
    try:
        import pygal
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return pygal


def _svg(chart: Any) -> str:
    svg = chart.render(is_unicode=True)
    return f"<figure>{svg}</figure>"


def _bar(
    pygal: Any, title: str, labels: list[str], series: dict[str, list[float | None]], counts: bool = False
) -> str:
    """A bar chart; horizontal past 8 labels, read top-down in the order given (as the tables are),
    its height grown with the bars so that 24 fields of 3 series stay apart. ``counts``: whole-number
    ticks on the value axis (no 0.2 steps for how many times a value is used)."""
    horizontal = len(labels) > 8
    config = pygal.Config(
        js=[],  # no script from the web: the page is self-contained
        disable_xml_declaration=True,
        x_label_rotation=0 if horizontal else 30,  # the value axis is short numbers: no need to tilt it
        truncate_label=40,
        width=900,
        height=max(380, 120 + len(labels) * (10 + 8 * len(series))) if horizontal else 380,
        print_values=False,
    )
    if counts:
        top = max((int(v) for values in series.values() for v in values if v is not None), default=0)
        config.y_labels = list(range(0, top + 1, max(1, -(-top // 10))))
    if horizontal:
        # pygal stacks a horizontal chart's first label at the bottom: reverse to read top-down.
        labels = labels[::-1]
        series = {name: values[::-1] for name, values in series.items()}
    chart = pygal.HorizontalBar(config, title=title) if horizontal else pygal.Bar(config, title=title)
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    return _svg(chart)


def _table(head: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        return f'<td class="n">{value}</td>' if numeric else f"<td>{html.escape(str(value))}</td>"

    heads = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table>"


def render_page(report: StatsReport, title: str) -> str:
    """The whole page (``ConfigError`` when pygal is not installed)."""
    pygal = _charts()
    parts = [f"<h1>{html.escape(title)}</h1>"]
    t = report.totals
    parts.append(
        f"<p>{t['read']} of {t['catalog']} fixture(s) read; {t['calls'] or 0} model call(s); "
        f"{t['input_tokens'] or 0} input and {t['output_tokens'] or 0} output token(s).</p>"
    )
    for line in report.problems:
        parts.append(f'<p class="problem">unreadable: {html.escape(line)}</p>')
    fx = report.fixtures
    names = [r["name"] for r in fx]
    parts.append("<h2>Fixtures</h2>")
    parts.append(
        _bar(
            pygal,
            "Tokens per fixture",
            names,
            {"input": [r["input_tokens"] for r in fx], "output": [r["output_tokens"] for r in fx]},
        )
    )
    days = [None if r["age_seconds"] is None else round(r["age_seconds"] / 86400, 1) for r in fx]
    parts.append(_bar(pygal, "Age (days)", names, {"age": days}))
    parts.append(
        _table(
            ["fixture", "schema", "age", "calls", "input tokens", "output tokens", "refused attempts"],
            [
                [
                    r["name"],
                    r["schema"],
                    age_text(r["age_seconds"]),
                    *("-" if r[k] is None else r[k] for k in ("calls", "input_tokens", "output_tokens")),
                    "-" if r["refused_attempts"] is None else r["refused_attempts"],
                ]
                for r in fx
            ],
        )
    )
    fields = report.fields
    labels = [f"{f['schema'].rsplit(':', 1)[-1]} {f['pointer']}" for f in fields]
    parts.append("<h2>Fields</h2>")
    parts.append(
        _bar(
            pygal,
            "String length per field",
            labels,
            {
                "min": [f["min_length"] for f in fields],
                "median": [f["median_length"] for f in fields],
                "max": [f["max_length"] for f in fields],
            },
        )
    )
    parts.append(
        _bar(pygal, "Distinct ratio per field", labels, {"distinct": [f["distinct_ratio"] for f in fields]})
    )
    parts.append(
        _table(
            ["field", "values", "min", "median", "max", "distinct ratio"],
            [
                [lab, f["values"], f["min_length"], f["median_length"], f["max_length"], f["distinct_ratio"]]
                for lab, f in zip(labels, fields, strict=True)
            ],
        )
    )
    parts.append("<h2>Enum coverage</h2>")
    for e in report.enums:
        label = f"{e['schema'].rsplit(':', 1)[-1]} {e['pointer']}"
        used = e["used"]
        parts.append(
            _bar(pygal, f"Values of {label}", list(used), {"times used": list(used.values())}, counts=True)
        )
        parts.append(f"<p>never used: {html.escape(', '.join(e['unused']) or 'none')}</p>")
    parts.append("<h2>Repetition</h2>")
    parts.append(
        _table(
            ["3 words", "times", "fixtures"],
            [[r["ngram"], r["count"], ", ".join(r["fixtures"])] for r in report.ngrams],
        )
    )
    parts.append(
        _table(
            ["name", "times", "fixtures"],
            [[r["name"], r["count"], ", ".join(r["fixtures"])] for r in report.names],
        )
    )
    parts.append("<h2>Most similar pairs</h2>")
    parts.append(
        _table(
            ["fixture", "fixture", "similarity", "near-duplicate"],
            [
                [p["a"], p["b"], p["similarity"], "yes" if p["over_threshold"] else "no"]
                for p in report.near_duplicates
            ],
        )
    )
    parts.append("<h2>Gate refusals by check</h2>")
    if report.refusals:
        checks = list(report.refusals)
        parts.append(
            _bar(
                pygal,
                "Refused attempts by check",
                checks,
                {"refusals": list(report.refusals.values())},
                counts=True,
            )
        )
    parts.append(_table(["check", "refused attempts"], [[c, n] for c, n in report.refusals.items()]))
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )
