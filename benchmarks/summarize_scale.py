"""`emotrace summarize` at scale: seconds and peak memory over a 10,000-conversation batch output.

    python benchmarks/summarize_scale.py [--conversations 10000] [--format jsonl|json|csv]

Writes `--conversations` synthetic analysed conversations (seeded; 4–30 turns between an Agent and a Customer, now
and then a third speaker or an unnamed one; MELD's 7 labels with a full distribution, some abstained) in the shape
`emotrace analyze` writes, under benchmarks/runs/summarize_scale/ (git-ignored), then times `emotrace summarize` on
them in a subprocess and reads its peak resident memory from the kernel (ru_maxrss of that child, from wait4). The synthetic
outputs are written by another subprocess, so that the measured child does not start as a copy of a large parent.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RUNS  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from emotrace.io import render_predictions  # noqa: E402
from emotrace.schema import Conversation, Prediction, Utterance  # noqa: E402

LABELS = ["neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"]
WORK = RUNS / "summarize_scale"


def synthetic(index: int, rng: random.Random) -> tuple[Conversation, list[Prediction]]:
    """A conversation whose customer may grow angry or sad for a few turns and then calm down, or not."""
    turns = rng.randint(4, 30)
    mood, utterances, predictions = "neutral", [], []
    for turn in range(turns):
        speaker = "Agent" if turn % 2 == 0 else "Customer"
        if rng.random() < 0.03:
            speaker = rng.choice(["Supervisor", ""])
        if speaker == "Customer" and rng.random() < 0.25:
            mood = rng.choice(["neutral", "anger", "sadness", "joy", "neutral"])
        label = mood if speaker == "Customer" else rng.choice(["neutral", "neutral", "joy", "surprise"])
        weights = [rng.random() * 0.2 for _ in LABELS]
        weights[LABELS.index(label)] += rng.uniform(0.3, 1.5)
        total = sum(weights)
        utterances.append(Utterance(speaker, f"turn {turn} of conversation {index}", start=turn * 4.0, end=turn * 4.0 + 3.5))
        predictions.append(Prediction.from_probabilities(LABELS, [w / total for w in weights], abstain_below=0.3))
    return Conversation(f"call-{index:05d}", utterances), predictions


def write_outputs(count: int, format: str) -> Path:
    """The analysed conversations, written the way analyze writes them (in chunks, to keep this script small in memory)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"predictions.{format}"
    rng = random.Random(0)
    with path.open("w", encoding="utf-8") as handle:
        if format == "json":
            handle.write("[\n")
        for start in range(0, count, 500):
            pairs = [synthetic(index, rng) for index in range(start, min(start + 500, count))]
            text = render_predictions([c for c, _ in pairs], [p for _, p in pairs], format)
            if format == "json":
                text = text.strip()[1:-1].strip() + (",\n" if start + 500 < count else "\n")
            elif format == "csv" and start > 0:
                text = text.split("\n", 1)[1]
            handle.write(text)
        if format == "json":
            handle.write("]\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--format", choices=["jsonl", "json", "csv"], default="jsonl")
    parser.add_argument("--write-only", action="store_true", help=argparse.SUPPRESS)  # the writing subprocess
    args = parser.parse_args()
    if args.write_only:
        write_outputs(args.conversations, args.format)
        return
    command = [sys.executable, __file__, "--conversations", str(args.conversations), "--format", args.format, "--write-only"]
    subprocess.run(command, check=True)
    source = WORK / f"predictions.{args.format}"
    page = WORK / "summary.html"
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "emotrace", "summarize", str(source), "-o", str(page)])
    _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage, not the writer's
    seconds = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"emotrace summarize failed (status {status})")
    peak_mib = usage.ru_maxrss / 1024  # Linux: KiB
    summary: dict[str, Any] = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    print(
        json.dumps(
            {
                "conversations": summary["conversations"],
                "turns": summary["turns"],
                "format": args.format,
                "input_mib": round(source.stat().st_size / 2**20, 1),
                "seconds": round(seconds, 2),
                "peak_rss_mib": round(peak_mib, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
