"""The speed benchmark measures what it says: the same predictions from torch and ONNX fp32, ratios against `plain`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import synthetic_conversations

from emotrace.export.text_model import export_bundle
from emotrace.models.bundle import save_bundle
from emotrace.models.registry import create_model
from emotrace.research.speed import cold_start, measure_in_process, summarise


def test_torch_and_onnx_fp32_pipelines_score_the_same(tmp_path: Path) -> None:
    bundle = save_bundle(create_model("bigru", labels=["joy", "anger", "neutral"]).eval(), tmp_path / "bigru", {}, "# test\n")
    export_bundle(bundle)
    conversations = synthetic_conversations(12, seed=3)
    torch_run = measure_in_process("torch-fp32", str(bundle), conversations)
    onnx_run = measure_in_process("onnx-fp32", str(bundle), conversations)
    assert torch_run["utterances"] == onnx_run["utterances"] == sum(len(c) for c in conversations)
    assert onnx_run["weighted_f1"] == pytest.approx(torch_run["weighted_f1"], abs=1e-9)
    assert onnx_run["utterances_per_second"] > 0 and onnx_run["peak_rss_mb"] > 50
    assert torch_run["exit_rate"] is None


def test_summary_takes_the_median_round_and_ratios_to_plain() -> None:
    def run(name: str, speed: float, f1: float) -> dict:
        return {"pipeline": name, "utterances_per_second": speed, "weighted_f1": f1, "peak_rss_mb": 100.0, "load_seconds": 1.0, "exit_rate": None}

    table = summarise([run("plain", 100, 57.0), run("plain", 300, 57.0), run("plain", 120, 57.0), run("onnx-int8", 500, 56.6), run("onnx-int8", 480, 56.6)])
    assert table["plain"]["utterances_per_second"] == 120 and table["plain"]["utterances_per_second_range"] == [100, 300]
    assert table["onnx-int8"]["speedup_vs_plain"] == pytest.approx(490 / 120)
    assert table["onnx-int8"]["weighted_f1_change_vs_plain"] == pytest.approx(-0.4)


def test_cold_start_is_time_to_the_first_output_line() -> None:
    seconds = cold_start([sys.executable, "-c", "import time; print('first', flush=True); time.sleep(3)"])
    assert 0 < seconds < 2.5
