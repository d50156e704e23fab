"""Resumable training state without pickle: tensors (trainable weights, optimiser moments, RNG) in safetensors,
everything else (position, history, optimiser hyper-parameters) in JSON, written atomically as a pair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from emotrace.io.atomic import atomic_path, write_text_atomic
from emotrace.models.base import ERCModel
from emotrace.models.bundle import trained_state

TENSORS, STATE = "checkpoint.safetensors", "checkpoint.json"


def save_checkpoint(directory: Path, model: ERCModel, optimizer: torch.optim.Optimizer, progress: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    optimizer_state = optimizer.state_dict()
    tensors = {f"model.{name}": value for name, value in trained_state(model).items()}
    for index, moments in optimizer_state["state"].items():
        tensors.update({f"optimizer.{index}.{key}": torch.as_tensor(value).contiguous() for key, value in moments.items()})
    tensors["rng.torch"] = torch.get_rng_state()
    with atomic_path(directory / TENSORS) as temporary:
        save_file(tensors, str(temporary))
    write_text_atomic(directory / STATE, json.dumps({**progress, "param_groups": optimizer_state["param_groups"]}, indent=1))


def has_checkpoint(directory: Path) -> bool:
    return (directory / TENSORS).is_file() and (directory / STATE).is_file()


def load_checkpoint(directory: Path, model: ERCModel, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore model, optimiser and RNG in place; return the saved progress (epoch, batch, history, ...)."""
    from safetensors.torch import load_file

    tensors = load_file(str(directory / TENSORS))
    progress = json.loads((directory / STATE).read_text(encoding="utf-8"))
    model.load_state_dict({k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}, strict=False)
    moments: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            moments.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": moments, "param_groups": progress.pop("param_groups")})
    torch.set_rng_state(tensors["rng.torch"])
    return progress
