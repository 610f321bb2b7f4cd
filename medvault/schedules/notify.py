"""The users' digest of newly delivered images (seed 004), on MEDVAULT_DIGEST_CRON (default daily)."""

import dagster as dg

from medvault.platform.steps import notify
from medvault.platform.steps.context import Engine
from medvault.resources.mail import SmtpResource

DIGEST_JOB = "user_digest_job"


@dg.op(name="send_user_digest")
def send_user_digest(context: dg.OpExecutionContext, medvault: dg.ResourceParam[Engine], smtp: SmtpResource):
    """Send each audience its sites' new and failed images of the last 24 hours (nothing to say: no e-mail)."""
    with medvault.step(run_id=context.run_id, log=context.log) as ctx:
        sent = notify.send_digest(ctx, smtp.settings())
    context.add_output_metadata({"digests_sent": len(sent)})
    context.log.info(f"{len(sent)} digest(s) sent" + (f": {', '.join(sent)}" if sent else " (nothing new)"))


@dg.job(
    name=DIGEST_JOB,
    description="E-mail the users' digest of delivered images.",
    executor_def=dg.in_process_executor,
)
def user_digest_job():
    send_user_digest()


def build_digest_schedule(cron: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="user_digest_schedule",
        job=user_digest_job,
        cron_schedule=cron,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="The users' digest of images delivered in the last 24 hours (MEDVAULT_DIGEST_CRON).",
    )
