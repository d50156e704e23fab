"""What every benchmark script shares: where things are, which run is best on dev, and the generated README blocks."""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "benchmarks" / "runs"
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_DATA = os.environ.get("EMOTRACE_DATA") or str(ROOT.parent / "shared" / "datasets")
sys.path.insert(0, str(ROOT / "src"))

from emotrace.io.atomic import write_text_atomic  # noqa: E402


def best_run_by_dev(runs: Path, dataset: str, model: str) -> tuple[Path, dict[Path, float]] | None:
    """The finished run with the best dev weighted F1 (test never takes part), and every finished run's dev score."""
    finished = [run for run in sorted((runs / dataset / model).glob("seed*")) if (run / "training.json").is_file()]
    if not finished:
        return None
    dev_f1 = {run: json.loads((run / "training.json").read_text(encoding="utf-8"))["best_dev"]["weighted_f1"] for run in finished}
    return max(finished, key=lambda run: dev_f1[run]), dev_f1


def mean_std(values: list[float]) -> str:
    """ "mean ± std" over seeds (sample std); a single run has no spread to report."""
    return f"{statistics.fmean(values):.1f}" + (f" ± {statistics.stdev(values):.1f}" if len(values) > 1 else "")


def cpu_description() -> str:
    """Architecture, cores and the int8 instructions ONNX Runtime can use: int8 speed and even int8 accuracy depend on
    them (without VNNI, ORT's u8s8 kernel can saturate), and the machine under a benchmark changes between sessions."""
    import platform

    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    named = [
        label
        for flag, label in (("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_vnni", "AVX-512 VNNI"), ("avx_vnni", "AVX-VNNI"), ("amx_int8", "AMX-INT8"))
        if flag in flags
    ]
    return f"{platform.machine()}, {os.cpu_count()} cores" + (f" ({', '.join(named)})" if named else "")


def update_readme(name: str, block: str, readme: Path = ROOT / "README.md") -> None:
    """Replace the README block between `<!-- results:NAME:start -->` and `<!-- results:NAME:end -->`."""
    start, end = f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if start not in text or end not in text:
        print(f"{readme} has no {start} … {end} block; table not inserted", file=sys.stderr)
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    write_text_atomic(readme, f"{head}{start}\n{block}\n{end}{tail}")


def ship_bundle(model: Any, name: str, metadata: dict[str, Any], card: str, half: bool = False) -> Path:
    """Write a bundle into the package (`src/emotrace/bundles/NAME`), staged beside it and swapped in whole."""
    import shutil

    from emotrace.models.bundle import save_bundle

    target = ROOT / "src" / "emotrace" / "bundles" / name
    staging = target.with_name(f"{name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    save_bundle(model, staging, metadata, card, half)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
