"""Name → constructor registry (after timm): `create_model(name, **args)` is the one way to build a model,
and a bundle's config stores exactly that name and those args so that loading rebuilds what was trained."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from emotrace.errors import EmotraceError
from emotrace.models.base import ERCModel

# Where the registered constructors live (research models too); each module registers its constructors on import.
MODEL_MODULES = (
    "emotrace.models.cmath",
    "emotrace.models.face",
    "emotrace.models.finetune",
    "emotrace.models.frozen",
    "emotrace.models.multimodal",
    "emotrace.research.skip_rnn",
    "emotrace.models.speech",
)
_REGISTRY: dict[str, Callable[..., ERCModel]] = {}
_DESCRIPTIONS: dict[str, str] = {}


def register_model(name: str, description: str) -> Callable[[Callable[..., ERCModel]], Callable[..., ERCModel]]:
    def decorate(constructor: Callable[..., ERCModel]) -> Callable[..., ERCModel]:
        _REGISTRY[name] = constructor
        _DESCRIPTIONS[name] = description
        return constructor

    return decorate


def _ensure_loaded() -> None:
    """Import every module that registers models, by name, so that the registry itself imports no model module."""
    for module in MODEL_MODULES:
        importlib.import_module(module)


def list_models() -> dict[str, str]:
    _ensure_loaded()
    return dict(_DESCRIPTIONS)


def create_model(name: str, **args: Any) -> ERCModel:
    _ensure_loaded()
    if name not in _REGISTRY:
        raise EmotraceError(f"unknown model '{name}'", hint=f"choose one of {', '.join(sorted(_REGISTRY))}")
    model = _REGISTRY[name](**args)
    model.registry_name = name
    model.config_args = dict(args)
    return model
