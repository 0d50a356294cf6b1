"""Strict construction of frozen config dataclasses from card dictionaries and preset names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

from bench.errors import ConfigError

__all__ = ["config_from_dict", "named_preset"]

T = TypeVar("T")


def config_from_dict(cls: type[T], data: Mapping[str, Any], what: str) -> T:
    """``cls(**data)``; ConfigError naming ``what`` when ``data`` has keys ``cls`` does not know."""
    unknown = set(data) - {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ConfigError(f"unknown {what} config key(s) {sorted(unknown)}", field="config")
    return cls(**data)


def named_preset(presets: Mapping[str, Callable[[], T]], name: str, what: str) -> T:
    """The preset called ``name``; ConfigError listing the known names otherwise."""
    if name not in presets:
        raise ConfigError(f"unknown {what} config {name!r}; known: {', '.join(presets)}", field="config")
    return presets[name]()
