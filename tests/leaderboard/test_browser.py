"""The served page in a real browser: `bench leaderboard serve`, headless Chromium over CDP, user text
shown as text."""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.config import PACKAGE_ROOT
from leaderboard.browser import TABLE_READY, Browser
from leaderboard.serve import free_port, wait_healthy
from tests.leaderboard.entries import XSS_NAME

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"Chromium is not installed at {CHROMIUM} "
                       "(CI installs it with `apt-get install chromium`)"),  # fmt: skip
]


def read_line_with(process: subprocess.Popen[str], text: str, timeout_s: float) -> str:
    """The first stdout line of ``process`` containing ``text`` (fails after ``timeout_s``)."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = process.stdout.readline()
            if text in line:
                return line.strip()
            assert line or process.poll() is None, f"serve exited with {process.returncode}"
    raise AssertionError(f"serve printed no line with {text!r} within {timeout_s} s")


def test_served_page_shows_names_as_text(board_home: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
    with open(tmp_path / "serve.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "bench", "leaderboard", "serve", "--port", str(port)],
                                   env=env, stdout=subprocess.PIPE, stderr=log, text=True)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        assert read_line_with(process, "PoseBench leaderboard:", 90) == f"PoseBench leaderboard: {url}"
        wait_healthy(url, process, 10)  # type: ignore[arg-type]
        with Browser(CHROMIUM, 1600, 1000) as browser:
            browser.open(url, TABLE_READY)
            grid = browser.evaluate("document.querySelector('[data-testid=\"stDataFrame\"]').textContent")
            assert XSS_NAME in grid and "UniPose-small" in grid  # the grid's accessible text: raw values
            assert browser.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
            assert browser.evaluate("document.querySelectorAll('[onerror]').length") == 0
            assert browser.evaluate("window.__alerts") == []
            shot = browser.screenshot()
        assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000
        (tmp_path / "leaderboard.png").write_bytes(shot)
    finally:
        process.terminate()
        process.wait(timeout=20)
