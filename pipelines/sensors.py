"""A sensor that starts the pipeline when files in the raw dir appear, change or go away."""

import hashlib
import json
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipelines.core import documents
from pipelines.core.uptodate import run_need
from pipelines.resources import FupinSettings
from pipelines.schedules import FULL_PIPELINE_JOB

Snapshot = dict[str, str]  # relative path -> "mtime_ns:size"


def snapshot_raw_dir(raw_dir: Path) -> Snapshot:
    """What the sensor remembers about each raw file: cheap to compute, changes when the file does."""
    snapshot: Snapshot = {}
    raw_dir = raw_dir.absolute()
    for path in documents.iter_raw_files(raw_dir):
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished between listing and stat: the next tick sees it gone
        # The name as the warehouse stores it: a name that is not UTF-8 is escaped, so it can be JSON.
        snapshot[documents.relative_source_file(raw_dir, path)] = f"{stat.st_mtime_ns}:{stat.st_size}"
    return snapshot


def changed_files(previous: Snapshot, current: Snapshot) -> list[str]:
    """Files new, changed or removed since the previous snapshot."""
    return sorted(k for k in previous.keys() | current.keys() if previous.get(k) != current.get(k))


@sensor(
    name="raw_dir_sensor",
    job_name=FULL_PIPELINE_JOB,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Requests a pipeline run when files in the raw dir are added, changed or removed.",
)
def raw_dir_sensor(context: SensorEvaluationContext, settings: FupinSettings):
    raw_dir = settings.raw_path().absolute()
    if not raw_dir.is_dir():
        return SkipReason(f"raw dir {raw_dir} does not exist")
    try:
        current = snapshot_raw_dir(raw_dir)
    except documents.RawDirError as exc:  # a run would fail the same way: do not start one
        return SkipReason(str(exc))
    cursor = json.dumps(current, sort_keys=True, ensure_ascii=False)
    if context.cursor is not None:
        changed = changed_files(json.loads(context.cursor), current)
        if not changed:
            return SkipReason(f"no change among {len(current)} files in {raw_dir}")
    # First tick, or files changed: the same check as `fupin run`'s, against what the warehouse holds
    # (a file touched but not changed, or already built by another run, starts nothing).
    need = run_need(raw_dir, settings.warehouse_paths())
    context.update_cursor(cursor)
    if need.up_to_date:
        return SkipReason(f"the warehouse already holds the {len(current)} files of {raw_dir}; watching")
    return RunRequest(
        run_key=hashlib.sha256(cursor.encode("utf-8")).hexdigest()[:16],
        tags={"fupin/run_reason": need.reasons[0][:200]},
    )
