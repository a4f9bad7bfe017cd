"""A headless Chromium driven by Playwright, shared by the report browser tests and the demo's
end-to-end test: load a report, collect console errors and network requests, measure what every
report section rendered.

Playwright drives the system's Chromium (``executable_path``); it never downloads a browser of its
own. Tests using it skip only when no Chromium binary exists (``CHROMIUM`` env var, or ``chromium``,
``chromium-browser``, ``google-chrome`` on PATH); CI installs one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Browser as PlaywrightBrowser
from playwright.sync_api import ConsoleMessage, Page, Playwright, Request, Route, sync_playwright

from veiviser.portfolio.reports.html import SECTIONS

CHROMIUM = next(
    (
        p
        for p in (
            os.environ.get("CHROMIUM"),
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
            shutil.which("google-chrome"),
        )
        if p
    ),
    None,
)
NO_CHROMIUM = "no Chromium binary (apt-get install -y chromium)"

T = TypeVar("T")

# Playwright adds --headless itself; these keep Chromium off the network and quiet.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Console message types that count as errors; Chromium's own log entries (a resource that failed
# to load, a blocked request) arrive as console messages of type error or warning too.
ERROR_TYPES = ("error", "assert", "warning")

# What a self-contained report may load besides itself.
LOCAL_SCHEMES = ("file:", "data:", "about:")


class Browser:
    """A headless Chromium; every :meth:`open` loads the page into a fresh tab with fresh logs.

    Playwright's synchronous API keeps an asyncio loop marked as running in the thread that
    started it, which would break ``asyncio.run`` in every later test of the session; so all
    Playwright calls run in one worker thread of their own.
    """

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._page: Page | None = None
        self._errors: list[str] = []
        self._requests: list[str] = []
        try:
            self._playwright, self._browser = self._run(self._start)
        except BaseException:
            self._worker.shutdown()
            raise

    def _run(self, call: Callable[[], T]) -> T:
        return self._worker.submit(call).result()

    @staticmethod
    def _start() -> tuple[Playwright, PlaywrightBrowser]:
        playwright = sync_playwright().start()
        try:
            return playwright, playwright.chromium.launch(
                executable_path=CHROMIUM or "chromium", args=FLAGS, headless=True
            )
        except BaseException:
            playwright.stop()
            raise

    @property
    def page(self) -> Page:
        if self._page is None:
            raise RuntimeError("no page loaded yet: call open() first")
        return self._page

    def open(self, url: str) -> None:
        """Load ``url`` in a new tab, wait for its load event and two animation frames, then give
        late console messages a moment to arrive."""
        self._run(lambda: self._open(url))

    def _open(self, url: str) -> None:
        if self._page is not None:
            self._page.close()
        self._errors.clear()
        self._requests.clear()
        page = self._browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self._errors.append(f"exception: {exc}"))
        page.on("request", self._on_request)
        # A request off this machine is recorded (see requests()) and then refused, so a report
        # that tries to load something external fails its test instead of reaching the network.
        page.route(re.compile(r"^(https?|wss?|ftp)://"), self._refuse)
        self._page = page
        page.goto(url, wait_until="load")
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        page.wait_for_timeout(300)

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type in ERROR_TYPES:
            location = msg.location.get("url", "")
            self._errors.append(f"console.{msg.type}: {msg.text} {location}".rstrip())

    def _on_request(self, request: Request) -> None:
        self._requests.append(request.url)

    @staticmethod
    def _refuse(route: Route) -> None:
        route.abort("blockedbyclient")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        return self._run(lambda: self.page.evaluate(expression))

    def console_errors(self) -> list[str]:
        """Console errors, warnings, failed assertions and uncaught exceptions since :meth:`open`."""
        return list(self._errors)

    def requests(self) -> list[str]:
        """Every URL the page requested since :meth:`open`, its own included."""
        return list(self._requests)

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page."""
        self._run(lambda: self.page.screenshot(path=str(path), full_page=True))

    def close(self) -> None:
        def stop() -> None:
            try:
                self._browser.close()
            finally:
                self._playwright.stop()

        try:
            self._run(stop)
        finally:
            self._worker.shutdown()


SECTION_CHECK = """
(() => {
  const out = {};
  for (const id of %s) {
    const s = document.getElementById(id);
    if (!s) { out[id] = null; continue; }
    const r = s.getBoundingClientRect();
    const visible = el => { const b = el.getBoundingClientRect(); return b.width > 0 && b.height > 0; };
    out[id] = {
      height: r.height,
      heading: (s.querySelector('h2') || {}).textContent || '',
      charts: [...s.querySelectorAll('svg.chart')].filter(visible).length,
      chartShapes: [...s.querySelectorAll('svg.chart rect, svg.chart circle, svg.chart polyline, svg.chart path')].length,
      tables: [...s.querySelectorAll('table')].length,
      noData: [...s.querySelectorAll('.no-data')].filter(visible).length,
      kpis: s.querySelectorAll('.kpi').length,
      text: s.innerText.length,
    };
  }
  return out;
})()
"""


def load_report(browser: Browser, html: Path) -> dict[str, Any]:
    """Open the report file and measure every section of :data:`SECTIONS` (None for a missing one)."""
    browser.open(html.resolve().as_uri())
    ids = json.dumps([sid for sid, _ in SECTIONS])
    sections: dict[str, Any] = browser.evaluate(SECTION_CHECK % ids)
    return sections


def external_requests(browser: Browser) -> list[str]:
    """Requests the page made beyond its own file (a report must be self-contained)."""
    return [u for u in browser.requests() if not u.startswith(LOCAL_SCHEMES)]


def assert_every_section_rendered(sections: dict[str, Any]) -> None:
    """Every report section exists, has its heading, a size, and shows a chart, table, KPI or «Ingen data»."""
    for sid, name in SECTIONS:
        info = sections[sid]
        assert info is not None, f"section {sid} missing"
        assert info["heading"] == name, (sid, info["heading"])
        assert info["height"] > 40, (sid, info)
        assert info["charts"] + info["tables"] + info["noData"] + info["kpis"] > 0, (
            f"{sid} renders nothing: {info}"
        )
