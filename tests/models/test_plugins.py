"""Adapters from outside PoseBench: ``posebench.models`` entry points, ``--include``, broken plugins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.errors import InternalError, NotFoundError
from bench.registry import Registry
from tests.cli_helpers import run_bench

PLUGIN_MODULE = '''
from bench.models import ModelInfo, register_model
from bench.models.mean_pose import MeanPose


@register_model("{name}")
class PluginMean(MeanPose):
    info = ModelInfo(name="{name}", version="2.0", description="mean-pose from outside PoseBench")
'''


def _dist_info(site: Path, package: str, entry_points: str) -> None:
    """A minimal installed distribution: what ``pip install`` leaves in site-packages."""
    info = site / f"{package}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[posebench.models]\n{entry_points}\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder holding one working adapter package and one broken one, each with its entry point."""
    site = tmp_path / "site"
    (site / "good_models").mkdir(parents=True)
    (site / "good_models" / "__init__.py").write_text(PLUGIN_MODULE.format(name="plugin-mean"), encoding="utf-8")
    _dist_info(site, "good_models", "good = good_models")
    (site / "broken_models.py").write_text("import a_module_that_is_not_installed\n", encoding="utf-8")
    _dist_info(site, "broken_models", "broken = broken_models")
    return site


def _bench(site: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "BENCH_HOME": str(home)}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "bench", "-q", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip


def test_an_installed_package_registers_its_adapter_through_an_entry_point(site: Path, synth_small: Path,
                                                                         tmp_path: Path) -> None:  # fmt: skip
    listed = _bench(site, tmp_path / "home", "models", "list")
    assert "plugin-mean" in listed.stdout and "entry point 'good' of package good_models 1.0" in listed.stdout
    assert "mean-pose" in listed.stdout and "built in" in listed.stdout  # the broken plugin hides nothing
    errors = [line for line in listed.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: model plugin entry point 'broken' of package broken_models 1.0 failed to load: "
                      "ModuleNotFoundError: No module named 'a_module_that_is_not_installed'"], listed.stderr
    assert listed.returncode == 2

    ran = _bench(site, tmp_path / "home", "run", "--model", "plugin-mean", "--tasks", "rpe", "--data", str(synth_small),
                 "--limit", "6", "--no-store")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "plugin-mean: bundle" in ran.stdout
    meta = (tmp_path / "home" / "runs" / "synth-small" / "plugin-mean" / "meta.json").read_text(encoding="utf-8")
    assert '"model_version": "2.0"' in meta

    missing = _bench(site, tmp_path / "home", "run", "--model", "plugin-meen", "--data", str(synth_small))
    assert missing.returncode == 2
    assert "did you mean 'plugin-mean'" in missing.stderr and "entry point 'broken'" in missing.stderr


def test_include_imports_a_file_or_a_folder(synth_small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "adapters"
    folder.mkdir()
    (folder / "probe.py").write_text(PLUGIN_MODULE.format(name="include-probe"), encoding="utf-8")
    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "home"))
    for include in (folder / "probe.py", folder):  # a file, then the folder holding it (imported once)
        result = run_bench("-q", "run", "--include", str(include), "--model", "include-probe", "--tasks", "rpe",
                           "--data", str(synth_small), "--limit", "6", "--no-store")  # fmt: skip
        assert result.exit_code == 0, result.stderr
    listed = run_bench("models", "list", "--include", str(folder / "probe.py"))
    row = next(line for line in listed.stdout.splitlines() if line.startswith("include-probe"))
    assert f"--include {folder / 'probe.py'}" in row


def test_include_errors_name_the_path(tmp_path: Path) -> None:
    missing = run_bench("models", "list", "--include", str(tmp_path / "nowhere.py"))
    assert missing.exit_code == 2 and "nowhere.py: field '--include': no such file" in missing.stderr
    broken = tmp_path / "broken.py"
    broken.write_text("raise ValueError('half-written adapter')\n", encoding="utf-8")
    failed = run_bench("models", "list", "--include", str(broken))
    assert failed.exit_code == 2
    assert f"{broken}: field '--include': failed to import: ValueError: half-written adapter" in failed.stderr


def test_a_plugin_that_fails_half_way_leaves_no_entry_behind() -> None:
    registry: Registry[int] = Registry("thing")
    with pytest.raises(RuntimeError), registry.adding():
        registry.add("first", 1)
        raise RuntimeError("second import failed")
    with registry.adding() as added:
        registry.add("other", 2)
    assert registry.names() == ["other"] and added == ["other"]
    with pytest.raises(InternalError, match="duplicate"):
        registry.add("other", 3)
    with pytest.raises(NotFoundError, match="unknown thing 'first'"):
        registry.get("first")
