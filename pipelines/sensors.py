"""Sensors: the pipeline when files in the raw dir appear, change or go away; source partitions
when a source (a top-level subdirectory of the raw dir) appears or its files change."""

import hashlib
import json
from pathlib import Path

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from pipelines.assets.partitions import RAW_SOURCES
from pipelines.core import documents
from pipelines.core.partitions import source_of
from pipelines.core.uptodate import present_files, run_need
from pipelines.resources import FupinSettings
from pipelines.schedules import FULL_PIPELINE_JOB, SOURCE_PARTITIONS_JOB

Snapshot = dict[str, str]  # relative path -> "mtime_ns:size"


def snapshot_raw_dir(raw_dir: Path) -> Snapshot:
    """What the sensor remembers about each raw file: cheap to compute, changes when the file does."""
    snapshot: Snapshot = {}
    # Named as the warehouse stores them: a name that is not UTF-8 is escaped, so it can be JSON.
    for name, path in present_files(raw_dir.absolute()).items():
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished between listing and stat: the next tick sees it gone
        snapshot[name] = f"{stat.st_mtime_ns}:{stat.st_size}"
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


def source_digests(snapshot: Snapshot) -> dict[str, str]:
    """source -> a digest of its files' snapshot entries: changes when any of its files does."""
    by_source: dict[str, list[str]] = {}
    for name in sorted(snapshot):
        by_source.setdefault(source_of(name), []).append(f"{name}\t{snapshot[name]}")
    return {
        source: hashlib.sha256("\n".join(entries).encode("utf-8")).hexdigest()[:16]
        for source, entries in by_source.items()
    }


@sensor(
    name="raw_sources_sensor",
    job_name=SOURCE_PARTITIONS_JOB,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Keeps one raw_sources partition per source of the raw dir (a top-level subdirectory; '.' = "
        "the files directly in it) and requests a source_partition run for each source that is new "
        "or whose files changed."
    ),
)
def raw_sources_sensor(context: SensorEvaluationContext, settings: FupinSettings):
    raw_dir = settings.raw_path().absolute()
    if not raw_dir.is_dir():
        return SkipReason(f"raw dir {raw_dir} does not exist")
    try:
        digests = source_digests(snapshot_raw_dir(raw_dir))
    except documents.RawDirError as exc:
        return SkipReason(str(exc))
    known = set(context.instance.get_dynamic_partitions(RAW_SOURCES.name))
    previous = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(source for source, digest in digests.items() if previous.get(source) != digest)
    added, gone = sorted(digests.keys() - known), sorted(known - digests.keys())
    context.update_cursor(json.dumps(digests, sort_keys=True, ensure_ascii=False))
    if not changed and not added and not gone:
        return SkipReason(f"no change in the {len(digests)} sources of {raw_dir}")
    requests = [RAW_SOURCES.build_add_request(added)] if added else []
    requests += [RAW_SOURCES.build_delete_request(gone)] if gone else []
    return SensorResult(
        run_requests=[RunRequest(partition_key=s, run_key=f"{s}:{digests[s]}") for s in changed],
        dynamic_partitions_requests=requests,
    )
