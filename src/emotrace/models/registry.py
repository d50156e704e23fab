"""Name → constructor registry (after timm): `create_model(name, **args)` is the one way to build a model,
and a bundle's config stores exactly that name and those args so that loading rebuilds what was trained."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emotrace.errors import EmotraceError
from emotrace.models.base import ERCModel

_REGISTRY: dict[str, Callable[..., ERCModel]] = {}
_DESCRIPTIONS: dict[str, str] = {}


def register_model(name: str, description: str) -> Callable[[Callable[..., ERCModel]], Callable[..., ERCModel]]:
    def decorate(constructor: Callable[..., ERCModel]) -> Callable[..., ERCModel]:
        _REGISTRY[name] = constructor
        _DESCRIPTIONS[name] = description
        return constructor

    return decorate


def _ensure_loaded() -> None:
    import emotrace.models.cmath  # noqa: F401  (registers its models)
    import emotrace.models.face  # noqa: F401
    import emotrace.models.finetune  # noqa: F401
    import emotrace.models.frozen  # noqa: F401
    import emotrace.models.multimodal  # noqa: F401
    import emotrace.models.skip_rnn  # noqa: F401
    import emotrace.models.speech  # noqa: F401


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
