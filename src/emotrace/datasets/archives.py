"""Speech corpora ship as tar archives of clips; they are unpacked once into the cache and read from there."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from emotrace.paths import cache_root


def unpacked(archive: Path, corpus: str, folder: str, suffix: str) -> Path:
    """The archive's `folder/*suffix` files, unpacked into `<cache>/<corpus>/<folder>/` once; the unpack goes to a
    staging folder renamed at the end, so a partial unpack is never mistaken for a complete one."""
    target = cache_root() / corpus / folder
    if target.is_dir():
        return target
    staging = cache_root() / corpus / ".unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(archive) as bundle:
        members = [m for m in bundle.getmembers() if m.isfile() and m.name.startswith(f"{folder}/") and m.name.endswith(suffix)]
        bundle.extractall(staging, members=members, filter="data")
    (staging / folder).rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target
