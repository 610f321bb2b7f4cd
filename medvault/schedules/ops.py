"""Platform checks on a clock: a site that stopped delivering is flagged even when no run happens."""

import dagster as dg

from medvault.jobs import FRESHNESS_JOB

freshness_schedule = dg.ScheduleDefinition(
    name="freshness_schedule",
    job_name=FRESHNESS_JOB,
    cron_schedule="15 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly sites_fresh check: a site that stopped delivering is flagged even when no run happens.",
)
