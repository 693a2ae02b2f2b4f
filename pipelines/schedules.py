"""A daily run of the whole pipeline (stopped until someone turns it on)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

FULL_PIPELINE_JOB = "full_pipeline_job"  # defined in pipelines/definitions.py
SOURCE_PARTITIONS_JOB = "source_partitions_job"  # defined in pipelines/definitions.py

daily_pipeline_schedule = ScheduleDefinition(
    name="daily_pipeline",
    job_name=FULL_PIPELINE_JOB,
    cron_schedule="0 3 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Runs the whole pipeline every day at 03:00 China time; runs are incremental, so cheap.",
)
