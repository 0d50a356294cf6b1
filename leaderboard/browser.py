"""A headless Chromium driven over the DevTools protocol (CDP): open the app, wait for it, read the
DOM, take screenshots. Used by ``bench leaderboard screenshot`` and the browser test.

A plain ``chromium --screenshot`` captures Streamlit's empty shell before the page arrives over its
websocket, so this waits for a JavaScript condition instead. Chromium picks its own debugging port
(``--remote-debugging-port=0``) and writes it to ``DevToolsActivePort`` in its profile folder.
Calls to ``window.alert`` are recorded in ``window.__alerts`` instead of opening a dialog, so a
test can check that no script ran.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import shutil
import subprocess
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from bench.errors import InternalError, NotFoundError

logger = logging.getLogger(__name__)

APP_IDLE = "!document.querySelector('[data-testid=\"stStatusWidget\"]')"
"""True once Streamlit's "Running…" badge is gone (the script run has finished)."""
TABLE_READY = f"document.querySelector('[data-testid=\"stDataFrame\"] canvas') && {APP_IDLE}"
"""True once the leaderboard's table is drawn and the run is over."""
_RECORD_ALERTS = "window.__alerts = []; window.alert = (m) => { window.__alerts.push(String(m)); };"


class Browser:
    """A headless Chromium with one page; use as a context manager.

    Args:
        chromium: the Chromium binary.
        width, height: the viewport in CSS pixels.
        timeout_s: how long start-up and :meth:`open` may wait.
    """

    def __init__(self, chromium: str = "/usr/bin/chromium", width: int = 1600, height: int = 1000,
                 timeout_s: float = 30.0) -> None:  # fmt: skip
        if shutil.which(chromium) is None:
            raise NotFoundError("Chromium is not installed (apt-get install chromium)", file=chromium)
        self.chromium, self.width, self.height, self.timeout_s = chromium, width, height, timeout_s
        self._ids = itertools.count(1)
        self._profile: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._ws: ClientConnection | None = None
        self._closing = ExitStack()

    def __enter__(self) -> Browser:
        self._profile = tempfile.mkdtemp(prefix="posebench-chromium-")
        self._process = subprocess.Popen(
            [self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={self._profile}", f"--window-size={self.width},{self.height}",
             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            self._ws = self._closing.enter_context(connect(self._page_socket(), max_size=None, open_timeout=self.timeout_s))
            self.call("Page.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                      deviceScaleFactor=1, mobile=False)  # fmt: skip
            self.call("Page.addScriptToEvaluateOnNewDocument", source=_RECORD_ALERTS)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.close()
        self._ws = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)

    def _page_socket(self) -> str:
        """The websocket URL of the first page target, once Chromium has written its port."""
        if self._profile is None or self._process is None:
            raise InternalError("the browser is not started (use it as a context manager)")
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise InternalError(f"Chromium exited with code {self._process.returncode} at start-up")
            if port_file.is_file() and port_file.read_text().strip():
                port = int(port_file.read_text().split()[0])
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
                        targets = json.load(response)
                    pages = [t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"]
                    if pages:
                        return str(pages[0])
                except OSError:
                    pass
            time.sleep(0.1)
        raise InternalError(f"Chromium did not open its debugging port within {self.timeout_s:.0f} s")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one CDP command and return its result (events in between are skipped)."""
        if self._ws is None:
            raise InternalError("the browser is not started (use it as a context manager)")
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=self.timeout_s))
            if message.get("id") == ident:
                if "error" in message:
                    raise InternalError(f"CDP {method} failed: {message['error'].get('message')}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise InternalError(f"JavaScript error in {expression[:60]!r}: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def wait_for(self, condition: str, timeout_s: float | None = None) -> None:
        """Poll a JavaScript condition until it is truthy (InternalError on timeout)."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while time.monotonic() < deadline:
            if self.evaluate(f"Boolean({condition})"):
                return
            time.sleep(0.2)
        raise InternalError(f"page condition not met within {timeout_s or self.timeout_s:.0f} s: {condition}")

    def open(self, url: str, ready: str = APP_IDLE, settle_s: float = 1.0) -> None:
        """Navigate to ``url``, wait for ``ready``, then let rendering settle for ``settle_s``."""
        self.call("Page.navigate", url=url)
        self.wait_for(ready)
        time.sleep(settle_s)
        self.wait_for(APP_IDLE)

    def click(self, x: float, y: float) -> None:
        """A left click at viewport coordinates (CSS pixels)."""
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self) -> bytes:
        """A PNG of the viewport."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
