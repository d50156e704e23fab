"""Facial-expression CNN on 48×48 grayscale crops (the FER2013 format): four double-convolution blocks, global
average pooling, a linear head; about 1.2M parameters, trainable on 2 CPU cores in about half an hour.

`embed(crops) -> (N, 256)` and `predict(crops) -> (N, labels)` probabilities, like every emotrace encoder.
Predictions average the crop and its mirror image (test-time flip, as is standard on FER2013), since training
sees both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from emotrace.encoders.conv import conv_block


class FaceCNN(nn.Module):
    def __init__(self, labels: Sequence[str], width: int = 32, dropout: float = 0.4) -> None:
        super().__init__()
        self.labels = list(labels)
        self.body = nn.Sequential(conv_block(1, width), conv_block(width, 2 * width), conv_block(2 * width, 4 * width), conv_block(4 * width, 8 * width))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(8 * width, len(self.labels))

    def features(self, crops: torch.Tensor) -> torch.Tensor:
        """(B, 48, 48) crops in [0, 1] → (B, 8·width) pooled features."""
        return self.body(((crops - 0.5) / 0.25).unsqueeze(1)).mean((2, 3))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(crops)))

    def probabilities(self, crops: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Softmax of logits / temperature, averaged over the crop and its horizontal mirror."""
        return ((self(crops) / temperature).softmax(-1) + (self(crops.flip(-1)) / temperature).softmax(-1)) / 2

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        self.eval()
        with torch.inference_mode():
            return self.features(torch.from_numpy(np.stack(crops)).float()).numpy()

    def predict(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        self.eval()
        with torch.inference_mode():
            return self.probabilities(torch.from_numpy(np.stack(crops)).float()).numpy()


def augment_faces(batch: tuple[torch.Tensor, ...], generator: torch.Generator, shift: int = 4) -> tuple[torch.Tensor, ...]:
    """Random horizontal flips and shifts of up to `shift` pixels (edge-padded), per crop."""
    (crops,) = batch
    flipped = torch.where(torch.rand(len(crops), 1, 1, generator=generator) < 0.5, crops.flip(-1), crops)
    padded = nn.functional.pad(flipped.unsqueeze(1), (shift,) * 4, mode="replicate").squeeze(1)
    offsets = torch.randint(0, 2 * shift + 1, (len(crops), 2), generator=generator)
    size = crops.shape[-1]
    return (torch.stack([padded[i, y : y + size, x : x + size] for i, (y, x) in enumerate(offsets.tolist())]),)
