"""Look at a local HTML page in a real headless browser (Qt WebEngine, which is Chromium).

``look(page, ready=..., probe=...)`` opens ``page`` in a child process (``python -m
demos.browser``) with Qt's offscreen platform, so it needs no display. It waits for the page's
``loadFinished`` and then for the JavaScript condition ``ready`` to hold, within ``timeout``
seconds; evaluates the JavaScript expression ``probe`` (its value must be JSON); and, when asked,
saves a screenshot. Every request other than the page itself is blocked and listed, so a page
that links anything (a script, a style sheet, a font, an image) shows it in ``Look.requests``.
Console messages, uncaught errors among them, are in ``Look.console``.

The browser is the ``browser`` extra (PySide6-WebEngine, a wheel: nothing is downloaded when
it runs). Running it in a child process keeps Qt's one-application-per-process rule and a
crash or a hang out of the caller: a child that overruns its time is killed and reported.

Example::

    seen = look(Path("stats.html"), ready="document.querySelectorAll('svg').length > 0",
                probe="document.title", screenshot=Path("stats.png"))
    assert seen.requests == [] and seen.value == "hotdata catalog: hotdata"
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BrowserError", "Look", "browser_missing", "look"]

# Qt WebEngine runs Chromium: as root (CI) its sandbox cannot start, and there is no GPU.
_CHROMIUM_FLAGS = "--no-sandbox --disable-gpu --disable-gpu-compositing --disable-features=Vulkan"
# How often the ``ready`` condition is asked again, and a blank screenshot taken again.
_POLL_MS = 50
_SHOT_TRIES = 20


class BrowserError(RuntimeError):
    """The browser did not load the page, the condition never held, or the child failed."""


@dataclass(frozen=True)
class Look:
    """What the browser saw: the probe's value, blocked requests, console messages, the screenshot."""

    value: Any
    requests: list[str] = field(default_factory=list)
    console: list[dict[str, Any]] = field(default_factory=list)
    screenshot: Path | None = None
    colours: int = 0  # distinct colours in the screenshot (1: blank)


def browser_missing() -> str | None:
    """Why the browser cannot run here (its module does not import), or None when it can."""
    try:
        import PySide6.QtWebEngineWidgets  # noqa: F401
    except ImportError as exc:
        return f"Qt WebEngine does not import here ({exc}); it is the 'browser' extra: pip install -e '.[browser]'"
    return None


def look(
    page: Path,
    *,
    ready: str = "true",
    probe: str = "null",
    screenshot: Path | None = None,
    size: tuple[int, int] = (1200, 900),
    timeout: float = 60.0,
) -> Look:
    """Open ``page`` in the headless browser and return what it saw (``BrowserError`` on failure)."""
    command = [
        sys.executable,
        "-m",
        "demos.browser",
        str(page.resolve()),
        "--ready",
        ready,
        "--probe",
        probe,
        "--size",
        f"{size[0]}x{size[1]}",
        "--timeout",
        str(timeout),
    ]
    if screenshot is not None:
        command += ["--screenshot", str(screenshot.resolve())]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_DISABLE_SANDBOX": "1"}
    env["QTWEBENGINE_CHROMIUM_FLAGS"] = (
        f"{env.get('QTWEBENGINE_CHROMIUM_FLAGS', '')} {_CHROMIUM_FLAGS}".strip()
    )
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout + 30,  # the child's own timer fires first; this catches a wedged child
            env=env,
            cwd=Path(__file__).parent.parent,
        )
    except subprocess.TimeoutExpired as exc:
        raise BrowserError(
            f"the browser did not finish {page} within {timeout + 30:.0f}s and was killed"
        ) from exc
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise BrowserError(
            f"the browser failed on {page} (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    result = json.loads(lines[-1])
    shot = Path(result["screenshot"]) if result["screenshot"] else None
    return Look(result["value"], result["requests"], result["console"], shot, result["colours"])


def _run(page: Path, ready: str, probe: str, size: tuple[int, int], timeout: float, shot: Path | None) -> int:
    """The child: load, wait, probe, screenshot; print one JSON line; exit 0, or 1 with a reason."""
    from PySide6.QtCore import QTimer, QUrl
    from PySide6.QtGui import QImage
    from PySide6.QtWebEngineCore import (
        QWebEnginePage,
        QWebEngineProfile,
        QWebEngineSettings,
        QWebEngineUrlRequestInfo,
        QWebEngineUrlRequestInterceptor,
    )
    from PySide6.QtWebEngineWidgets import QWebEngineView
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    url = QUrl.fromLocalFile(str(page))
    requests: list[str] = []
    console: list[dict[str, Any]] = []
    outcome: dict[str, Any] = {"value": None, "requests": requests, "console": console}
    failure: list[str] = []

    class BlockOthers(QWebEngineUrlRequestInterceptor):
        def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
            asked = info.requestUrl()
            if asked.toString().split("#")[0] != url.toString():  # anything but the page itself
                requests.append(asked.toString())
                info.block(True)

    class Recording(QWebEnginePage):
        def javaScriptConsoleMessage(
            self, level: QWebEnginePage.JavaScriptConsoleMessageLevel, message: str, line: int, source: str
        ) -> None:
            console.append({"level": level.name, "message": message, "line": line, "source": source})

    profile = QWebEngineProfile()  # off the record: nothing read from or written to disk
    interceptor = BlockOthers()
    profile.setUrlRequestInterceptor(interceptor)
    web = Recording(profile)
    # Let a local page ask for remote addresses, so that such a request reaches BlockOthers and is
    # listed (by default Chromium drops it silently, which would hide a page that links the web).
    web.settings().setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, True)
    view = QWebEngineView()
    view.setPage(web)
    view.resize(*size)

    def fail(reason: str) -> None:
        if not failure:
            failure.append(reason)
            app.exit(1)

    def finish(colours: int) -> None:
        outcome["screenshot"] = str(shot) if shot else None
        outcome["colours"] = colours
        print(json.dumps(outcome))
        app.exit(0)

    def take_screenshot(tries: int) -> None:
        assert shot is not None
        image: QImage = view.grab().toImage()
        colours = _colours(image)
        if colours > 1 or tries >= _SHOT_TRIES:  # blank at first while the compositor catches up
            image.save(str(shot))
            finish(colours)
        else:
            QTimer.singleShot(_POLL_MS * 4, lambda: take_screenshot(tries + 1))

    def probed(value: Any) -> None:
        outcome["value"] = value
        if shot is None:
            finish(0)
        else:
            take_screenshot(1)

    def check_ready(held: Any) -> None:
        if held is True:
            web.runJavaScript(f"JSON.stringify({probe})", 0, lambda text: probed(json.loads(text or "null")))
        else:
            QTimer.singleShot(_POLL_MS, ask_ready)

    def ask_ready() -> None:
        web.runJavaScript(f"Boolean({ready})", 0, check_ready)

    def loaded(ok: bool) -> None:
        if ok:
            ask_ready()
        else:
            fail(f"loadFinished reported failure for {url.toString()}")

    web.loadFinished.connect(loaded)
    QTimer.singleShot(
        int(timeout * 1000),
        lambda: fail(f"timed out after {timeout:.0f}s waiting for the page to load and `{ready}` to hold"),
    )
    view.show()
    web.load(url)
    code = app.exec()
    if failure:
        print(failure[0], file=sys.stderr)
    return code


def _colours(image: Any, limit: int = 64) -> int:
    """Distinct colours on a grid of samples, counted up to ``limit`` (1 means a blank image)."""
    seen: set[int] = set()
    width, height = image.width(), image.height()
    for y in range(0, height, max(1, height // 60)):
        for x in range(0, width, max(1, width // 60)):
            seen.add(int(image.pixel(x, y)))
            if len(seen) >= limit:
                return len(seen)
    return len(seen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("page", type=Path, help="the local HTML file to open")
    parser.add_argument("--ready", default="true", help="JavaScript condition to wait for after loading")
    parser.add_argument(
        "--probe", default="null", help="JavaScript expression whose value is printed as JSON"
    )
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the viewport here")
    parser.add_argument("--size", default="1200x900", help="viewport WIDTHxHEIGHT [default: 1200x900]")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before giving up [default: 60]")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.split("x"))
    return _run(args.page.resolve(), args.ready, args.probe, (width, height), args.timeout, args.screenshot)


if __name__ == "__main__":
    sys.exit(main())
