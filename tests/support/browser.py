"""A headless Chromium driven over the DevTools protocol (``websocket-client``), shared by the
report browser tests and the demo's end-to-end test: load a report, collect console errors and
network requests, measure what every report section rendered.

Tests using it skip only when no Chromium binary exists (``CHROMIUM`` env var, or ``chromium``,
``chromium-browser``, ``google-chrome`` on PATH); CI installs one.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

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

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Browser:
    """A headless Chromium with a fresh profile, driven over the DevTools protocol."""

    def __init__(self) -> None:
        import websocket

        self.profile = tempfile.mkdtemp(prefix="veiviser-chromium-")
        self.proc = subprocess.Popen(
            [
                CHROMIUM or "chromium",
                *FLAGS,
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                "--window-size=1280,900",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        targets = []
        while not targets:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
                targets = [t for t in json.load(resp) if t.get("type") == "page"]
            if not targets:
                time.sleep(0.05)
        self.ws = websocket.create_connection(
            targets[0]["webSocketDebuggerUrl"], timeout=30, suppress_origin=True
        )
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params):
        self.next_id += 1
        msg_id = self.next_id
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("method") == method:
                return msg
            self.events.append(msg)
        raise TimeoutError(method)

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def drain(self, seconds: float = 0.3) -> None:
        self.ws.settimeout(seconds)
        try:
            while True:
                self.events.append(json.loads(self.ws.recv()))
        except Exception:  # a timeout ends the drain
            pass
        finally:
            self.ws.settimeout(30)

    def console_errors(self) -> list[str]:
        errors = []
        for ev in self.events:
            method, params = ev.get("method"), ev.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                errors.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                errors.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        return errors

    def requests(self) -> list[str]:
        return [
            ev["params"]["request"]["url"]
            for ev in self.events
            if ev.get("method") == "Network.requestWillBeSent"
        ]

    def screenshot(self, path: Path) -> None:
        metrics = self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 16000), "scale": 1},
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


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


def load_report(browser: Browser, html: Path) -> dict:
    browser.events.clear()
    browser.open(html.resolve().as_uri())
    browser.drain()
    ids = json.dumps([sid for sid, _ in SECTIONS])
    return browser.evaluate(SECTION_CHECK % ids)


def external_requests(browser: Browser) -> list[str]:
    """Requests the page made beyond its own file (a report must be self-contained)."""
    return [u for u in browser.requests() if not u.startswith(("file:", "data:", "about:"))]


def assert_every_section_rendered(sections: dict) -> None:
    """Every report section exists, has its heading, a size, and shows a chart, table, KPI or «Ingen data»."""
    for sid, name in SECTIONS:
        info = sections[sid]
        assert info is not None, f"section {sid} missing"
        assert info["heading"] == name, (sid, info["heading"])
        assert info["height"] > 40, (sid, info)
        assert info["charts"] + info["tables"] + info["noData"] + info["kpis"] > 0, (
            f"{sid} renders nothing: {info}"
        )
