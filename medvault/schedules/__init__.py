"""Schedules: a nightly mart rebuild as a safety net behind the sensor-driven refresh."""

from __future__ import annotations

import dagster as dg

nightly_marts_schedule = dg.ScheduleDefinition(
    name="nightly_marts_schedule",
    job_name="marts_job",
    cron_schedule="30 2 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Rebuild the dashboard marts nightly (off by default; the marts_refresh_sensor runs them after ingest).",
)

freshness_schedule = dg.ScheduleDefinition(
    name="freshness_schedule",
    job_name="freshness_job",
    cron_schedule="15 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly sites_fresh check: a site that stopped delivering is flagged even when no run happens.",
)
