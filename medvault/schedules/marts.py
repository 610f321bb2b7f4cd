"""A nightly mart rebuild as a safety net behind the sensor-driven refresh."""

import dagster as dg

from medvault.jobs import MARTS_JOB

nightly_marts_schedule = dg.ScheduleDefinition(
    name="nightly_marts_schedule",
    job_name=MARTS_JOB,
    cron_schedule="30 2 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Rebuild the dashboard marts nightly (off by default; the marts_refresh_sensor runs them after ingest).",
)
