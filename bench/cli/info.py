"""``bench info``: versions, the body-model backend, and where everything lives."""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click

from bench import __version__
from bench.cli._common import echo_json, json_option, state
from bench.config import BenchConfig

_PACKAGES = ("torch", "numpy", "scipy", "smplx", "transformers", "pycocoevalcap", "nltk", "streamlit", "pandas")


def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _java_version() -> str | None:
    """First line of ``java -version`` (METEOR 1.5 and the PTB tokenizer need Java), or None."""
    java = shutil.which("java")
    if java is None:
        return None
    try:
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return lines[0] if lines else None


def _datasets(data_dir: Path) -> list[str]:
    if not data_dir.is_dir():
        return []
    return sorted(p.name for p in data_dir.iterdir() if (p / "manifest.json").is_file())


def _pinned_builds(data_dir: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """Synth builds among ``names`` -> how their test split compares with the published build."""
    from bench.data.manifest import read_manifest
    from bench.data.synth.pinned import compare_with_pinned
    from bench.errors import DataError

    out = {}
    for name in names:
        try:
            comparison = compare_with_pinned(read_manifest(data_dir / name))
        except DataError:
            continue
        if comparison is not None:
            out[name] = {"matches": comparison.matches, "summary": comparison.summary(),
                         "differing_files": comparison.by_component()}  # fmt: skip
    return out


def _files(directory: Path, pattern: str) -> list[str]:
    return sorted(p.name for p in directory.glob(pattern)) if directory.is_dir() else []


def collect_info(config: BenchConfig) -> dict[str, Any]:
    """Everything ``bench info`` reports; loading the body model raises BodyModelError on a bad path."""
    from bench.body import load_body_model

    body = load_body_model(config.body_model, config.body_models)
    return {
        "bench": __version__,
        "python": platform.python_version(),
        "packages": _package_versions(),
        "java": _java_version(),
        "config_file": str(config.config_file) if config.config_file else None,
        "sources": config.sources,
        "body_model": {
            "backend": config.body_model,
            "path": str(config.body_models) if config.body_models else None,
            **body.description,
        },
        "home": str(config.home),
        "data": {"dir": str(config.data_dir), "present": (present := _datasets(config.data_dir)),
                 "pinned": _pinned_builds(config.data_dir, present)},
        "evaluators": {
            "shipped_dir": str(config.shipped_evaluators_dir),
            "shipped": _files(config.shipped_evaluators_dir, "*.safetensors"),
            "user_dir": str(config.user_evaluators_dir),
            "user": _files(config.user_evaluators_dir, "*.safetensors"),
        },
        "models": {
            "shipped_dir": str(config.shipped_models_dir),
            "shipped": _files(config.shipped_models_dir, "*.safetensors"),
            "user_dir": str(config.user_models_dir),
            "user": _files(config.user_models_dir, "**/*.safetensors"),
        },
        "results_store": {"path": str(config.results_store), "present": config.results_store.is_file()},
    }


def _present(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


@click.command()
@json_option
@click.pass_context
def info(ctx: click.Context, as_json: bool) -> None:
    """Show versions, the body-model backend, and where data, evaluators, models and results live."""
    data = collect_info(state(ctx).config)
    if as_json:
        echo_json(data)
        return
    body = data["body_model"]
    lines = [
        f"bench           {data['bench']} (python {data['python']})",
        "packages        " + ", ".join(f"{k} {v or 'missing'}" for k, v in data["packages"].items()),
        f"java            {data['java'] or 'not found (needed for METEOR and the PTB tokenizer)'}",
        f"config file     {data['config_file'] or 'none'}",
        f"body model      {body['backend']}" + (f" from {body['path']}" if body["path"] else " (built in)")
        + f", {body.get('num_joints', '?')} joints",
        f"home            {data['home']}",
        f"data            {data['data']['dir']}: {_present(data['data']['present'])}",
        *(f"                {name}: {pinned['summary']}" for name, pinned in data["data"]["pinned"].items()),
        f"evaluators      shipped: {_present(data['evaluators']['shipped'])}; "
        f"user ({data['evaluators']['user_dir']}): {_present(data['evaluators']['user'])}",
        f"models          shipped: {_present(data['models']['shipped'])}; "
        f"user ({data['models']['user_dir']}): {_present(data['models']['user'])}",
        f"results store   {data['results_store']['path']}"
        + ("" if data["results_store"]["present"] else " (not created yet)"),
    ]
    click.echo("\n".join(lines))
