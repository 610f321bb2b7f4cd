"""marts/exams_per_month: seed 000's first report, across every site, from the vault."""

import dagster as dg

from medvault.assets import schemas
from medvault.assets.partitions import OWNERS, WAREHOUSE_POOL
from medvault.assets.results import results, step_context
from medvault.assets.vault import vault_key
from medvault.platform.steps import marts
from medvault.platform.steps.context import Engine


@dg.asset(
    key=["marts", "exams_per_month"],
    deps=[vault_key("hub_event"), vault_key("sat_event_study_details")],
    group_name="marts",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    owners=OWNERS,
    description="Examinations per month per site and modality (distinct study events), rebuilt from the vault.",
    metadata={
        "dagster/table_name": "marts.exams_per_month",
        "dagster/column_schema": schemas.table(
            [
                ("site", "VARCHAR", "site code"),
                ("month", "DATE", "first day of the study month"),
                ("modality", "VARCHAR", "DICOM modality of the study"),
                ("exams", "BIGINT", "distinct studies"),
            ]
        ),
    },
)
def exams_per_month(context: dg.AssetExecutionContext, medvault: dg.ResourceParam[Engine]):
    with step_context(context, medvault, partitioned=False) as ctx:
        result = marts.run(ctx)
    yield from results(result)
