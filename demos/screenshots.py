"""Write the demo's screens as SVG (``python -m demos.screenshots``), for the README.

Each tab of the demo, on this repository's catalog, as Textual draws it. Refresh
them whenever the catalog is regenerated.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from textual.widgets import TabbedContent

from demos.app import FAMILIES, HotDataDemo

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demos.screenshots", description=__doc__)
    parser.add_argument("--fixtures", default="fixtures", help="fixtures directory [default: fixtures]")
    parser.add_argument("--out", default=str(HERE / "screens"), help="where the SVGs go")
    parser.add_argument("--size", default="130x44", help="terminal size, COLUMNSxROWS [default: 130x44]")
    args = parser.parse_args(argv)
    columns, rows = (int(n) for n in args.size.split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(capture(Path(args.fixtures), out, (columns, rows))):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
