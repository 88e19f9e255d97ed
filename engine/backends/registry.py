"""Backends by name. Factories are registered lazily so heavy imports wait until use."""

from __future__ import annotations

import importlib
from typing import Any, Callable

from engine.backends.base import Backend
from engine.errors import BackendError

_FACTORIES: dict[str, Callable[..., Backend]] = {}
_BUILTIN: dict[str, str] = {
    # name -> "module:attribute"; imported on first use.
    "composer": "engine.composer.backend:ComposerBackend",
    "musicgen": "engine.musicgen.backend:MusicGenBackend",
    "musicgen-stem": "engine.musicgen_stem.backend:MusicGenStemBackend",
}


def register_backend(name: str, factory: Callable[..., Backend]) -> None:
    _FACTORIES[name] = factory


def available_backends() -> list[str]:
    return sorted(set(_FACTORIES) | set(_BUILTIN))


def get_backend(name: str, **options: Any) -> Backend:
    """Build the backend ``name`` with ``options`` (e.g. ``model_dir`` for musicgen)."""
    factory = _FACTORIES.get(name)
    if factory is None and name in _BUILTIN:
        module_name, attr = _BUILTIN[name].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise BackendError(f"the {name} backend is not available in this build ({exc.name} is missing)") from exc
        factory = getattr(module, attr)
        _FACTORIES[name] = factory
    if factory is None:
        raise BackendError(f"unknown engine {name!r}: choose one of {', '.join(available_backends())}")
    return factory(**options)
