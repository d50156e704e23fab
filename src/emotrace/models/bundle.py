"""Model bundles: a directory with `config.json` (registry name + constructor args), `model.safetensors`
(only the trained parameters: heads, adapters; pretrained encoders come from their packages) and `MODEL_CARD.md`.

No pickles anywhere: weights are safetensors, everything else is JSON. Importing this module does not import
torch (finding and reading bundles stays light for the ONNX runtime); loading one into PyTorch does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotrace.errors import EmotraceError
from emotrace.io.atomic import atomic_path, write_text_atomic

if TYPE_CHECKING:
    from emotrace.models.base import ERCModel

BUNDLE_FORMAT = "emotrace-bundle/1"
CONFIG_FILE, WEIGHTS_FILE, CARD_FILE = "config.json", "model.safetensors", "MODEL_CARD.md"


def trained_state(model: ERCModel) -> dict[str, Any]:
    """The parameters training changed (requires_grad), plus the buffers of modules that own such parameters
    (e.g. normalisation statistics): exactly what a bundle must carry, never a frozen pretrained encoder."""
    state = {name: p.detach().contiguous() for name, p in model.named_parameters() if p.requires_grad}
    for module_name, module in model.named_modules():
        if any(p.requires_grad for p in module.parameters(recurse=False)):
            prefix = f"{module_name}." if module_name else ""
            state.update({prefix + name: b.detach().contiguous() for name, b in module.named_buffers(recurse=False)})
    return state


def save_bundle(model: ERCModel, directory: str | Path, metadata: dict[str, Any], card: str, half: bool = False) -> Path:
    """`half` stores floating-point weights as float16 (half the size; loading casts them back to float32)."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {"format": BUNDLE_FORMAT, "model": model.registry_name, "args": model.config_args, **metadata}
    state = trained_state(model)
    if half:
        state = {name: tensor.half() if tensor.is_floating_point() else tensor for name, tensor in state.items()}
    with atomic_path(directory / WEIGHTS_FILE) as temporary:
        save_file(state, str(temporary))
    write_text_atomic(directory / CONFIG_FILE, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(directory / CARD_FILE, card)
    return directory


def read_config(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise EmotraceError("not a model bundle (config.json missing)", path=str(directory), hint="pass a directory written by `emotrace train`")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise EmotraceError(f"config is not valid JSON ({error})", path=str(path), hint="re-create the bundle with `emotrace train`") from None
    if config.get("format") != BUNDLE_FORMAT or "model" not in config:
        raise EmotraceError(f"unsupported bundle format {config.get('format')!r}", path=str(path), hint=f"expected {BUNDLE_FORMAT}")
    return config


def load_bundle(directory: str | Path) -> ERCModel:
    """Rebuild the model from its registry name and args, then load the trained parameters into it."""
    from safetensors.torch import load_file

    from emotrace.models.registry import create_model

    config = read_config(directory)
    weights = Path(directory) / WEIGHTS_FILE
    if not weights.is_file():
        raise EmotraceError("bundle has no model.safetensors", path=str(directory), hint="re-create the bundle with `emotrace train`")
    model = create_model(config["model"], **config["args"])
    state = load_file(str(weights))
    missing = set(trained_state(model)) - set(state)
    unknown = set(state) - set(model.state_dict()) - {name for name, _ in model.named_buffers()}
    if missing or unknown:
        raise EmotraceError("bundle weights do not match its model", path=str(weights), hint="the bundle was written by another emotrace version; retrain it")
    model.load_state_dict(state, strict=False)
    model.temperature = float(config.get("calibration", {}).get("temperature", 1.0))
    return model.eval()


BUNDLED_DIR = Path(__file__).resolve().parent.parent / "bundles"


def bundled_models() -> dict[str, Path]:
    """Bundles shipped inside the package, by name (`default` is the MELD-trained text model)."""
    if not BUNDLED_DIR.is_dir():
        return {}
    return {path.name: path for path in sorted(BUNDLED_DIR.iterdir()) if (path / CONFIG_FILE).is_file()}


def bundle_path(name_or_dir: str | Path = "default") -> Path:
    """The directory of a shipped bundle by name, or of any bundle directory (e.g. the --out of `emotrace train`)."""
    shipped = bundled_models()
    if str(name_or_dir) in shipped:
        return shipped[str(name_or_dir)]
    if Path(name_or_dir).is_dir():
        return Path(name_or_dir)
    choices = ", ".join(shipped) or "none installed"
    raise EmotraceError(f"no model named or found at '{name_or_dir}'", hint=f"pass a bundle directory from `emotrace train` or a shipped model ({choices})")


def load_model(name_or_dir: str | Path = "default") -> ERCModel:
    """A shipped bundle by name, or any bundle directory, loaded into PyTorch."""
    return load_bundle(bundle_path(name_or_dir))
