"""Where the samples replay: this process, local worker processes, or a Dask cluster.

Every executor gets the same ``ForecastJob`` (the validated scenario and its
price book, shipped once per worker) and lists of sample numbers, and hands
back ``SampleSummary`` values, never events. A sample's result depends only
on the job and its number, so the forecast is byte-identical whichever
executor ran it and however many workers it had.

- ``workers=1``: in this process, one sample after the other.
- ``workers=N`` (default: every core): N local processes.
- ``cluster="tcp://HOST:8786"`` (or ``CREDIT_LEDGER_CLUSTER``): an existing Dask
  distributed scheduler, whose workers must have credit-ledger installed
  (``pip install './credit-ledger[cluster]'``). A task whose worker dies is
  rescheduled by Dask on another worker (``allowed_failures``); one that
  raises is retried ``RETRIES`` times.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

from ledger.tools.forecast.sample import run_chunk

CLUSTER_ENV = "CREDIT_LEDGER_CLUSTER"
RETRIES = 2
CHUNKS_PER_WORKER = 4  # smaller chunks balance uneven workers; bigger ones cost less to ship

Progress = Callable[[int, int], None]  # (samples done, samples in all)
J = TypeVar("J")
R = TypeVar("R", bound="Numbered")


class Numbered(Protocol):
    @property
    def sample(self) -> int: ...


# A chunk task: the job and some sample numbers -> one result per sample. A
# module-level function, so it pickles by name to local processes and Dask workers.
Task = Callable[[J, Sequence[int]], list[R]]


class ExecutorError(RuntimeError):
    """The cluster could not be reached or the sweep could not finish."""


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def chunks(samples: Sequence[int], workers: int) -> list[list[int]]:
    """Split sample numbers into about ``CHUNKS_PER_WORKER`` chunks per worker, in order."""
    if not samples:
        return []
    size = max(1, math.ceil(len(samples) / (workers * CHUNKS_PER_WORKER)))
    return [list(samples[i : i + size]) for i in range(0, len(samples), size)]


def run_samples(
    job: J,
    samples: Sequence[int],
    *,
    workers: int | None = None,
    cluster: str | None = None,
    progress: Progress | None = None,
    task: Task[J, R] = run_chunk,  # type: ignore[assignment]
) -> list[R]:
    """Every sample's result (``task`` of the job), sorted by sample number."""
    found: list[R]
    if cluster:
        found = _on_dask(task, job, samples, cluster, progress)
    elif (workers or default_workers()) <= 1 or len(samples) <= 1:
        found = []
        for k in samples:
            found += task(job, [k])
            if progress is not None:
                progress(len(found), len(samples))
    else:
        found = _on_processes(task, job, samples, workers or default_workers(), progress)
    return sorted(found, key=lambda s: s.sample)


# ------------------------------------------------------------ local processes

_JOB: tuple[Any, Any] | None = None  # (task, job) of this worker process


def _init_worker(task: Any, job: Any) -> None:
    global _JOB  # noqa: PLW0603 - a worker process holds one job, set once at its start
    _JOB = (task, job)


def _chunk_in_worker(samples: list[int]) -> list[Any]:
    assert _JOB is not None
    task, job = _JOB
    return list(task(job, samples))


def _on_processes(
    task: Task[J, R], job: J, samples: Sequence[int], workers: int, progress: Progress | None
) -> list[R]:
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    found: list[R] = []
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(task, job)
    ) as pool:
        pending: set[Future[list[R]]] = {
            pool.submit(_chunk_in_worker, chunk) for chunk in chunks(samples, workers)
        }
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                found += future.result()
            if progress is not None:
                progress(len(found), len(samples))
    return found


# ------------------------------------------------------------------ Dask


def _on_dask(
    task: Task[J, R], job: J, samples: Sequence[int], address: str, progress: Progress | None
) -> list[R]:
    try:
        from distributed import Client, as_completed  # noqa: PLC0415 - the optional extra
    except ImportError:
        raise ExecutorError(
            "--cluster needs Dask distributed: pip install './credit-ledger[cluster]'"
        ) from None
    try:
        client: Any = Client(address, timeout="10s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        shipped = client.scatter(job, broadcast=True, hash=False)
        futures = [
            client.submit(task, shipped, chunk, pure=False, retries=RETRIES)
            for chunk in chunks(samples, workers)
        ]
        found: list[R] = []
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            found += future.result()
            if progress is not None:
                progress(len(found), len(samples))
        return found
    finally:
        client.close()
