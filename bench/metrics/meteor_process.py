"""The process's one METEOR 1.5 JVM: pycocoevalcap's jar and command line, driven pipelined.

Protocol (the jar's ``-stdio`` mode, as pycocoevalcap's ``Meteor.compute_score`` uses it): one line
``SCORE ||| ref 1 ||| … ||| ref n ||| hypothesis`` per item, each answered by one line of alignment
statistics; then one line ``EVAL ||| stats 1 ||| … ||| stats N``, answered by N per-item scores and
the corpus score. pycocoevalcap writes a SCORE line and waits for its answer before writing the next
one; here a writer thread sends all SCORE lines while the caller reads the answers as they come, so
the JVM never idles on a round trip. The lines and the answers are the same, so the scores are
identical (a test compares them with pycocoevalcap's own wrapper).

Lifecycle: one JVM per process (about 1.3 GB, 7–11 s to start), created on first use or by
:func:`start_meteor` (which returns at once: the JVM loads while the caller does other work), used
under a lock, restarted if it has died, closed at exit. A JVM that dies or stops answering within
the timeout is killed and raises :class:`~bench.errors.InternalError`; scores are never silently 0.
"""

from __future__ import annotations

import atexit
import math
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

import pycocoevalcap.meteor.meteor as pycoco_meteor

from bench.errors import InternalError, NotFoundError

JAR_DIR = Path(pycoco_meteor.__file__).resolve().parent
COMMAND = ("java", "-jar", "-Xmx2G", pycoco_meteor.METEOR_JAR, "-", "-", "-stdio", "-l", "en", "-norm")
"""pycocoevalcap's command line, run in :data:`JAR_DIR`."""


class MeteorProcess:
    """One METEOR JVM in stdio mode. Not thread-safe by itself: :func:`meteor_scores` serialises use."""

    def __init__(self, command: Sequence[str] = COMMAND, cwd: Path = JAR_DIR) -> None:
        self.process = subprocess.Popen(list(command), cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)  # fmt: skip

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def score(self, references: Sequence[Sequence[str]], hypotheses: Sequence[str], timeout_s: float
              ) -> tuple[float, list[float]]:  # fmt: skip
        """(corpus METEOR, per-item METEOR) of tokenized hypotheses against their references.

        Raises:
            InternalError: the JVM died, answered something that is not a number, or took longer
                than ``timeout_s`` in all (it is then killed).
        """
        lines = [" ||| ".join(("SCORE", " ||| ".join(refs), hyp.replace("|||", "").replace("  ", " ")))
                 for refs, hyp in zip(references, hypotheses, strict=True)]  # fmt: skip
        watchdog = threading.Timer(timeout_s, self.process.kill)
        watchdog.daemon = True
        watchdog.start()
        writer = threading.Thread(target=self._write, args=(lines,), daemon=True)
        writer.start()
        try:
            stats = [self._read_line() for _ in lines]
            writer.join()
            self._write([" ||| ".join(["EVAL", *stats])])
            items = [float(self._read_line()) for _ in lines]
            corpus = float(self._read_line())
        except (ValueError, OSError) as exc:
            self.process.kill()
            raise InternalError(f"METEOR 1.5 JVM died or stopped answering within {timeout_s:g} s ({exc}); "
                                f"{self.close()}") from None  # fmt: skip
        finally:
            watchdog.cancel()
        if not all(math.isfinite(v) for v in (corpus, *items)):
            raise InternalError("METEOR 1.5 answered a non-finite score")
        return corpus, items

    def _write(self, lines: list[str]) -> None:
        try:
            for line in lines:
                self.process.stdin.write(line.encode() + b"\n")
            self.process.stdin.flush()
        except OSError:  # the JVM died: the reader sees end of file and reports it
            pass

    def _read_line(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise ValueError("end of output")
        return line.decode().strip()

    def close(self) -> str:
        """Stop the JVM; return a one-line summary of its exit code and stderr."""
        if self.alive:
            self.process.kill()
        self.process.wait()
        stderr = b""
        try:
            stderr = self.process.stderr.read()
        except (OSError, ValueError):
            pass
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass
        tail = " ".join(stderr.decode(errors="replace").split())[-300:]
        return f"java exit code {self.process.returncode}, stderr: {tail or '(empty)'}"


_lock = threading.Lock()
_jvm: MeteorProcess | None = None


def require_java() -> None:
    """Raise :class:`NotFoundError` unless a ``java`` executable is on PATH."""
    if shutil.which("java") is None:
        raise NotFoundError("java was not found on PATH; the PTB tokenizer and METEOR 1.5 need Java 8 or newer")


def _running() -> MeteorProcess:
    """The live JVM, started (or restarted) if needed; call with ``_lock`` held."""
    global _jvm
    if _jvm is not None and not _jvm.alive:
        _jvm.close()
        _jvm = None
    if _jvm is None:
        require_java()
        _jvm = MeteorProcess()
    return _jvm


def start_meteor() -> None:
    """Start the JVM now if it is not running (returns at once), so its start-up overlaps other work."""
    with _lock:
        _running()


def meteor_scores(references: Sequence[Sequence[str]], hypotheses: Sequence[str], timeout_s: float
                  ) -> tuple[float, list[float]]:  # fmt: skip
    """(corpus, per-item) METEOR 1.5 from the process's one JVM (see :meth:`MeteorProcess.score`)."""
    global _jvm
    with _lock:
        jvm = _running()
        try:
            return jvm.score(references, hypotheses, timeout_s)
        except BaseException:  # also KeyboardInterrupt: unread answers would desync the next call
            if jvm.alive:  # a failed score() has already closed it
                jvm.close()
            _jvm = None
            raise


def abort_meteor() -> None:
    """Kill the JVM without waiting for the lock: a call in flight then fails at once (used when
    the caller is interrupted)."""
    jvm = _jvm
    if jvm is not None and jvm.alive:
        jvm.process.kill()


def _close_at_exit() -> None:
    """Stop the JVM if one is running (waits at most 5 s for a call in flight)."""
    global _jvm
    if _lock.acquire(timeout=5.0):
        try:
            if _jvm is not None:
                _jvm.close()
                _jvm = None
        finally:
            _lock.release()


atexit.register(_close_at_exit)
