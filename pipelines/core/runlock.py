"""One run at a time per warehouse, for the whole run.

Every step already takes the working file's lock, but a run is many steps: two runs interleaving
their steps (with different raw dirs, say) would publish one run's data under the other's name. So a
run holds the warehouse from its first step to its last:

- `hold_run` (the `fupin run` command, one process for the whole run): an exclusive lock on
  ``<stem>.run.lock``, with a record of the holder (run id, pid, start, raw dir) written into the
  file. A second run fails at once with a message naming the holder.
- `claim_run_step` (each step of a run Dagster launched from the UI, a schedule or the sensor; its
  steps may each run in a process of their own): the step holds the lock *shared* while it runs, so a
  `fupin run` cannot start in the middle of it nor it in the middle of a `fupin run`, and checks the
  record: the warehouse belongs to the run named there until that run has finished. A run whose
  warehouse was taken by another run between two of its steps stops instead of publishing that run's
  data.

No Dagster here: the step wrapper passes a function saying whether a run id is finished.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from typing import IO, Any

from pipelines.core.warehouse import WarehouseError, WarehousePaths, remove_stale_temp_copies, work_lock

RECENT_RUNS = 50  # run ids remembered, to notice a run whose warehouse another run took meanwhile

# Published file -> the run id a `fupin run` in this process holds it for (its steps skip the lock).
_HELD_HERE: dict[str, str] = {}


class RunLockHeld(WarehouseError):
    """Another run holds the warehouse; the message names it."""


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _read_record(handle: IO[str]) -> dict[str, Any]:
    handle.seek(0)
    try:
        record = json.loads(handle.read() or "{}")
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _write_record(handle: IO[str], record: dict[str, Any]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(record, ensure_ascii=False))
    handle.flush()


def describe_holder(record: dict[str, Any]) -> str:
    """'fupin run 1a2b… (pid 4242 on host, started 2024-…, raw dir /data/raw)' from a lock record."""
    if not record.get("run_id"):
        return "another run"
    details = [f"pid {record.get('pid')} on {record.get('host')}", f"started {record.get('started_at')}"]
    if record.get("raw_dir"):
        details.append(f"raw dir {record['raw_dir']}")
    return f"{record.get('kind', 'run')} {record['run_id']} ({', '.join(details)})"


def _lock_or_fail(handle: IO[str], mode: int, paths: WarehousePaths, then: str) -> None:
    """Take the run lock (shared or exclusive) without waiting; fail naming whoever holds it."""
    try:
        fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = describe_holder(_read_record(handle))
        raise RunLockHeld(f"warehouse {paths.published} is in use by {holder}; {then}") from None


def _claim(previous: dict[str, Any], run_id: str, kind: str, raw_dir: str | None) -> dict[str, Any]:
    recent = [r for r in previous.get("recent_runs", []) if r != run_id][-(RECENT_RUNS - 1) :]
    return {
        "run_id": run_id,
        "kind": kind,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": _now(),
        "raw_dir": raw_dir,
        "finished": False,
        "recent_runs": [*recent, run_id],
    }


def _open_lock_file(paths: WarehousePaths) -> IO[str]:
    paths.directory.mkdir(parents=True, exist_ok=True)
    return open(paths.run_lock, "a+", encoding="utf-8")


@contextlib.contextmanager
def hold_run(paths: WarehousePaths, run_id: str, raw_dir: str | None = None) -> Iterator[None]:
    """Hold the warehouse for a whole run in this process; fail at once when another run holds it."""
    handle = _open_lock_file(paths)
    try:
        _lock_or_fail(handle, fcntl.LOCK_EX, paths, "wait for that run to finish, or stop it")
        record = _claim(_read_record(handle), run_id, "fupin run", raw_dir)
        _write_record(handle, record)
        remove_stale_temp_copies(paths)  # only the holder publishes: any copy left is from a crash
        _HELD_HERE[str(paths.published)] = run_id
        try:
            yield
        finally:
            _HELD_HERE.pop(str(paths.published), None)
            _write_record(handle, {**record, "finished": True, "finished_at": _now()})
    finally:
        handle.close()  # releases the lock


@contextlib.contextmanager
def claim_run_step(
    paths: WarehousePaths,
    run_id: str,
    *,
    raw_dir: str | None,
    run_finished: Callable[[str], bool | None],
    kind: str = "dagster run",
) -> Iterator[None]:
    """Hold the warehouse for one step of a run (see the module docstring).

    run_finished(run_id) says whether a run is over: True, False, or None when it is not known
    (a run of another Dagster instance; treated as over, since its steps would hold the lock).
    """
    if _HELD_HERE.get(str(paths.published)) == run_id:
        yield  # a `fupin run` in this process holds the whole run
        return
    handle = _open_lock_file(paths)
    try:
        _lock_or_fail(
            handle, fcntl.LOCK_SH, paths, "this run stops; start it again when that run has finished"
        )
        with work_lock(paths):  # steps of one run may start together: one reads and writes the record
            record = _read_record(handle)
            owner = record.get("run_id")
            if owner != run_id:
                _check_can_take(record, run_id, run_finished, paths)
                _write_record(handle, _claim(record, run_id, kind, raw_dir))
                remove_stale_temp_copies(paths)
        yield
    finally:
        handle.close()


def _check_can_take(
    record: dict[str, Any], run_id: str, run_finished: Callable[[str], bool | None], paths: WarehousePaths
) -> None:
    owner = record.get("run_id")
    if not owner:
        return
    # A `fupin run` holds the lock exclusively while it lives; holding it shared proves it is over.
    still_running = record.get("kind") != "fupin run" and not record.get("finished")
    if still_running and run_finished(owner) is False:
        raise RunLockHeld(
            f"warehouse {paths.published} is in use by {describe_holder(record)}; this run stops; "
            "start it again when that run has finished"
        )
    if run_id in record.get("recent_runs", []):
        raise RunLockHeld(
            f"{describe_holder(record)} used warehouse {paths.published} between two steps of this run; "
            "this run stops so that it does not publish that run's data; start it again"
        )


def finish_run(paths: WarehousePaths, run_id: str) -> None:
    """Mark a Dagster run's hold on the warehouse as over (its last step has published)."""
    if _HELD_HERE.get(str(paths.published)) == run_id:
        return  # hold_run marks it when the `fupin run` ends
    with _open_lock_file(paths) as handle, work_lock(paths):
        record = _read_record(handle)
        if record.get("run_id") == run_id:
            _write_record(handle, {**record, "finished": True, "finished_at": _now()})
