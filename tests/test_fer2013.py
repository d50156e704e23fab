import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from emotrace.errors import EmotraceError  # noqa: E402
from emotrace.research.fer2013 import CLASSES, load_fer2013  # noqa: E402


def _add_jpeg(bundle: tarfile.TarFile, name: str, value: int) -> None:
    ok, encoded = cv2.imencode(".jpg", np.full((48, 48), value, dtype=np.uint8))
    assert ok
    info = tarfile.TarInfo(name)
    info.size = len(encoded)
    bundle.addfile(info, io.BytesIO(encoded.tobytes()))


def test_splits_come_from_file_name_prefixes_and_labels_from_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOTRACE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "fer2013").mkdir()
    with tarfile.open(tmp_path / "fer2013" / "fer2013_images.tar.gz", "w:gz") as bundle:
        _add_jpeg(bundle, "train/happy/Training_1.jpg", 200)
        _add_jpeg(bundle, "train/sad/Training_2.jpg", 50)
        _add_jpeg(bundle, "test/angry/PublicTest_3.jpg", 100)
        _add_jpeg(bundle, "test/fear/PrivateTest_4.jpg", 150)
    images, labels = load_fer2013(tmp_path, "train")
    assert images.shape == (2, 48, 48) and images.dtype == np.uint8
    assert [CLASSES[i] for i in labels] == ["happy", "sad"]
    assert abs(int(images[0].mean()) - 200) < 3
    assert [CLASSES[i] for i in load_fer2013(tmp_path, "private_test")[1]] == ["fear"]
    assert (tmp_path / "cache" / "fer2013" / "fer2013.npz").is_file()
    with pytest.raises(EmotraceError, match="no split"):
        load_fer2013(tmp_path, "validation")
