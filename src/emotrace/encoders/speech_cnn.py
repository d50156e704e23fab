"""A small CNN that classifies log-mel spectrograms as images, with SpecAugment-style time and frequency masking
(Park et al., 2019) during training: the image-model-on-spectrograms approach of the vocal-burst work.

`embed(waves) -> (N, 128)` and `predict(waves) -> (N, labels)` probabilities, like every emotrace encoder.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from emotrace.encoders.audio import log_mel, trim_silence
from emotrace.encoders.conv import conv_block


class SpeechCNN(nn.Module):
    def __init__(self, labels: Sequence[str], n_mels: int = 64, width: int = 24, dropout: float = 0.3) -> None:
        super().__init__()
        self.labels = list(labels)
        self.n_mels = n_mels
        self.body = nn.Sequential(conv_block(1, width), conv_block(width, 2 * width), conv_block(2 * width, 4 * width), conv_block(4 * width, 128))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(128, len(self.labels))

    def features(self, spectrograms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, T) log-mels, each normalised over its own frames → (B, 128) masked-mean embeddings."""
        frames = torch.arange(spectrograms.shape[-1])[None, :] < lengths[:, None]
        mask = frames[:, None, :].float()
        count = mask.sum(-1, keepdim=True).clamp(min=1)
        mean = (spectrograms * mask).sum(-1, keepdim=True) / count
        std = (((spectrograms - mean) ** 2 * mask).sum(-1, keepdim=True) / count).sqrt().clamp(min=1e-3)
        hidden = self.body((((spectrograms - mean) / std) * mask).unsqueeze(1))
        pooled_frames = (lengths // 16).clamp(min=1)
        time_mask = (torch.arange(hidden.shape[-1])[None, :] < pooled_frames[:, None]).float()[:, None, None, :]
        return (hidden * time_mask).sum((2, 3)) / (time_mask.sum((2, 3)) * hidden.shape[2])

    def forward(self, spectrograms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(spectrograms, lengths)))

    def embed(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        self.eval()
        with torch.inference_mode():
            return self.features(*spectrogram_batch(waves, self.n_mels)).numpy()

    def predict(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        self.eval()
        with torch.inference_mode():
            return self(*spectrogram_batch(waves, self.n_mels)).softmax(-1).numpy()


def spectrogram_batch(waves: Sequence[np.ndarray], n_mels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded log-mels of the trimmed waves, (B, n_mels, T_max), and their true frame counts."""
    mels = [torch.from_numpy(log_mel(trim_silence(wave), n_mels)) for wave in waves]
    lengths = torch.tensor([m.shape[-1] for m in mels])
    batch = torch.zeros(len(mels), n_mels, int(lengths.max()))
    for row, mel in enumerate(mels):
        batch[row, :, : mel.shape[-1]] = mel
    return batch, lengths


def augment_spectrograms(batch: tuple[torch.Tensor, ...], generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Training-time view of a batch: cut the padding to the longest clip, then SpecAugment."""
    spectrograms, lengths = batch
    width = int(lengths.max())
    return spec_augment(spectrograms[:, :, :width], lengths, generator), lengths


def spec_augment(spectrograms: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator, masks: int = 2) -> torch.Tensor:
    """Zero `masks` random frequency bands (≤ 8 mels) and time spans (≤ 10% of each clip) per example."""
    augmented = spectrograms.clone()
    n_mels = spectrograms.shape[1]
    for row in range(len(augmented)):
        for _ in range(masks):
            width = int(torch.randint(0, 9, (1,), generator=generator))
            start = int(torch.randint(0, max(1, n_mels - width), (1,), generator=generator))
            augmented[row, start : start + width, :] = augmented[row].mean()
            span = int(torch.randint(0, max(1, int(lengths[row]) // 10), (1,), generator=generator))
            begin = int(torch.randint(0, max(1, int(lengths[row]) - span), (1,), generator=generator))
            augmented[row, :, begin : begin + span] = augmented[row].mean()
    return augmented
