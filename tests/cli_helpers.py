"""Run the ``bench`` CLI in-process and capture exit code, stdout and stderr."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from bench.cli import main


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_bench(*args: str) -> CliResult:
    """``bench ARGS...`` in this process (no subprocess start-up cost)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return CliResult(code, out.getvalue(), err.getvalue())
