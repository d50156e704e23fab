"""Facial expression per utterance: the utterance's image, or the frames of its video span, through a FER2013-trained
CNN (`face-cnn`) or its FDRL variant (`face-fdrl`).

A video utterance's prediction is the mean of its frames' probabilities (frames without a face are skipped and
counted); the model returns the log of that mean as its logits, so a bundle's temperature acts on it like on any
model. Faces are found once per (file, span) and memoised, since fusion checks the media before predicting; the
memo keeps the last FACES_MEMO files' crops (48×48 float32, ~9 kB per face found), so a service's memory stays flat.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from emotrace.encoders.face_cnn import FaceCNN
from emotrace.encoders.face_detect import FaceSample, image_faces, video_faces
from emotrace.encoders.face_fdrl import FaceFDRL
from emotrace.errors import EmotraceError
from emotrace.models.base import ERCModel, ModelOutput
from emotrace.models.registry import register_model
from emotrace.schema import Conversation, Utterance

FACE_MEDIA = ("image", "video")
FACE_FPS = 3.0  # video frames looked at per second
FACES_MEMO = 64  # (file, span) entries: more than the face utterances of most conversations, which fusion reads twice


@lru_cache(maxsize=FACES_MEMO)
def faces_of_file(kind: str, path: str, modified: float, start: float | None, end: float | None, fps: float) -> FaceSample:
    return image_faces(path) if kind == "image" else video_faces(path, start, end, fps)


def utterance_faces(utterance: Utterance, fps: float = FACE_FPS) -> FaceSample:
    """The faces of the utterance's image, else of its video span; EmotraceError if there are none."""
    kind = next((kind for kind in FACE_MEDIA if kind in utterance.media), None)
    if kind is None:
        raise EmotraceError("has no image or video", hint='face models need "media": {"image": PATH} or {"video": PATH}')
    path = utterance.media[kind]
    modified = Path(path).stat().st_mtime if Path(path).is_file() else 0.0
    return faces_of_file(kind, path, modified, utterance.start, utterance.end, fps)


class FaceExpression(ERCModel):
    media = FACE_MEDIA

    def __init__(self, labels: list[str], architecture: str = "cnn", width: int = 32, fps: float = FACE_FPS) -> None:
        super().__init__(labels, None)
        self.fps = fps
        self.network = FaceCNN(labels, width) if architecture == "cnn" else FaceFDRL(labels, width)

    def load_media(self, utterance: Utterance) -> FaceSample:
        return utterance_faces(utterance, self.fps)

    def media_summary(self, loaded: FaceSample) -> dict[str, int]:
        return {"frames": loaded.frames, "frames_without_face": loaded.faceless_frames}

    def prepare(self, conversations: list[Conversation], progress: bool = False) -> list[dict[str, Any]]:
        return [self.prepare_loaded(conversation, self.conversation_media(conversation)) for conversation in conversations]

    def prepare_loaded(self, conversation: Conversation, loaded: list[FaceSample]) -> dict[str, Any]:
        return {
            "crops": torch.cat([torch.from_numpy(sample.crops) for sample in loaded]),
            "counts": torch.tensor([len(sample.crops) for sample in loaded]),
        }

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"crops": torch.cat([item["crops"] for item in items]), "counts": torch.cat([item["counts"] for item in items])}

    def forward(self, batch: dict[str, Any]) -> ModelOutput:
        frames = self.network.probabilities(batch["crops"])
        owner = torch.repeat_interleave(torch.arange(len(batch["counts"])), batch["counts"])
        totals = torch.zeros(len(batch["counts"]), frames.shape[1]).index_add_(0, owner, frames)
        return ModelOutput((totals / batch["counts"][:, None]).clamp_min(1e-8).log())


@register_model("face-cnn", "faces: 4-block CNN on 48×48 crops, trained on FER2013 (fitted by benchmarks/fer2013.py)")
def face_cnn(**args: Any) -> ERCModel:
    return FaceExpression(architecture="cnn", **args)


@register_model("face-fdrl", "faces: FDRL (feature decomposition and reconstruction) on the face CNN, trained on FER2013")
def face_fdrl(**args: Any) -> ERCModel:
    return FaceExpression(architecture="fdrl", **args)
