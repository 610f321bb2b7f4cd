"""Admins hear of a failed run at once: an e-mail per failed run (job, partition, assets, the error with
its quoted values removed, a link to the run), sent by the engine's notification step."""

import dagster as dg

from medvault.platform.steps import notify
from medvault.platform.steps.context import Engine
from medvault.resources.mail import SmtpResource

_PARTITION_TAG = "dagster/partition"


def _error(context: dg.RunFailureSensorContext) -> str:
    messages = []
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        if error is not None and error.message:
            messages.append(f"{event.step_key}: {error.message.strip()}")
    return "\n".join(messages) or (context.failure_event.message or "the run failed")


@dg.run_failure_sensor(
    name="admin_run_failure_email",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="E-mails the admins (rules/recipients.yaml) as soon as a run fails; never patient data.",
)
def admin_run_failure_email(
    context: dg.RunFailureSensorContext, medvault: dg.ResourceParam[Engine], smtp: SmtpResource
):
    run = context.dagster_run
    assets = sorted(k.to_user_string() for k in (run.asset_selection or []))
    with medvault.step() as ctx:
        where = notify.send_run_failed(
            ctx,
            smtp.settings(),
            job=run.job_name,
            run_id=run.run_id,
            site=run.tags.get(f"{_PARTITION_TAG}/site"),
            partition=run.tags.get(_PARTITION_TAG),
            assets=assets,
            error=_error(context),
        )
    context.log.info(f"run {run.run_id} failed; admins told via {where or 'nobody (no admins)'}")
