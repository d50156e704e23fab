"""Training loop for single-clip classifiers (speech CNN): fixed epochs, one-cycle learning rate, class-balanced
cross-entropy, SpecAugment on every batch. Clip data sets such as EmoDB are evaluated leave-one-speaker-out,
so there is no dev split to stop on; the epoch count is part of the recipe, fixed before any test fold is seen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from emotrace.encoders.speech_cnn import SpeechCNN, spec_augment


@dataclass
class ClipTrainConfig:
    epochs: int = 40
    lr: float = 3e-3
    weight_decay: float = 1e-3
    batch_size: int = 32
    seed: int = 0


def train_clip_classifier(
    model: SpeechCNN, spectrograms: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor, config: ClipTrainConfig
) -> SpeechCNN:
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    counts = torch.bincount(targets, minlength=len(model.labels)).float()
    loss_function = nn.CrossEntropyLoss(weight=counts.sum() / (len(counts) * counts.clamp(min=1)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = int(np.ceil(len(targets) / config.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.epochs * steps_per_epoch)
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(len(targets), generator=generator)
        for start in range(0, len(order), config.batch_size):
            chosen = order[start : start + config.batch_size]
            width = int(lengths[chosen].max())
            batch = spec_augment(spectrograms[chosen, :, :width], lengths[chosen], generator)
            loss = loss_function(model(batch, lengths[chosen]), targets[chosen])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()
