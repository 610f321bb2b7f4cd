"""The platform watching itself: runs left behind by a dead process are failed and their pool slots freed."""

import dagster as dg

from medvault.recovery import recover


@dg.sensor(
    name="dead_runs_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every minute: a run whose process is gone (killed) is marked failed and its `warehouse` pool slot "
        "freed, so later runs never wait on it forever."
    ),
)
def dead_runs_sensor(context: dg.SensorEvaluationContext):
    recovered = recover(context.instance)
    if recovered:
        context.log.warning(f"recovered {len(recovered)} run(s) of dead processes: {', '.join(recovered)}")
    return dg.SkipReason(f"recovered {len(recovered)} run(s)" if recovered else "no dead runs")
