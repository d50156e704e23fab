"""Training loop for single-input classifiers (speech CNN on log-mels, face CNN on 48×48 crops): fixed epochs,
one-cycle learning rate (Smith & Topin, 2019), optional class-balanced cross-entropy plus any model-specific
`auxiliary_loss(targets)`, a modality-specific augmentation on every batch, and an optional per-epoch hook
(e.g. to keep the best epoch on a validation split).

The loop builds the model itself, after seeding, so that `seed` fixes the initial weights as well as the batch
order and augmentation: a run then does not depend on what the process did before it (an earlier fold, an
earlier seed, or a cache hit that skipped them).

Clip data sets such as EmoDB are evaluated leave-one-speaker-out, so there is no dev split to stop on: the epoch
count is part of the recipe, fixed before any test fold is seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
from torch import nn

Augment = Callable[[tuple[torch.Tensor, ...], torch.Generator], tuple[torch.Tensor, ...]]
Model = TypeVar("Model", bound=nn.Module)


@dataclass
class ClipTrainConfig:
    epochs: int = 40
    lr: float = 3e-3
    weight_decay: float = 1e-3
    batch_size: int = 32
    seed: int = 0
    balanced: bool = True


def train_classifier(
    build_model: Callable[[], Model],
    inputs: tuple[torch.Tensor, ...],
    targets: torch.Tensor,
    config: ClipTrainConfig,
    augment: Augment,
    after_epoch: Callable[[int, Model], None] | None = None,
) -> Model:
    """`build_model()(*augment(inputs[batch]))` → logits; every tensor in `inputs` is indexed by example on its first axis."""
    torch.manual_seed(config.seed)
    model = build_model()
    generator = torch.Generator().manual_seed(config.seed)
    classes = int(targets.max()) + 1
    weight = None
    if config.balanced:
        counts = torch.bincount(targets, minlength=classes).float()
        weight = counts.sum() / (len(counts) * counts.clamp(min=1))
    loss_function = nn.CrossEntropyLoss(weight=weight)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = int(np.ceil(len(targets) / config.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.epochs * steps_per_epoch)
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(targets), generator=generator)
        for start in range(0, len(order), config.batch_size):
            chosen = order[start : start + config.batch_size]
            batch = augment(tuple(tensor[chosen] for tensor in inputs), generator)
            loss = loss_function(model(*batch), targets[chosen])
            if hasattr(model, "auxiliary_loss"):
                loss = loss + model.auxiliary_loss(targets[chosen])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        if after_epoch is not None:
            model.eval()
            after_epoch(epoch, model)
    return model.eval()
