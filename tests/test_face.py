"""Face input: a real photo yields a 48×48 crop; a faceless, broken, missing or huge image is a clear error."""

from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
data = pytest.importorskip("skimage.data")

from emotrace.encoders.face_detect import FACE_SIZE, crop_face, detect_faces, face_crop, load_image  # noqa: E402
from emotrace.errors import EmotraceError  # noqa: E402


def test_the_public_domain_astronaut_portrait_gives_one_centred_face(tmp_path: Path) -> None:
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    boxes = detect_faces(load_image(path))
    assert boxes, "no face found"
    x, y, width, height = boxes[0]
    assert 100 < x + width / 2 < 300 and 50 < y + height / 2 < 250
    crop = face_crop(path)
    assert crop.shape == (FACE_SIZE, FACE_SIZE) and crop.dtype == np.float32
    assert 0.0 <= crop.min() and crop.max() <= 1.0


def test_an_image_without_a_face_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "wall.png"
    cv2.imwrite(str(path), np.full((200, 300), 128, dtype=np.uint8))
    with pytest.raises(EmotraceError, match="no face found"):
        face_crop(path)


def test_broken_and_missing_images_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(EmotraceError, match="cannot decode"):
        load_image(broken)
    with pytest.raises(EmotraceError, match="image file not found"):
        load_image(tmp_path / "nope.png")


def test_large_images_are_shrunk_before_detection(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.zeros((2000, 4000), dtype=np.uint8))
    assert max(load_image(path).shape) == 1600


def test_crop_near_the_border_is_clipped_not_padded() -> None:
    gray = np.arange(100 * 100, dtype=np.uint8).reshape(100, 100)
    assert crop_face(gray, (90, 90, 20, 20)).shape == (FACE_SIZE, FACE_SIZE)


@pytest.mark.parametrize("architecture", ["cnn", "fdrl"])
def test_face_models_learn_light_from_dark_faces_and_augmentation_keeps_shapes(architecture: str) -> None:
    import torch

    from emotrace.encoders.face_cnn import FaceCNN, augment_faces
    from emotrace.encoders.face_fdrl import FaceFDRL
    from emotrace.research.clips import ClipTrainConfig, train_classifier

    rng = np.random.default_rng(0)
    crops = np.stack([np.clip(rng.normal(0.8 if i % 2 else 0.2, 0.05, (48, 48)), 0, 1) for i in range(32)]).astype(np.float32)
    targets = torch.tensor([i % 2 for i in range(32)])
    (augmented,) = augment_faces((torch.from_numpy(crops),), torch.Generator().manual_seed(0))
    assert augmented.shape == (32, 48, 48)

    def build() -> FaceCNN:
        return FaceCNN(["dark", "light"], width=4) if architecture == "cnn" else FaceFDRL(["dark", "light"], width=4, latents=3, latent_dim=8)

    model = train_classifier(build, (torch.from_numpy(crops),), targets, ClipTrainConfig(epochs=8, batch_size=8, lr=1e-2), augment_faces)
    assert (model.predict(list(crops[:6])).argmax(1) == np.array([0, 1, 0, 1, 0, 1])).all()
    assert model.embed(list(crops[:2])).shape == (2, 32)


def test_the_seed_fixes_a_training_run_whatever_the_process_did_before() -> None:
    import torch

    from emotrace.encoders.face_cnn import FaceCNN, augment_faces
    from emotrace.research.clips import ClipTrainConfig, train_classifier

    crops = torch.from_numpy(np.random.default_rng(0).random((8, 48, 48), dtype=np.float32))
    targets = torch.tensor([0, 1] * 4)
    runs = []
    for earlier_draws in (0, 100):
        torch.rand(earlier_draws)
        model = train_classifier(lambda: FaceCNN(["a", "b"], width=4), (crops,), targets, ClipTrainConfig(epochs=1, batch_size=4), augment_faces)
        runs.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(runs[0], runs[1])


def test_fdrl_auxiliary_loss_is_zero_when_latents_sit_on_their_centres_with_even_weights() -> None:
    import torch

    from emotrace.encoders.face_fdrl import FaceFDRL

    model = FaceFDRL(["a", "b"], width=4, latents=3, latent_dim=8)
    model(torch.rand(2, 48, 48))
    targets = torch.tensor([1, 0])
    assert model.auxiliary_loss(targets) > 0
    with torch.no_grad():
        model.centres[targets] = model._latent
        model._weights = torch.full_like(model._weights, 0.5)
    assert float(model.auxiliary_loss(targets).detach()) == pytest.approx(0.0, abs=1e-7)
