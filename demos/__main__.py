"""python -m demos [--dev] [--fixtures DIR]"""

from __future__ import annotations

import argparse

from demos.app import HotDataDemo
from hotdata import SwitchError
from hotdata._env import env_switch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demos", description="hotdata's demo app on hot data")
    try:
        dev = bool(env_switch("HOTDATA_DEV"))
    except SwitchError as exc:
        parser.error(str(exc))
    parser.add_argument(
        "--dev",
        action="store_true",
        default=dev,
        help="reload fixtures live when they change on disk (also HOTDATA_DEV=1)",
    )
    parser.add_argument("--fixtures", default="fixtures", help="fixtures directory [default: fixtures]")
    args = parser.parse_args(argv)
    HotDataDemo(args.fixtures, dev=args.dev).run()


if __name__ == "__main__":
    main()
