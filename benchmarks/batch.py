"""Batch analysis at scale: conversations/s and utterances/s of `--engine dask` (a local cluster) and `--engine
local` (a process pool), and a kill-and-resume check, on generated conversations.

    python benchmarks/batch.py [--conversations 10000] [--files 100] [--workers 2] [--model default]

Generates `--conversations` conversations (seeded, 4–8 utterances each, from templates) as `--files` JSONL files
under benchmarks/runs/batch/ (git-ignored), analyses them with each engine from a cold start (pool or cluster,
model loads and a fresh embedding cache included), then starts `emotrace analyze --engine dask` as a subprocess,
kills it once part of the shards are written, reruns it, and checks that the rerun skipped those shards and
that every input ends up with a complete output. The full size (10,000) writes benchmarks/results/batch.json
and the README `batch` block; a smaller run is a smoke test, written to benchmarks/runs/batch/ only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, RUNS, cpu_description, update_readme, write_text_atomic  # noqa: E402

FULL_SIZE = 10_000
WORK = RUNS / "batch"
SPEAKERS = [("Agent", "Customer"), ("Maya", "Tom"), ("Dr. Lee", "Patient"), ("Interviewer", "Candidate"), ("Sam", "Priya"), ("Host", "Guest")]
THINGS = ["the order", "my laptop", "the invoice", "the report", "our flight", "the new phone", "the contract", "the heating", "my account", "the package"]
TIMES = ["this morning", "yesterday", "last week", "on Monday", "twice now", "since March", "an hour ago", "all weekend"]
TURNS = {
    "neutral": [
        "I'm calling about {thing}.",
        "Can you check {thing} for me?",
        "It was {time}, I think.",
        "Let me look that up.",
        "The reference is on the email.",
    ],
    "joy": [
        "That's wonderful, thank you so much!",
        "Great, {thing} works perfectly now.",
        "I'm really happy with how this went.",
        "Oh, that's brilliant news!",
    ],
    "anger": [
        "This is the third time {thing} has failed!",
        "I've been waiting {time} and nobody called back.",
        "Honestly, this is unacceptable.",
        "Why does nobody fix {thing}?",
    ],
    "sadness": [
        "I was really counting on {thing}.",
        "It's been a hard week, to be honest.",
        "I just feel let down, {time} too.",
        "That's a shame, I'd hoped it would work.",
    ],
    "surprise": ["Wait, {thing} was sent already?", "Really? I had no idea!", "Oh! I didn't expect a call {time}.", "You're kidding, it's free?"],
    "fear": ["I'm worried {thing} got lost.", "What if it happens again?", "I'm scared I'll lose my data.", "Is my account safe?"],
    "disgust": ["The food in that box was rotten.", "That's frankly disgusting service.", "Ugh, {thing} smelled awful when it arrived."],
}


def generate(folder: Path, conversations: int, files: int, seed: int) -> None:
    """`conversations` conversations of 4–8 turns split evenly over `files` JSONL files (skipped when present)."""
    done = folder / ".complete"
    if done.is_file():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    per_file = -(-conversations // files)
    for index in range(files):
        rows = []
        for number in range(index * per_file, min((index + 1) * per_file, conversations)):
            speakers = rng.choice(SPEAKERS)
            turns = []
            for turn in range(rng.randint(4, 8)):
                template = rng.choice(TURNS[rng.choice(list(TURNS))])
                turns.append({"speaker": speakers[turn % 2], "text": template.format(thing=rng.choice(THINGS), time=rng.choice(TIMES))})
            rows.append(json.dumps({"id": f"c{number:05d}", "utterances": turns}))
        if rows:
            (folder / f"part-{index:03d}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    done.touch()


def check_outputs(inputs: Path, out_dir: Path) -> dict[str, Any]:
    """One output per input holding every input conversation, in input order."""
    complete = True
    for source in sorted(inputs.glob("*.jsonl")):
        output = out_dir / source.name
        expected = [json.loads(line)["id"] for line in source.read_text(encoding="utf-8").splitlines()]
        found = [json.loads(line)["id"] for line in output.read_text(encoding="utf-8").splitlines()] if output.is_file() else []
        complete = complete and found == expected
    return {"complete": complete, "outputs": len(list(out_dir.glob("*.jsonl"))), "stray_temporary_files": len(list(out_dir.glob(".*.tmp")))}


def engine_run(engine: str, inputs: Path, spec: Any, workers: int) -> dict[str, Any]:
    """A cold run: fresh outputs and embedding cache, so neither engine profits from the other's work."""
    from emotrace.inference.batch import run_batch

    out_dir = WORK / f"out-{engine}"
    shutil.rmtree(out_dir, ignore_errors=True)
    from emotrace.paths import cache_root

    exports = cache_root() / "onnx"  # model exports (`emotrace export`) are set-up, not work: every run sees them
    cache = WORK / f"cache-{engine}"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    if exports.is_dir():
        (cache / "onnx").symlink_to(exports.resolve())
    os.environ["EMOTRACE_CACHE"] = str(cache)
    report = run_batch([inputs], out_dir, spec, engine=engine, workers=workers, progress=sys.stderr.isatty())
    if report.failures:
        raise SystemExit(f"{engine}: {len(report.failures)} shards failed, e.g. {report.failures[0]}")
    return {
        "seconds": report.seconds,
        "conversations_per_second": report.conversations / report.seconds,
        "utterances_per_second": report.utterances / report.seconds,
        **check_outputs(inputs, out_dir),
    }


def kill_and_resume(inputs: Path, command: list[str], shards: int) -> dict[str, Any]:
    """Kill a dask run (driver, scheduler and workers: its whole process group) once a third of the shards are
    written, rerun it, and check the rerun skipped them and the outputs end up complete."""
    out_dir = WORK / "out-resume"
    shutil.rmtree(out_dir, ignore_errors=True)
    command = [*command, "--out-dir", str(out_dir)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    target = max(1, shards // 3)
    while run.poll() is None and len(list(out_dir.glob(".*.done"))) < target:
        time.sleep(0.2)
    killed = run.poll() is None
    if killed:
        os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    done_when_killed = len(list(out_dir.glob(".*.done")))
    started = time.perf_counter()
    rerun = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - started
    skipped = re.search(r"skipped (\d+) of (\d+) shards", rerun.stderr)
    if rerun.returncode != 0 or skipped is None:
        raise SystemExit(f"the rerun failed: {rerun.stderr.strip()[-500:]}")
    return {
        "killed_while_running": killed,
        "shards": int(skipped.group(2)),
        "done_when_killed": done_when_killed,
        "skipped_on_rerun": int(skipped.group(1)),
        "rerun_seconds": seconds,
        **check_outputs(inputs, out_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=FULL_SIZE)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", default="default")
    parser.add_argument("--backend", default="torch-fp32", help="the text model's runtime (torch-fp32, as in benchmarks/throughput.py)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fresh", action="store_true", help="rerun the engines even when their results are cached")
    args = parser.parse_args()

    from emotrace.inference.pipeline import PipelineOptions
    from emotrace.inference.shards import BatchSpec

    inputs = WORK / f"inputs-{args.conversations}-{args.files}-seed{args.seed}"
    generate(inputs, args.conversations, args.files, args.seed)
    files = len(list(inputs.glob("*.jsonl")))
    utterances = sum(len(json.loads(line)["utterances"]) for path in inputs.glob("*.jsonl") for line in path.read_text(encoding="utf-8").splitlines())
    spec = BatchSpec(PipelineOptions(model=args.model, backend=args.backend))
    engines = {}
    for engine in ("dask", "local"):  # each engine's run is cached, so an interrupted benchmark redoes only what is missing
        cached = WORK / f"engine-{engine}-{args.conversations}-{args.files}-seed{args.seed}-{args.model}-{args.backend}-{args.workers}.json"
        if args.fresh or not cached.is_file():
            write_text_atomic(cached, json.dumps(engine_run(engine, inputs, spec, args.workers)) + "\n")
        engines[engine] = json.loads(cached.read_text(encoding="utf-8"))
    identical = all((WORK / "out-dask" / p.name).read_bytes() == p.read_bytes() for p in (WORK / "out-local").glob("*.jsonl"))
    command = [sys.executable, "-m", "emotrace", "analyze", str(inputs), "--engine", "dask", "--workers", str(args.workers)]
    command += ["--model", args.model, "--backend", args.backend]
    result = {
        "conversations": args.conversations,
        "files": files,
        "utterances": utterances,
        "model": args.model,
        "backend": args.backend,
        "workers": args.workers,
        "engines": engines,
        "dask_and_local_outputs_identical": identical,
        "resume": kill_and_resume(inputs, command, files),
        "machine": cpu_description(),
        "command": " ".join(["python", "benchmarks/batch.py", *sys.argv[1:]]),
        "date": date.today().isoformat(),
    }
    full = args.conversations == FULL_SIZE
    write_text_atomic((RESULTS if full else WORK) / f"batch{'' if full else f'-{args.conversations}'}.json", json.dumps(result, indent=2) + "\n")
    block = readme_block(result)
    if full:
        update_readme("batch", block)
    print(block)


def readme_block(result: dict[str, Any]) -> str:
    resume = result["resume"]
    rows = [
        f"| `--engine {name}` | {run['seconds']:.0f} s | {run['conversations_per_second']:.1f} | {run['utterances_per_second']:.0f} |"
        for name, run in result["engines"].items()
    ]
    return "\n".join(
        [
            f"{result['conversations']:,} generated conversations ({result['utterances']:,} utterances) in {result['files']} JSONL files, "
            f"`{result['model']}` model ({result['backend']}), {result['workers']} workers; times from a cold start (pool or cluster, model loads).",
            "",
            "| engine | wall time | conversations/s | utterances/s |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Kill and resume: a dask run killed with {resume['done_when_killed']} of {resume['shards']} shards written; the rerun skipped "
            f"{resume['skipped_on_rerun']} and finished in {resume['rerun_seconds']:.0f} s with every output complete: {resume['complete']}. "
            f"{result['machine']}. Generated by `{result['command']}` on {result['date']}.",
        ]
    )


if __name__ == "__main__":
    main()
