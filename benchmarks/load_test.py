"""Load test of `emotrace serve` over HTTP: throughput, latency, refusals and server memory under concurrent clients.

    python benchmarks/load_test.py [--duration 60] [--concurrency 1 8 64] [--overload-queue 4]

Starts `python -m emotrace serve` as a subprocess on 127.0.0.1 and drives it from this process with asyncio httpx
clients, each sending one 6–10-utterance conversation per request (MELD test dialogues when the data is found,
else windows of the bundled examples) and waiting for the answer before sending the next. Per concurrency level
it reports requests/s, utterances/s, p50/p99 latency of successful requests, non-200 answers, 503s, requests per
inference batch (micro-batching) and the server's RSS at the start and end and its peak (VmHWM, reset per phase).
Each server is warmed up with 16 concurrent requests first. A last phase restarts the server with a tiny
--max-queue and overloads it: the excess must come back as 503s with Retry-After (which the clients honour),
not as failures, and memory must stay flat.
Writes benchmarks/results/load_test.json, a screenshot of the web page (benchmarks/results/web_page.png,
needs Chromium) and the README load_test block.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, ROOT, RUNS, cpu_description, update_readme, write_text_atomic  # noqa: E402

LOGS = RUNS / "load_test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--max-queue", type=int, default=128, help="the server's queue in the concurrency phases (above the highest concurrency: no refusals)")
    parser.add_argument("--overload-queue", type=int, default=4, help="the server's queue in the overload phase")
    parser.add_argument("--overload-concurrency", type=int, default=64)
    parser.add_argument("--model", default="default")
    parser.add_argument("--backend", default="auto", help="the server's --backend (auto: the ONNX fp32 export when the model has one)")
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    conversations, source = sample_conversations(args.data_dir, args.seed)
    LOGS.mkdir(parents=True, exist_ok=True)
    phases = []
    backend = resolved_backend(args.model, args.backend)
    with serve(args.model, backend, args.max_queue, "main") as (url, pid, startup_seconds):
        asyncio.run(warm_up(url, conversations))
        for concurrency in args.concurrency:
            phases.append(asyncio.run(run_phase(url, pid, concurrency, args.duration, conversations)))
            print(summary_line(phases[-1]), flush=True)
        screenshot = save_screenshot(url)
    with serve(args.model, backend, args.overload_queue, "overload") as (url, pid, _):
        asyncio.run(warm_up(url, conversations))
        overload = asyncio.run(run_phase(url, pid, args.overload_concurrency, args.duration, conversations))
        overload["max_queue"] = args.overload_queue
        print("overload: " + summary_line(overload), flush=True)

    result = {
        "command": " ".join(["python", "benchmarks/load_test.py", *sys.argv[1:]]),
        "date": date.today().isoformat(),
        "machine": cpu_description(),
        "model": args.model,
        "backend": backend,
        "conversations": source,
        "duration_seconds": args.duration,
        "server_max_queue": args.max_queue,
        "server_startup_seconds": startup_seconds,
        "phases": phases,
        "overload": overload,
        "screenshot": screenshot,
    }
    write_text_atomic(RESULTS / "load_test.json", json.dumps(result, indent=2) + "\n")
    update_readme("load_test", readme_block(result))
    print(readme_block(result))


def sample_conversations(data_dir: str, seed: int) -> tuple[list[dict[str, Any]], str]:
    """6–10-utterance request bodies: the openings of MELD test dialogues if the data is there, else windows of the examples."""
    from emotrace.io import read_conversations

    rng = random.Random(seed)
    try:
        from emotrace.datasets import load_dataset

        dialogues, source = load_dataset("meld", "test", data_dir), "MELD test dialogues (first 6–10 utterances)"
        windows = [d.utterances[: rng.randint(6, 10)] for d in dialogues if len(d) >= 6]
    except Exception as error:  # no benchmark data here: the bundled examples still make realistic requests
        print(f"MELD not found ({error}); using the bundled examples", file=sys.stderr)
        examples = [c for name in ("support_call.txt", "team_meeting.jsonl") for c in read_conversations(ROOT / "examples" / name)]
        windows = [c.utterances[start : start + size] for c in examples for size in range(6, 11) for start in range(len(c) - size + 1)]
        source = "windows of examples/support_call.txt and team_meeting.jsonl"
    bodies = [{"id": f"load{i}", "utterances": [{"speaker": u.speaker, "text": u.text} for u in window]} for i, window in enumerate(windows)]
    return bodies, f"{source}: {len(bodies)} conversations, {statistics.fmean(len(b['utterances']) for b in bodies):.1f} utterances on average"


def resolved_backend(model: str, backend: str) -> str:
    """What the server will run, named in the results: `auto` is the ONNX fp32 export when one exists, else torch."""
    from emotrace.export.runtime import has_export

    if backend != "auto":
        return backend
    return "onnx-fp32" if has_export(model, "onnx-fp32") else "torch-fp32"


@contextmanager
def serve(model: str, backend: str, max_queue: int, tag: str) -> Iterator[tuple[str, int, float]]:
    """`python -m emotrace serve` on a free local port, until it answers /healthz; stopped (SIGTERM) afterwards."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])), "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "emotrace",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-queue",
        str(max_queue),
        "--model",
        model,
        "--backend",
        backend,
    ]
    log = (LOGS / f"server-{tag}.log").open("w")
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited with status {process.returncode}; see {log.name}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > 300:
                raise SystemExit(f"the server did not answer /healthz within 300 s; see {log.name}")
            time.sleep(0.2)
        yield url, process.pid, time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def warm_up(url: str, conversations: list[dict[str, Any]], requests: int = 16) -> None:
    """Concurrent requests before measuring, so a phase's memory shows the steady state, not a fresh process
    allocating its first large batch (the queue may refuse some: that is fine here)."""
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        await asyncio.gather(*(client.post("/v1/analyze", json={"conversations": [c]}) for c in conversations[:requests]))


def memory_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1)) / 1024  # type: ignore[union-attr]


def reset_peak(pid: int) -> bool:
    """Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0), so each phase reports its own peak."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


async def batches_run(client: Any) -> float:
    text = (await client.get("/metrics")).text
    return float(re.search(r"^emotrace_inference_batches_total (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]


async def run_phase(url: str, pid: int, concurrency: int, duration: float, conversations: list[dict[str, Any]]) -> dict[str, Any]:
    """`concurrency` clients, each sending one conversation after another for `duration` seconds."""
    import httpx

    latencies: list[float] = []
    statuses: dict[str, int] = {}
    utterances = 0
    rss: list[float] = []
    limits = httpx.Limits(max_connections=concurrency + 1, max_keepalive_connections=concurrency + 1)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:
        batches_before = await batches_run(client)
        peak_reset = reset_peak(pid)
        rss_start = memory_mb(pid, "VmRSS")
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + duration

        async def one_client(seed: int) -> None:
            nonlocal utterances
            rng = random.Random(seed)
            while loop.time() < stop_at:
                conversation = rng.choice(conversations)
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/analyze", json={"conversations": [conversation]})
                    status = str(response.status_code)
                except httpx.HTTPError as error:
                    status, response = type(error).__name__, None
                statuses[status] = statuses.get(status, 0) + 1
                if status == "200":
                    latencies.append(time.perf_counter() - started)
                    utterances += len(conversation["utterances"])
                elif status == "503" and response is not None:
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))

        async def sample_memory() -> None:
            while loop.time() < stop_at:
                rss.append(memory_mb(pid, "VmRSS"))
                await asyncio.sleep(1.0)

        started = time.perf_counter()
        await asyncio.gather(sample_memory(), *(one_client(seed) for seed in range(concurrency)))
        elapsed = time.perf_counter() - started
        batches = await batches_run(client) - batches_before
    ok = statuses.get("200", 0)
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "requests": sum(statuses.values()),
        "ok": ok,
        "errors": sum(statuses.values()) - ok,
        "rejected_503": statuses.get("503", 0),
        "statuses": statuses,
        "requests_per_second": round(ok / elapsed, 2),
        "utterances_per_second": round(utterances / elapsed, 1),
        "latency_p50_ms": round(1000 * quantiles[49], 1) if latencies else None,
        "latency_p99_ms": round(1000 * quantiles[98], 1) if latencies else None,
        "requests_per_batch": round(ok / batches, 2) if batches else None,
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(memory_mb(pid, "VmRSS"), 1),
        "peak_rss_mb": round(memory_mb(pid, "VmHWM"), 1),
        "peak_is_per_phase": peak_reset,
        "rss_samples_mb": [round(value, 1) for value in rss],
    }


def summary_line(phase: dict[str, Any]) -> str:
    return (
        f"concurrency {phase['concurrency']}: {phase['requests_per_second']} req/s, {phase['utterances_per_second']} utt/s, "
        f"p50 {phase['latency_p50_ms']} ms, p99 {phase['latency_p99_ms']} ms, {phase['errors']} non-200 ({phase['rejected_503']} × 503), "
        f"{phase['requests_per_batch']} req/batch, RSS {phase['rss_start_mb']} → {phase['rss_end_mb']} MB (peak {phase['peak_rss_mb']})"
    )


def save_screenshot(url: str) -> str | None:
    """The web page after analysing the support call with explanations, one turn opened; None without Chromium."""
    chromium, chromedriver = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        print("selenium not installed; no screenshot", file=sys.stderr)
        return None
    if not (chromium.is_file() and chromedriver.is_file()):
        print(f"{chromium} or {chromedriver} missing; no screenshot", file=sys.stderr)
        return None
    import tempfile

    from emotrace.io import read_conversations

    call = read_conversations(ROOT / "examples" / "support_call.txt")[0]
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    with tempfile.TemporaryDirectory() as profile:
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,1400",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(str(chromedriver)), options=options)
        try:
            driver.get(url + "/")
            driver.find_element(By.ID, "text").send_keys("\n".join(f"{u.speaker}: {u.text}" for u in call.utterances))
            driver.find_element(By.ID, "analyze").click()
            turns = WebDriverWait(driver, 300).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#result .turn"))
            turns[3].click()
            path = RESULTS / "web_page.png"
            driver.save_screenshot(str(path))
        finally:
            driver.quit()
    return str(path.relative_to(ROOT))


def readme_block(result: dict[str, Any]) -> str:
    rows = [*result["phases"], {**result["overload"], "concurrency": f"{result['overload']['concurrency']} (queue {result['overload']['max_queue']})"}]
    lines = [
        "| clients | req/s | utterances/s | p50 latency | p99 latency | non-200 | of which 503 | requests per batch | server RSS start → end (peak) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['concurrency']} | {row['requests_per_second']:.1f} | {row['utterances_per_second']:.0f} | {row['latency_p50_ms']} ms | {row['latency_p99_ms']} ms "
            f"| {row['errors']} | {row['rejected_503']} | {row['requests_per_batch']} | {row['rss_start_mb']:.0f} → {row['rss_end_mb']:.0f} MB ({row['peak_rss_mb']:.0f} MB) |"
        )
    lines.append("")
    lines.append(
        f"`emotrace serve` with the `{result['model']}` model on `{result.get('backend', 'auto')}`, {result['duration_seconds']:.0f} s per row, clients on the same machine "
        f"({result['machine']}); conversations: {result['conversations']}. The last row restarts the server with `--max-queue "
        f"{result['overload']['max_queue']}`: excess requests get 503 + Retry-After, never a failure. "
        f"Generated by `{result['command']}` on {result['date']}."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
