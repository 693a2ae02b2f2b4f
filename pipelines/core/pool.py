"""The process pool the cleaning and extraction stages share: a function over batches of items.

Its workers are forked from a fork server that imports only this module and the mapped function's
(pipelines.core.workers for the stages), so this module imports nothing the workers do not need: no
pandas, pandera or DuckDB. With pipelines.core.stages preloaded instead, at 100,000 reports the
server held 80-110 MiB and each worker ~60; now ~15 and 20-40. The server ends with its pool.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from pipelines.core import processes

# Below this many items a process pool costs more than it saves.
PARALLEL_THRESHOLD = 200

# Objects the mapped function needs (catalog, place index ...): in this process when there is no
# pool, else given to each worker once when it starts (not once per task).
WORKER_CONTEXT: dict[str, Any] = {}


def _set_worker_context(context: dict[str, Any]) -> None:
    WORKER_CONTEXT.clear()
    WORKER_CONTEXT.update(context)


def _start_worker(context: dict[str, Any], run_pid: int) -> None:
    _set_worker_context(context)
    threading.Thread(target=_exit_when_gone, args=(run_pid,), daemon=True).start()


def _exit_when_gone(pid: int) -> None:
    """End this worker when the process that started it ends, however it ends.

    A worker of a run killed by SIGKILL would otherwise wait for work forever (it holds the write
    end of its own task pipe, so it never sees the pipe close), and with it the fork server.
    """
    try:
        watched = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)  # gone before this worker started
    except (AttributeError, OSError):  # no pidfd (not Linux, or before 5.3): poll instead
        while processes.exists(pid):
            time.sleep(1.0)
        os._exit(1)
    select.select([watched], [], [])
    os._exit(1)


def _pool_start_method(fn: Callable[[Any], Any]) -> multiprocessing.context.BaseContext | None:
    """Workers are forked from a small server process (forkserver), not from this one.

    A forked worker shares every page this process had when it forked, and keeps its own copy of
    each one this process rewrites or frees afterwards: forked from a run that had ingested 100,000
    reports, each worker grew to ~360 MiB, most of it this process's old DuckDB buffers. The server
    imports only this module and fn's, so the workers start small and stay so.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    start_method = multiprocessing.get_context("forkserver")
    start_method.set_forkserver_preload(list(dict.fromkeys([__name__, fn.__module__])))
    return start_method


def _stop_fork_server() -> None:
    """End the fork server once its pool's workers have ended.

    Left running, it holds its memory through the rest of the run (validation, the schema check,
    dbt: the run's largest steps; ~110 MiB when it preloaded pipelines.core.stages). The next pool
    starts a new one (well under a second), which also preloads that pool's function.
    multiprocessing has no public call for this; _stop is what its own tests use (Python 3.8-3.13).
    """
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)
    if stop is not None:
        stop()


def _worker_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _run_chunk(fn: Callable[[Any], Any], chunk: Sequence[Any]) -> list[Any]:
    return [fn(item) for item in chunk]


def map_in_batches(
    fn: Callable[[Any], Any], batches: Iterable[Sequence[Any]], total: int, context: dict[str, Any]
) -> Iterator[list[Any]]:
    """fn over every item of every batch, in order, one list of results per batch.

    In a process pool when there are many items (total) and cores. Batches are taken from
    the iterable one at a time and the pool works on the next batch while the caller writes this
    one's results, so at most two batches are in memory, whatever the corpus size. fn must be a
    module-level function; fn and WORKER_CONTEXT (= context) are all a worker has.
    """
    _set_worker_context(context)
    try:
        workers = min(_worker_count(), 8)
        start_method = _pool_start_method(fn)
        if total < PARALLEL_THRESHOLD or workers < 2 or start_method is None:
            for batch in batches:
                yield _run_chunk(fn, batch)
            return
        try:
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=start_method,
                initializer=_start_worker,
                initargs=(context, os.getpid()),
            ) as pool:

                def submit(batch: Sequence[Any]) -> list[Any]:
                    size = max(1, len(batch) // (workers * 4))
                    return [
                        pool.submit(_run_chunk, fn, batch[i : i + size]) for i in range(0, len(batch), size)
                    ]

                in_flight: list[Any] | None = None
                for batch in batches:
                    submitted = submit(batch)
                    if in_flight is not None:
                        yield [result for future in in_flight for result in future.result()]
                    in_flight = submitted
                if in_flight is not None:
                    yield [result for future in in_flight for result in future.result()]
        finally:
            _stop_fork_server()
    finally:
        WORKER_CONTEXT.clear()
