"""Refresh the marts once after runs that loaded partitions have ended (one mart run covers many).

The cursor is the end time of the newest such run already covered: a run created before another but
ending after it (a batch of many dates beside a one-date ingest run) still triggers a refresh. A batch
run that failed on some of its partitions loaded the others, so it counts too."""

from datetime import UTC, datetime

import dagster as dg

from medvault.assets.backfill import BACKFILL_JOB
from medvault.jobs import INGEST_JOB, MARTS_JOB

OK = dg.DagsterRunStatus.SUCCESS
LOADED = {INGEST_JOB: [OK], BACKFILL_JOB: [OK, dg.DagsterRunStatus.FAILURE]}


def latest_load_end(instance: dg.DagsterInstance, after: float | None = None) -> float | None:
    """The end time of the newest run that loaded partitions and ended after `after` (None: none did).
    Only runs updated since `after` are read."""
    since = datetime.fromtimestamp(after, UTC) if after is not None else None
    ends = [
        r.end_time
        for job, statuses in LOADED.items()
        for r in instance.get_run_records(
            filters=dg.RunsFilter(job_name=job, statuses=statuses, updated_after=since)
        )
        if r.end_time is not None and (after is None or r.end_time > after)
    ]
    return max(ends, default=None)


def _covered(cursor: str | None) -> float | None:
    """The cursor's end time; a cursor of an earlier version (a run id) counts as none."""
    try:
        return float(cursor) if cursor else None
    except ValueError:
        return None


@dg.sensor(
    name="marts_refresh_sensor",
    job_name=MARTS_JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds the dashboard marts after ingest or batch runs have ended since the last refresh.",
)
def marts_refresh_sensor(context: dg.SensorEvaluationContext):
    newest = latest_load_end(context.instance, _covered(context.cursor))
    if newest is None:
        return dg.SkipReason("no run has loaded partitions since the last mart refresh")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"marts-after-{newest}")], cursor=str(newest))
