"""Where the shards of a batch run: `run_local` (a process pool on this machine) or `run_dask` (a dask cluster,
started locally or reached at an address).

Both run the same per-shard function, retry a shard that fails (an exception, or a worker process that died)
up to `retries` times, never retry a user error (an `EmotraceError` fails the same way every time), and record
failures in the `Tally` instead of stopping, so one bad input never costs the rest of the batch.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from emotrace.errors import EmotraceError
from emotrace.inference.shards import BatchSpec, Shard, ShardCounts, run_shard

if TYPE_CHECKING:
    from dask.distributed import Client
    from dask.distributed import Future as DaskFuture

ShardTask = Callable[[Shard, BatchSpec], ShardCounts]


class WorkerDied(Exception):
    """A shard's worker process exited while running it: a crash, or the out-of-memory killer."""

    def __init__(self, times: int) -> None:
        super().__init__(f"its worker process died (a crash, or killed for lack of memory), {times} time{'s' if times > 1 else ''}")


class Tally:
    """Shards finished and failed so far, conversations and utterances analysed, and the progress bar over them."""

    def __init__(self, shards: int, progress: bool = False) -> None:
        from tqdm import tqdm

        self.conversations = self.utterances = 0
        self.failures: list[tuple[Shard, str]] = []
        self._started = time.perf_counter()
        self._bar = tqdm(total=shards, desc="analysing", unit="shard", disable=not progress)

    def finished(self, counts: ShardCounts) -> None:
        self.conversations += counts.conversations
        self.utterances += counts.utterances
        self._bar.set_postfix_str(f"{self.utterances / (time.perf_counter() - self._started):.0f} utterances/s", refresh=False)
        self._bar.update()

    def failed(self, shard: Shard, reason: str) -> None:
        self.failures.append((shard, reason))
        self._bar.update()

    def close(self) -> None:
        self._bar.close()


def run_local(shards: list[Shard], spec: BatchSpec, tally: Tally, workers: int, retries: int, task: ShardTask = run_shard) -> None:
    """Run `shards` on a pool of `workers` fresh (spawned) processes, at most one shard per worker at a time.

    A worker that dies breaks the whole pool and every shard running in it; the pool is recreated, and when
    more than one shard was lost they rerun one at a time first, so that only the shard that kills its worker
    is charged the attempt."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    waiting, suspects = deque(shards), deque[Shard]()
    attempts: Counter[Shard] = Counter()
    running: dict[Future[ShardCounts], Shard] = {}
    pool = new_pool()
    try:
        while waiting or suspects or running:
            try:
                if suspects and not running:
                    running[pool.submit(task, suspects[0], spec)] = suspects[0]
                    suspects.popleft()
                while waiting and not suspects and len(running) < workers:
                    running[pool.submit(task, waiting[0], spec)] = waiting[0]
                    waiting.popleft()
                done = wait(running, return_when=FIRST_COMPLETED).done
                broken = any(isinstance(future.exception(), BrokenProcessPool) for future in done)
            except BrokenProcessPool:  # it broke between two submissions
                broken = True
            if broken:
                done = wait(running).done  # a broken pool fails every future it still held
            lost = []
            for future in done:
                shard = running.pop(future)
                error = future.exception()
                if error is None:
                    tally.finished(future.result())
                elif isinstance(error, BrokenProcessPool):
                    lost.append(shard)
                elif _retry(shard, error, attempts, retries, tally):
                    waiting.append(shard)
            if broken:
                pool.shutdown(cancel_futures=True)
                pool = new_pool()
            if len(lost) == 1 and _retry(lost[0], WorkerDied(retries + 1), attempts, retries, tally):
                suspects.append(lost[0])
            elif len(lost) > 1:
                suspects.extend(lost)
    finally:
        pool.shutdown(cancel_futures=True)


def run_dask(shards: list[Shard], spec: BatchSpec, tally: Tally, workers: int, retries: int, address: str | None = None, task: ShardTask = run_shard) -> None:
    """Run `shards` as dask tasks on the scheduler at `address`, or on a local cluster of `workers` processes.

    Dask itself reruns a task whose worker died, and gives up (KilledWorker) when `retries` reruns died too; that
    limit is set for a local cluster only, a remote scheduler keeps its own `allowed-failures`. Exceptions are
    retried here, except user errors. A remote cluster's workers need emotrace installed and must see the input
    and output paths as this machine does (a shared file system)."""
    try:
        import dask
        from dask.distributed import as_completed
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise EmotraceError("--engine dask needs dask[distributed]", hint="pip install 'emotrace[batch]', or use --engine local") from None

    settings = {"distributed.scheduler.allowed-failures": retries, "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(settings), _dask_client(address, workers) as client:
        owner: dict[DaskFuture, Shard] = {}
        attempts: Counter[Shard] = Counter()

        def submit(shard: Shard) -> DaskFuture:
            future = client.submit(task, shard, spec, pure=False)
            owner[future] = shard
            return future

        completed = as_completed([submit(shard) for shard in shards])
        for future in completed:
            shard = owner.pop(future)
            error = future.exception()
            if error is None:
                tally.finished(future.result())
            elif isinstance(error, KilledWorker):
                tally.failed(shard, _reason(WorkerDied(retries + 1)))
            elif _retry(shard, error, attempts, retries, tally):
                completed.add(submit(shard))


def _retry(shard: Shard, error: BaseException, attempts: Counter[Shard], retries: int, tally: Tally) -> bool:
    """Count a failed attempt at `shard`; True when it should run again, else it is recorded as failed."""
    attempts[shard] += 1
    if isinstance(error, EmotraceError) or attempts[shard] > retries:
        tally.failed(shard, _reason(error))
        return False
    return True


def _reason(error: BaseException) -> str:
    """One line for the report: a user error as it reads, anything else with its type."""
    first_line = next(iter(str(error).splitlines()), "")
    if isinstance(error, EmotraceError | WorkerDied):
        return first_line
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


@contextmanager
def _dask_client(address: str | None, workers: int) -> Iterator[Client]:
    from dask.distributed import Client, LocalCluster

    if address is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=logging.CRITICAL)
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise EmotraceError(f"cannot reach the dask scheduler at {address}: {error}", hint="start one with `dask scheduler`, or drop --address") from None
    with client:
        yield client
