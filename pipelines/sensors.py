"""A sensor that starts the pipeline when files in the raw dir appear, change or go away."""

import hashlib
import json
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipelines.core import documents
from pipelines.resources import FupinSettings
from pipelines.schedules import FULL_PIPELINE_JOB

Snapshot = dict[str, str]  # relative path -> "mtime_ns:size"


def snapshot_raw_dir(raw_dir: Path) -> Snapshot:
    """What the sensor remembers about each raw file: cheap to compute, changes when the file does."""
    snapshot: Snapshot = {}
    for path in documents.iter_raw_files(raw_dir):
        path = Path(path)
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished between listing and stat: the next tick sees it gone
        rel = path.relative_to(raw_dir).as_posix() if path.is_absolute() else path.as_posix()
        snapshot[rel] = f"{stat.st_mtime_ns}:{stat.st_size}"
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
    previous: Snapshot = json.loads(context.cursor) if context.cursor else {}
    current = snapshot_raw_dir(raw_dir)
    changed = changed_files(previous, current)
    if not changed:
        return SkipReason(f"no change among {len(current)} files in {raw_dir}")
    cursor = json.dumps(current, sort_keys=True, ensure_ascii=False)
    context.update_cursor(cursor)
    return RunRequest(
        run_key=hashlib.sha256(cursor.encode("utf-8")).hexdigest()[:16],
        tags={"fupin/changed_files": str(len(changed))},
    )
