"""marts/exams_per_month: seed 000's first report, across every site, from the vault."""

import dagster as dg

from medvault.assets.partitions import OWNERS, WAREHOUSE_POOL
from medvault.platform.marts.exams import build_exams_per_month
from medvault.platform.vault.ddl import create_vault_tables
from medvault.resources import PlatformResource, WarehouseResource


@dg.asset(
    key=["marts", "exams_per_month"],
    deps=[dg.AssetKey(["vault", "hub_event"]), dg.AssetKey(["vault", "sat_event_study_details"])],
    group_name="marts",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    owners=OWNERS,
    description="Examinations per month per site and modality (distinct study events), rebuilt from the vault.",
    metadata={"dagster/table_name": "marts.exams_per_month"},
)
def exams_per_month(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform: PlatformResource
) -> dg.MaterializeResult:
    with warehouse.warehouse().connect() as con:
        create_vault_tables(con, platform.rules())  # an empty vault gives an empty mart, not an error
        rows = build_exams_per_month(con)
        preview = con.execute(
            "SELECT site, CAST(month AS VARCHAR) AS month, modality, exams FROM marts.exams_per_month "
            "ORDER BY site, month, modality LIMIT 20"
        ).fetchall()
    table = "| site | month | modality | exams |\n|---|---|---|---|\n" + "\n".join(
        f"| {site} | {month} | {modality} | {exams} |" for site, month, modality, exams in preview
    )
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "preview": dg.MetadataValue.md(table)})
