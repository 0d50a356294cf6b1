"""Where model adapters come from: PoseBench's own modules, installed packages, and ``--include``.

Three origins fill :data:`~bench.models.adapter.MODELS`:

- **built in**: every module and subpackage of ``bench.models`` (``bench/models/<name>.py``);
- **entry point**: an installed package declares, in its ``pyproject.toml``::

      [project.entry-points."posebench.models"]
      my-models = "my_package.posebench_adapters"

  The value is a module whose ``@register_model`` decorators run on import, or ``module:Class``
  for one :class:`~bench.models.adapter.ModelAdapter` subclass (registered under its
  ``info.name`` when it did not register itself);
- **include**: ``bench run --include PATH`` (or ``bench models list --include PATH``) imports a
  ``.py`` file, every ``.py`` file of a folder, or a dotted module name.

Each plugin is imported all or none (``Registry.adding``). A broken built-in subpackage or entry
point is recorded in :func:`plugin_errors` and hides nothing else: the other models stay usable,
``bench models list`` names the broken plugin, and looking up a name that is missing says which
plugins failed. An ``--include`` the user asked for that fails to import is an error at once.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import logging
import pkgutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from bench.errors import NotFoundError, UserError
from bench.models.adapter import MODELS, ModelAdapter
from bench.registry import Registry

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "posebench.models"
"""The entry-point group installed packages register their adapters under."""
BUILT_IN = "built in"
"""The origin of PoseBench's own adapters."""
_SKIPPED_MODULES = ("adapter", "plugins")
"""Modules of ``bench.models`` that define no model."""


@dataclass(frozen=True)
class PluginError:
    """A plugin that failed to load."""

    plugin: str
    """What failed, as a user would look for it: ``entry point 'x' of package y 1.0``."""
    message: str
    """One line: the exception type and message."""

    def __str__(self) -> str:
        return f"model plugin {self.plugin} failed to load: {self.message}"


@dataclass
class _Discovery:
    """What discovery has found so far (one per process, like the registry it fills)."""

    done: bool = False
    origins: dict[str, str] = field(default_factory=dict)
    """Model name → origin."""
    errors: list[PluginError] = field(default_factory=list)


_state = _Discovery()


def discover_models() -> Registry[type[ModelAdapter]]:
    """Import the built-in model modules and the ``posebench.models`` entry points, once."""
    if not _state.done:
        _state.done = True
        import bench.models as package

        for module in pkgutil.iter_modules(package.__path__):
            if module.name.startswith("_") or module.name in _SKIPPED_MODULES:
                continue
            name = f"bench.models.{module.name}"
            try:
                _import_plugin(lambda name=name: importlib.import_module(name), BUILT_IN)
            except ImportError as exc:
                if not module.ispkg:
                    raise
                _record(PluginError(f"package {name}", _one_line(exc)))
        for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            origin = _entry_point_origin(entry)
            try:
                _import_plugin(lambda entry=entry: _load_entry_point(entry), origin)
            except Exception as exc:  # noqa: BLE001 (any failure of third-party code is reported, not raised)
                _record(PluginError(origin, _one_line(exc)))
    return MODELS


def include(paths: Iterable[str | Path]) -> list[str]:
    """Import ``--include`` paths (a ``.py`` file, a folder of them, or a dotted module name).

    Returns:
        The model names they registered.

    Raises:
        NotFoundError: a path that is neither a file, a folder nor an importable module.
        UserError: an include that fails to import (message names it and the exception).
    """
    discover_models()
    added: list[str] = []
    for raw in paths:
        for label, loader in _include_loaders(str(raw)):
            try:
                added += _import_plugin(loader, f"--include {label}")
            except UserError:
                raise
            except Exception as exc:  # noqa: BLE001 (user code: one clear line, not a traceback)
                raise UserError(f"failed to import: {_one_line(exc)}", file=label, field="--include") from exc
    return added


def model_origin(name: str) -> str:
    """Where model ``name`` came from: ``built in``, ``entry point 'x' of package y 1.0`` or
    ``--include PATH`` (``unknown`` for a class registered by hand, e.g. in a test)."""
    discover_models()
    return _state.origins.get(name, "unknown")


def plugin_errors() -> list[PluginError]:
    """The plugins that failed to load, in discovery order."""
    discover_models()
    return list(_state.errors)


def get_model(name: str) -> type[ModelAdapter]:
    """The adapter class registered as ``name``; NotFoundError with did-you-mean, naming the plugins
    that failed to load (one of them may have been meant to provide ``name``)."""
    registry = discover_models()
    try:
        return registry.get(name)
    except NotFoundError as exc:
        broken = plugin_errors()
        if not broken:
            raise
        raise NotFoundError(f"{exc.reason}; also, {'; '.join(str(e) for e in broken)}") from None


def model_names() -> list[str]:
    """Every registered model name, sorted."""
    return discover_models().names()


# ----- helpers ----------------------------------------------------------------------------------
def _import_plugin(load: Callable[[], object], origin: str) -> list[str]:
    """Run ``load()`` inside ``MODELS.adding()``; record ``origin`` for what it registered."""
    with MODELS.adding() as added:
        loaded = load()
        if inspect.isclass(loaded) and issubclass(loaded, ModelAdapter) and loaded not in dict(MODELS.items()).values():
            MODELS.add(loaded.info.name, loaded)
    for name in added:
        _state.origins.setdefault(name, origin)
    return added


def _load_entry_point(entry: importlib.metadata.EntryPoint) -> object:
    loaded = entry.load()
    if not (isinstance(loaded, ModuleType) or (inspect.isclass(loaded) and issubclass(loaded, ModelAdapter))):
        raise UserError(f"{entry.value!r} is neither a module nor a ModelAdapter subclass")
    return loaded


def _entry_point_origin(entry: importlib.metadata.EntryPoint) -> str:
    dist = entry.dist
    package = f" of package {dist.metadata['Name']} {dist.version}" if dist is not None else ""
    return f"entry point {entry.name!r}{package}"


def _include_loaders(raw: str) -> list[tuple[str, Callable[[], object]]]:
    """``(label, loader)`` per module to import for one ``--include`` value."""
    path = Path(raw).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
        if not files:
            raise NotFoundError("folder holds no .py files", file=path, field="--include")
        return [(str(f), lambda f=f: _import_file(f)) for f in files]
    if path.is_file():
        if path.suffix != ".py":
            raise UserError("expected a .py file, a folder of them, or a module name", file=path, field="--include")
        return [(str(path), lambda: _import_file(path))]
    if raw.replace(".", "").replace("_", "").isalnum() and importlib.util.find_spec(raw.split(".")[0]) is not None:
        return [(raw, lambda: importlib.import_module(raw))]
    raise NotFoundError("no such file, folder or importable module", file=raw, field="--include")


def _import_file(path: Path) -> ModuleType:
    """Import a ``.py`` file as a module named after its resolved path (importing it twice is a no-op)."""
    resolved = path.resolve()
    name = f"posebench_include_{resolved.stem}_{hashlib.sha256(str(resolved).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise UserError("cannot be imported as a module", file=path, field="--include")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _record(error: PluginError) -> None:
    logger.debug("%s", error)
    _state.errors.append(error)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
