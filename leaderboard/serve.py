"""Serving the leaderboard app: the Streamlit command line, its environment, and a context manager
that runs it on a loopback port until the health endpoint answers.

The app (``leaderboard/app.py``) learns its table from :data:`TABLE_ENV` and the rest of its
configuration from ``BENCH_HOME`` / ``BENCH_CONFIG``, which :func:`serve_env` sets from the
caller's :class:`~bench.config.BenchConfig`.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from bench.config import PACKAGE_ROOT, BenchConfig
from bench.errors import InternalError

logger = logging.getLogger(__name__)

TABLE_ENV = "BENCH_LEADERBOARD_TABLE"
"""Environment variable naming the table the app reads (default: the config's leaderboard_table)."""
APP_PATH = Path(__file__).resolve().with_name("app.py")
HEALTH_PATH = "/_stcore/health"


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """``python -m streamlit run app.py`` headless on ``address:port``, no usage statistics, minimal toolbar."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_PATH),
        "--server.headless", "true", "--server.address", address, "--server.port", str(port),
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
        "--server.fileWatcherType", "none", "--theme.base", "light",
    ]  # fmt: skip


def serve_env(config: BenchConfig, table: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) plus what the app needs to find the same home, config, table
    and code (this checkout first on ``PYTHONPATH``)."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    env["BENCH_HOME"] = str(Path(config.home).resolve())
    if config.config_file is not None:
        env["BENCH_CONFIG"] = str(config.config_file)
    env[TABLE_ENV] = str(Path(table).resolve())
    return env


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    """Poll ``url`` + :data:`HEALTH_PATH` until it answers ``ok``.

    Raises:
        InternalError: the server exited, or did not answer within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise InternalError(f"the Streamlit server exited with code {process.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url + HEALTH_PATH, timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise InternalError(f"the Streamlit server at {url} was not healthy after {timeout_s:.0f} s")


@contextmanager
def running_app(config: BenchConfig, table: Path, port: int | None = None, log: IO[bytes] | None = None,
                timeout_s: float = 60.0) -> Iterator[str]:  # fmt: skip
    """Serve the app on 127.0.0.1 (``port`` or a free one) and yield its URL once healthy; the
    server is stopped on exit. Server output goes to ``log`` (default: discarded)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    sink = log if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(streamlit_command(port), env=serve_env(config, table), stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, process, timeout_s)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
