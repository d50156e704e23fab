"""Which models this server offers: the shipped bundles, plus bundles under `--models-dir` when the operator
allowed one. A request names a model; it never passes a path, so a client cannot make the server load arbitrary
folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emotrace.errors import EmotraceError
from emotrace.inference.pipeline import LATE_FUSION
from emotrace.serve.settings import ServeSettings

# The evaluation blocks bundles carry in config.json (which one depends on how the model was trained).
_METRIC_BLOCKS = ("test_scores", "dev_scores", "composite_test", "private_test", "leave_one_speaker_out")


def available_models(settings: ServeSettings) -> dict[str, Path]:
    """Name → bundle folder; a shipped name wins over a folder of the same name in `models_dir`."""
    from emotrace.models.bundle import CONFIG_FILE, bundled_models

    models = {}
    if settings.models_dir is not None:
        models = {path.name: path for path in sorted(settings.models_dir.iterdir()) if (path / CONFIG_FILE).is_file()}
    return models | bundled_models()


def model_reference(name: str, settings: ServeSettings, field: str) -> str:
    """What `Analyzer.model` loads for `name`: the shipped name itself, or the folder under `models_dir`."""
    if name == LATE_FUSION and field == "options.fusion_model":
        return name
    from emotrace.models.bundle import bundled_models

    if name in bundled_models():
        return name
    models = available_models(settings)
    if name not in models:
        choices = ", ".join(models) + (", late" if field == "options.fusion_model" else "")
        raise EmotraceError(f"{field}: no model named {name!r} on this server", hint=f"choose one of {choices}; GET /v1/models lists them")
    return str(models[name])


def model_info(name: str, folder: Path) -> dict[str, Any]:
    """A bundle's name, family, labels and reported metrics, read from its config.json without loading weights."""
    from emotrace.models.bundle import read_config
    from emotrace.models.registry import list_models

    config = read_config(folder)
    args = config.get("args", {})
    return {
        "name": name,
        "family": config["model"],
        "description": list_models().get(config["model"]),
        "labels": args.get("labels", []),
        "sentiment_labels": args.get("sentiment_labels"),
        "trained_on": config.get("data", {}).get("name"),
        "metrics": {block: config[block] for block in _METRIC_BLOCKS if block in config},
    }
