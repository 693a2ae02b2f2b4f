"""The stages' process pool: workers forked from a small fork server that ends with its pool.

Real pools of real processes; what a worker holds is read from inside it (sys.modules, its parent).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.core import pool, processes
from tests.pool_probe import HEAVY_MODULES, where_it_ran

FUPIN = Path(sys.executable).parent / "fupin"


def _map(batches: list[list[int]]) -> list[list[tuple]]:
    total = sum(len(batch) for batch in batches)
    return list(pool.map_in_batches(where_it_ran, batches, total, {"marker": "context"}))


def test_pool_workers_are_forked_from_a_server_holding_only_what_the_work_needs() -> None:
    """A worker forked from the run's process keeps a copy of every page the run rewrites or frees
    after the fork (its DuckDB buffers): ~360 MiB a worker at 100,000 reports. The workers are forked
    from a server process instead, that preloads only the pool and the mapped function's module (not
    pandas, pandera, DuckDB, which this test process has loaded), and still get their context."""
    import duckdb  # noqa: F401  (loaded here, so a worker that has it inherited it)
    import pandas  # noqa: F401

    items = list(range(2 * pool.PARALLEL_THRESHOLD))
    (results,) = _map([items])
    assert [item for item, *_ in results] == items
    assert {marker for _, _, _, marker, _ in results} == {"context"}
    workers = {pid for _, pid, _, _, _ in results}
    parents = {parent for _, _, parent, _, _ in results}
    assert len(parents) == 1
    assert os.getpid() not in workers | parents
    assert {tuple(heavy) for *_, heavy in results} == {()}


def test_the_fork_server_ends_with_its_pool() -> None:
    """Left running, the server held ~110 MiB through validation, the schema check and dbt."""
    half = pool.PARALLEL_THRESHOLD
    first = _map([list(range(half)), list(range(half, 2 * half))])
    (server,) = {parent for batch in first for _, _, parent, _, _ in batch}
    assert not processes.exists(server)
    (second,) = _map([list(range(2 * half))])  # the next pool starts a server of its own
    (next_server,) = {parent for _, _, parent, _, _ in second}
    assert next_server != server and not processes.exists(next_server)


def test_the_fork_server_ends_when_its_batches_are_abandoned() -> None:
    """A stage that stops midway (an error writing a batch, Ctrl-C) closes the pool's generator."""
    half = pool.PARALLEL_THRESHOLD
    batches = pool.map_in_batches(where_it_ran, [list(range(half))] * 3, 3 * half, {"marker": "context"})
    (server,) = {parent for _, _, parent, _, _ in next(batches)}
    assert processes.exists(server)
    batches.close()
    assert not processes.exists(server)


def test_the_workers_module_imports_no_pandas_pandera_or_duckdb() -> None:
    """What the fork server preloads for the stages; each heavy import would be paid in every pool process."""
    code = (
        "import sys, pipelines.core.workers; "
        f"print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in {HEAVY_MODULES!r}))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", found.stderr


@pytest.mark.skipif(not FUPIN.exists(), reason="no fupin console script in this environment")
def test_what_a_worker_runs_again_of_the_fupin_script_imports_nothing_heavy() -> None:
    """multiprocessing runs a script's __main__ again in each worker, as __mp_main__ (as below), before
    its work: the `fupin` script must not import the command line's DuckDB and warehouse code there."""
    code = (
        "import runpy, sys; "
        f"runpy.run_path({str(FUPIN)!r}, run_name='__mp_main__'); "
        f"print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in {HEAVY_MODULES!r}))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", found.stderr
