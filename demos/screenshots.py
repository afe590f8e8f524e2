"""Write the README's pictures (``python -m demos.screenshots``).

Each tab of the demo, on this repository's catalog, as Textual draws it (SVG), and the
``doit stats --html`` page of that catalog as a real headless browser shows it (PNG, through
``demos.browser``: the ``browser`` extra). Refresh them whenever the catalog is regenerated.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from textual.widgets import TabbedContent

from demos.app import FAMILIES, HotDataDemo
from demos.browser import look

HERE = Path(__file__).parent


async def capture(fixtures: Path, out: Path, size: tuple[int, int]) -> list[Path]:
    app = HotDataDemo(fixtures)
    written: list[Path] = []
    async with app.run_test(size=size) as pilot:
        for family in FAMILIES:
            app.query_one(TabbedContent).active = f"tab-{family}"
            await pilot.pause()
            name = f"{family}.svg"
            app.save_screenshot(name, str(out))
            written.append(out / name)
    return written


def write_stats_page(page: Path) -> None:
    """``doit stats --html PAGE`` on this repository's committed catalog (it reads, never builds)."""
    root = HERE.parent
    proc = subprocess.run(
        [sys.executable, "-m", "doit", "stats", "--html", str(page)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"doit stats --html failed in {root}:\n{proc.stdout}{proc.stderr}")


def capture_stats_page(out: Path, size: tuple[int, int] = (1200, 1500)) -> Path:
    """The top of the committed catalog's stats page, once its charts are drawn, as
    ``out/stats_page.png`` (written only when the page asked for nothing and the picture is not blank)."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "stats.html"
        write_stats_page(page)
        seen = look(
            page,
            ready="document.querySelectorAll('figure svg rect.rect').length > 0",
            screenshot=Path(tmp) / "stats_page.png",
            size=size,
        )
        if seen.requests or seen.colours < 2 or seen.screenshot is None:
            raise SystemExit(f"the stats page asked for {seen.requests} or its picture is blank: not written")
        shot = out / "stats_page.png"
        shutil.copyfile(seen.screenshot, shot)
    return shot


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demos.screenshots", description=__doc__)
    parser.add_argument("--fixtures", default="fixtures", help="fixtures directory [default: fixtures]")
    parser.add_argument("--out", default=str(HERE / "screens"), help="where the SVGs go")
    parser.add_argument("--size", default="130x44", help="terminal size, COLUMNSxROWS [default: 130x44]")
    parser.add_argument(
        "--only",
        choices=["tabs", "stats"],
        help="write only the demo's tabs or only the stats page [default: both]",
    )
    args = parser.parse_args(argv)
    columns, rows = (int(n) for n in args.size.split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = [] if args.only == "stats" else asyncio.run(capture(Path(args.fixtures), out, (columns, rows)))
    if args.only != "tabs":
        written.append(capture_stats_page(out))
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
