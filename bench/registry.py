"""A small registry: register by decorator, look up by name with did-you-mean, freeze once loaded.

Registries can discover their entries lazily by importing every module of a package the first
time they are read, so adding a task or a model is one new file.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from bench.errors import InternalError, NotFoundError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects (classes, factories, specs).

    Args:
        kind: what the entries are, used in messages ("task", "model", ...).
        packages: dotted package names whose modules are imported on first lookup, so that their
            ``@registry.register(...)`` decorators run.
    """

    def __init__(self, kind: str, packages: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._packages = packages
        self._entries: dict[str, T] = {}
        self._loaded = not packages
        self._frozen = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``; duplicate names are a bug."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        if self._frozen:
            raise InternalError(f"the {self.kind} registry is frozen; cannot add {name!r}")
        if name in self._entries and self._entries[name] is not obj:
            raise InternalError(f"duplicate {self.kind} name {name!r}")
        self._entries[name] = obj

    @contextmanager
    def adding(self) -> Iterator[list[str]]:
        """A block that adds entries all or none: the yielded list receives the names added inside
        the block; when the block raises, those entries are removed again, so a plugin that fails
        half-way through its imports never leaves half of its entries behind."""
        before = set(self._entries)
        added: list[str] = []
        try:
            yield added
        except BaseException:
            for name in set(self._entries) - before:
                del self._entries[name]
            raise
        added.extend(sorted(set(self._entries) - before))

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for package_name in self._packages:
            package = importlib.import_module(package_name)
            for module in pkgutil.iter_modules(package.__path__):
                if not module.name.startswith("_"):
                    importlib.import_module(f"{package_name}.{module.name}")
        self._frozen = True

    def get(self, name: str) -> T:
        """The entry called ``name``; an unknown name raises NotFoundError listing known names."""
        self._load()
        if name in self._entries:
            return self._entries[name]
        close = difflib.get_close_matches(name, self._entries, n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(sorted(self._entries)) or "none"
        raise NotFoundError(f"unknown {self.kind} {name!r}{hint} (known: {known})")

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        self._load()
        for name in sorted(self._entries):
            yield name, self._entries[name]

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries
