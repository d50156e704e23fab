"""SmoothQuant (Xiao et al., 2023) for a BERT encoder, applied before ONNX Runtime's dynamic int8 quantisation.

Why: dynamic quantisation quantises each MatMul's input with one scale per tensor (the whole batch), so the few
input channels with large activations (in MiniLM up to ~15x the median channel before the FFN) set that scale and
every other channel keeps only a few int8 levels. SmoothQuant moves part of that range into the weights, which are
quantised per output channel and so absorb it cheaply: `x @ W = (x · diag(1/s)) @ (diag(s) · W)` with, per input
channel j (the paper's eq. 4),

    s_j = max|x_j|^alpha / max|W_j|^(1 - alpha)

measured on calibration inputs. The fp32 function is unchanged; only what the quantiser sees moves.

Where 1/s goes in a post-LayerNorm BERT block (the paper folds it into the preceding LayerNorm of pre-LN models;
here a LayerNorm's output is also the next residual, so that fold would change the function):
- attention output dense: its input is softmax(QKᵀ)·V, linear in V, so 1/s folds exactly into V's output rows;
- query/key/value (one Mul shared by all three), intermediate dense (LayerNorm outputs) and the FFN down
  projection (GELU output, not homogeneous): an explicit per-channel Mul before the Linear.

ALPHA = 0.8 had the best mean cosine to fp32 on MELD dev (benchmarks/int8_accuracy.py, `dev_sweep`; 0.7 is
close, 0.5 is worse than no smoothing). The int8 weights stay signed (ORT's u8s8 kernels, the fast ones). On a CPU
without VNNI (AVX2 only), those kernels can saturate their int16 pair sums when smoothing has made some weight
columns large (ORT's documented caveat): on such a machine (2026-11-23) MELD test mean cosine was 0.993 with int8
weights and 0.996 with uint8 weights; on AVX-512 VNNI (2026-12-04) both were 0.996, and uint8 weights ran at half
the speed. The benchmark keeps both variants, and its table names the CPU.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

ALPHA = 0.8
MIN_RANGE = 1e-5  # floor for channel maxima, so a dead channel gets a finite scale
MAX_DRIFT = 1e-4  # largest fp32 change smoothing may cause, relative to the output's largest value


class InputScaled(nn.Module):
    """`linear(x * inverse_scale)`: the explicit Mul SmoothQuant needs where 1/s cannot fold into the producer."""

    def __init__(self, linear: nn.Linear, inverse_scale: torch.Tensor) -> None:
        super().__init__()
        self.linear = linear
        self.register_buffer("inverse_scale", inverse_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inverse_scale)


def bert_of(module: nn.Module) -> nn.Module:
    """The BERT model inside `module` (the one module with `encoder.layer`)."""
    for candidate in module.modules():
        layers = getattr(getattr(candidate, "encoder", None), "layer", None)
        if isinstance(layers, nn.ModuleList):
            return candidate
    raise ValueError("no BERT encoder (a module with .encoder.layer) inside the module")


@torch.no_grad()
def activation_maxima(module: nn.Module, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """max |input| per input channel of every Linear in the BERT encoder, over all positions of all `batches`.

    Padded positions count too: at run time they enter the same per-tensor quantisation range.
    """
    bert = bert_of(module)
    maxima: dict[str, torch.Tensor] = {}
    handles = []

    def record(name: str) -> Any:
        def hook(_: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            channel_max = inputs[0].detach().abs().flatten(0, -2).amax(0)
            maxima[name] = torch.maximum(maxima[name], channel_max) if name in maxima else channel_max

        return hook

    for name, child in bert.encoder.named_modules():
        if isinstance(child, nn.Linear):
            handles.append(child.register_forward_pre_hook(record(name)))
    try:
        module.eval()
        for batch in batches:
            module(**batch)
    finally:
        for handle in handles:
            handle.remove()
    return maxima


def smoothing_scale(activation_max: torch.Tensor, weights: list[torch.Tensor], alpha: float) -> torch.Tensor:
    """s_j = max|x_j|^alpha / max|W_j|^(1-alpha), W_j the input channel j of every Linear sharing this input."""
    weight_max = torch.stack([w.abs().amax(0) for w in weights]).amax(0)
    scale = activation_max.clamp(min=MIN_RANGE).pow(alpha) / weight_max.clamp(min=MIN_RANGE).pow(1 - alpha)
    return scale.clamp(min=MIN_RANGE)


@torch.no_grad()
def smooth(module: nn.Module, maxima: dict[str, torch.Tensor], alpha: float = ALPHA) -> nn.Module:
    """A deep copy of `module` with every Linear of its BERT encoder smoothed; computes the same function in fp32."""
    smoothed = copy.deepcopy(module)
    for index, layer in enumerate(bert_of(smoothed).encoder.layer):
        prefix = f"layer.{index}."
        attention = layer.attention.self
        qkv = (attention.query, attention.key, attention.value)
        scale = smoothing_scale(maxima[prefix + "attention.self.query"], [linear.weight for linear in qkv], alpha)
        for linear in qkv:
            linear.weight.mul_(scale)
        attention.register_forward_pre_hook(_scale_first_argument(1 / scale))

        dense = layer.attention.output.dense
        scale = smoothing_scale(maxima[prefix + "attention.output.dense"], [dense.weight], alpha)
        dense.weight.mul_(scale)
        attention.value.weight.div_(scale[:, None])
        attention.value.bias.div_(scale)

        for owner, name in ((layer.intermediate, "intermediate.dense"), (layer.output, "output.dense")):
            linear = owner.dense
            scale = smoothing_scale(maxima[prefix + name], [linear.weight], alpha)
            linear.weight.mul_(scale)
            owner.dense = InputScaled(linear, 1 / scale)
    return smoothed


@torch.no_grad()
def smoothquant(module: nn.Module, batches: list[dict[str, torch.Tensor]], alpha: float = ALPHA) -> nn.Module:
    """A smoothed deep copy of `module`, calibrated on `batches` (its forward's keyword inputs); checks that the
    copy computes the same function as `module` on the first batch (float rounding only)."""
    smoothed = smooth(module, activation_maxima(module, batches), alpha).eval()
    expected, actual = module(**batches[0]), smoothed(**batches[0])
    drift = float((actual - expected).abs().max() / expected.abs().max().clamp(min=MIN_RANGE))
    if drift > MAX_DRIFT:
        raise RuntimeError(f"SmoothQuant changed the fp32 function (relative max difference {drift:.1e})")
    return smoothed


def tokenised_batches(
    inputs: list[str] | list[tuple[str, str]], max_length: int, batch_size: int = 32, truncate_left: bool = False
) -> list[dict[str, torch.Tensor]]:
    """MiniLM encoder inputs for calibration: texts, or (text, context) pairs with token types as at run time."""
    from emotrace.encoders.minilm import load_tokenizer

    tokenizer = load_tokenizer()
    tokenizer.truncation_side = "left" if truncate_left else "right"
    pairs = bool(inputs) and isinstance(inputs[0], tuple)
    keys = ("input_ids", "attention_mask", "token_type_ids") if pairs else ("input_ids", "attention_mask")
    batches = []
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start : start + batch_size]
        first, second = ([a for a, _ in chunk], [b for _, b in chunk]) if pairs else (chunk, None)
        encoded = tokenizer(first, second, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        batches.append({key: encoded[key] for key in keys})
    return batches


def _scale_first_argument(inverse_scale: torch.Tensor) -> Any:
    """A forward pre-hook multiplying the module's first argument (hidden states) by `inverse_scale`, so that
    query, key and value share one Mul while the un-scaled hidden states still feed the residual."""

    def hook(_: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (args[0] * inverse_scale, *args[1:])

    return hook
