"""A function for the process pool to map in tests, in a module that imports nothing heavy: the pool's
fork server preloads the mapped function's module, so what a worker holds is what the pool gives it."""

from __future__ import annotations

import os
import sys

from pipelines.core.pool import WORKER_CONTEXT

HEAVY_MODULES = ("pandas", "pandera", "duckdb", "dagster", "dbt")


def where_it_ran(item: int) -> tuple[int, int, int, str, list[str]]:
    """item, the worker's pid and parent pid, the context's marker, the heavy modules it has loaded."""
    heavy = sorted(name for name in HEAVY_MODULES if name in sys.modules)
    return item, os.getpid(), os.getppid(), WORKER_CONTEXT["marker"], heavy
