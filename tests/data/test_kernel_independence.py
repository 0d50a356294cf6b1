"""The synth build is the same on every CPU: one test-split hash, the pinned one, under many kernels.

Each setting builds the published small test split (``test_split_size("small")``) in a fresh
subprocess, since OpenBLAS, numpy and torch read their kernel choice once, at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.data.synth.pinned import pinned_hash

_BUILD = """
import sys
from bench.data.synth.build import build_synth, test_split_size
from bench.progress import set_quiet
set_quiet(True)
report = build_synth(sys.argv[1], size=test_split_size("small"), seed=0, workers=int(sys.argv[2]))
print(report.manifest["splits"]["test"]["hash"])
"""


def _has_avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False


def _threads(n: int) -> dict[str, str]:
    return {"OMP_NUM_THREADS": str(n), "OPENBLAS_NUM_THREADS": str(n), "MKL_NUM_THREADS": str(n)}


# (label, environment, workers). OpenBLAS kernels every x86-64 CPU with AVX2 can run, numpy's
# dispatch without AVX2/FMA3 (and AVX-512), torch's scalar and AVX2 kernels, 1 and 2 threads/workers.
SETTINGS = [
    ("openblas-prescott-1-thread-1-worker", {"OPENBLAS_CORETYPE": "Prescott", **_threads(1)}, 1),
    ("openblas-sandybridge-2-threads-2-workers", {"OPENBLAS_CORETYPE": "Sandybridge", **_threads(2)}, 2),
    ("openblas-haswell", {"OPENBLAS_CORETYPE": "Haswell"}, 2),
    ("numpy-without-avx512-and-avx2", {"NPY_DISABLE_CPU_FEATURES": "X86_V4 X86_V3"}, 1),
    ("torch-default-kernels", {"ATEN_CPU_CAPABILITY": "default", **_threads(1)}, 2),
    ("torch-avx2-kernels", {"ATEN_CPU_CAPABILITY": "avx2", **_threads(2)}, 1),
]
if _has_avx512():
    SETTINGS.append(("openblas-skylakex", {"OPENBLAS_CORETYPE": "SkylakeX"}, 2))


@pytest.mark.slow
@pytest.mark.parametrize(("label", "environment", "workers"), SETTINGS, ids=[s[0] for s in SETTINGS])
def test_small_test_split_hash_is_the_pin_under_every_kernel(label: str, environment: dict[str, str], workers: int,
                                                            tmp_path: Path) -> None:  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES",
                                                            "ATEN_CPU_CAPABILITY")}  # fmt: skip
    env.update(environment)
    done = subprocess.run([sys.executable, "-c", _BUILD, str(tmp_path / "synth"), str(workers)], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == pinned_hash("small", 0), f"{label}: {done.stdout.split()[-1]}"
