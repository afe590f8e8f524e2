"""`doit stats --html` looked at in a real headless browser (Qt WebEngine, the `browser` extra).

The page is written by a real `doit stats --html` on a temp project, opened by
`demos.browser.look` in a child process, and checked from the DOM: the charts are drawn and
visible, the headings and fixture counts are there, nothing was requested from anywhere, the
console holds no error, and the screenshot is not blank. The same checks are run on mutated
copies of the page, so a page whose charts are hidden or gone, or that links or throws, fails them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demos.browser import BrowserError, Look, browser_missing, look
from demos.screenshots import write_stats_page
from tests.test_stats import _known_catalog

pytestmark = pytest.mark.slow

_missing = browser_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

# Wait for the document only, not for the charts: a page without charts must fail an assertion
# below, not time out.
READY = "document.readyState === 'complete'"
# What the assertions read from the DOM, as JSON.
PROBE = """({
  title: document.title,
  headings: [...document.querySelectorAll('h1, h2')].map(h => h.textContent),
  summary: document.querySelector('h1 + p').textContent,
  fixtures: [...document.querySelectorAll('h2 ~ table')[0].tBodies[0].rows].map(r => r.cells[0].textContent),
  charts: [...document.querySelectorAll('figure svg')].map(svg => {
    const box = svg.getBoundingClientRect();
    const style = getComputedStyle(svg);
    const bars = [...svg.querySelectorAll('rect.rect')].filter(bar => {
      const b = bar.getBoundingClientRect();
      return b.width > 0 && b.height > 0;
    });
    return {
      title: svg.querySelector('.title').textContent,
      width: box.width,
      height: box.height,
      shown: style.display !== 'none' && style.visibility === 'visible' && style.opacity !== '0'
        && svg.closest('figure').offsetParent !== null,
      bars: bars.length,
    };
  }),
})"""
CHART_TITLES = [
    "Tokens per fixture",
    "Age (days)",
    "String length per field",
    "Distinct ratio per field",
    "Values of Agent /phase",
    "Refused attempts by check",
]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stats page of the known three-fixture catalog, written by a real `doit stats --html`,
    its records dated days back (built now, every age would be a zero-length bar)."""
    project = _known_catalog(tmp_path_factory.mktemp("browser"))
    for days, meta in enumerate(sorted(project.path("fixtures").rglob("*.meta.json")), start=2):
        record = json.loads(meta.read_text())
        born = datetime.now(UTC) - timedelta(days=days)
        meta.write_text(json.dumps({**record, "generated_at": born.isoformat().replace("+00:00", "Z")}))
    proc = project.doit("stats", "--html", "stats.html")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return project.path("stats.html")


def _look(page: Path, tmp_path: Path) -> Look:
    return look(page, ready=READY, probe=PROBE, screenshot=tmp_path / "stats.png", timeout=60)


def _check(seen: Look) -> None:
    """The assertions every good page passes."""
    assert seen.requests == [], f"the page asked for {seen.requests}: it must be self-contained"
    errors = [m for m in seen.console if m["level"] == "ErrorMessageLevel"]
    assert errors == [], f"the page's console shows errors: {errors}"
    dom: dict[str, Any] = seen.value
    assert dom["title"] == "hotdata catalog: demo-project"
    assert dom["headings"][:3] == ["hotdata catalog: demo-project", "Fixtures", "Fields"]
    assert "Enum coverage" in dom["headings"] and "Gate refusals by check" in dom["headings"]
    assert dom["summary"].startswith("3 of 3 fixture(s) read;")
    assert dom["fixtures"] == ["agents/crisis", "agents/deliberating", "notes/welcome"]
    charts = dom["charts"]
    titles = [c["title"] for c in charts]
    assert titles == CHART_TITLES, f"the page draws the charts {titles}, not {CHART_TITLES}"
    for chart in charts:
        assert chart["shown"], f"chart {chart['title']!r} is not visible: {chart}"
        assert chart["width"] > 300 and chart["height"] > 100, (
            f"chart {chart['title']!r} is too small: {chart}"
        )
        assert chart["bars"] >= 1, f"chart {chart['title']!r} draws no bar: {chart}"
    assert seen.screenshot is not None and seen.screenshot.stat().st_size > 0
    assert seen.colours > 1, "the screenshot is blank (one colour)"


def test_the_stats_page_shows_its_charts_in_a_real_browser(page: Path, tmp_path: Path) -> None:
    _check(_look(page, tmp_path))


# The first chart's labels that name a fixture, from the top of the screen down, and the table's.
ORDER = """({
  labels: [...document.querySelector('figure svg').querySelectorAll('.axis text')]
    .filter(t => t.textContent.includes('/'))
    .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
    .map(t => t.textContent),
  table: [...document.querySelectorAll('h2 ~ table')[0].tBodies[0].rows].map(r => r.cells[0].textContent),
})"""


def test_the_bars_of_a_long_chart_read_top_down_in_the_tables_order(tmp_path: Path) -> None:
    """Past 8 fixtures the charts lie on their side; the committed catalog has 15 (read only)."""
    page = tmp_path / "stats.html"
    write_stats_page(page)

    seen = look(page, ready=READY, probe=ORDER)

    assert len(seen.value["table"]) >= 9
    assert seen.value["labels"] == seen.value["table"]


@pytest.mark.parametrize(
    ("mutation", "caught"),
    [
        ("<style>figure { display: none }</style>", "is not visible"),
        ("<style>figure svg { visibility: hidden }</style>", "is not visible"),
        ("<style>rect.rect { display: none }</style>", "draws no bar"),
        (
            "<script>document.querySelectorAll('figure').forEach(f => f.remove())</script>",
            "the page draws the charts []",
        ),
        ('<img src="http://stats.invalid/logo.png" alt="">', "must be self-contained"),
        ("<script>drawCharts()</script>", "console shows errors"),
    ],
    ids=["charts-hidden", "charts-invisible", "bars-hidden", "charts-removed", "external-image", "js-error"],
)
def test_a_broken_page_fails_the_checks(page: Path, tmp_path: Path, mutation: str, caught: str) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(
        page.read_text(encoding="utf-8").replace("</body>", f"{mutation}\n</body>"), encoding="utf-8"
    )

    with pytest.raises(AssertionError, match=re.escape(caught)):
        _check(_look(broken, tmp_path))


def test_a_condition_that_never_holds_is_a_failure_with_a_message(page: Path) -> None:
    with pytest.raises(
        BrowserError, match=r"timed out after 3s waiting for the page to load and `false` to hold"
    ):
        look(page, ready="false", timeout=3)
