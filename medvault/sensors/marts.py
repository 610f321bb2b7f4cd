"""Refresh the marts once after new ingest runs succeed (one mart run covers many partitions)."""

import dagster as dg

from medvault.assets.backfill import BACKFILL_JOB
from medvault.jobs import INGEST_JOB, MARTS_JOB


def latest_ingest_success(instance: dg.DagsterInstance) -> str | None:
    """The newest successful run that loaded partitions: an ingest run or a batch run (a backlog from
    a drop sensor, a backfill launched through the daemon)."""
    records = [
        r
        for job in (INGEST_JOB, BACKFILL_JOB)
        for r in instance.get_run_records(
            filters=dg.RunsFilter(job_name=job, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
        )
    ]
    newest = max(records, key=lambda r: r.create_timestamp, default=None)
    return newest.dagster_run.run_id if newest else None


@dg.sensor(
    name="marts_refresh_sensor",
    job_name=MARTS_JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds the dashboard marts after ingest runs have succeeded since the last refresh.",
)
def marts_refresh_sensor(context: dg.SensorEvaluationContext):
    latest = latest_ingest_success(context.instance)
    if latest is None or latest == context.cursor:
        return dg.SkipReason("no ingest run has succeeded since the last mart refresh")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"marts-after-{latest}")], cursor=latest)
