"""dicom/instances: header metadata of every image in a (site, date) drop."""


import dagster as dg

from medvault.assets.partitions import OWNERS, SITE_DATE, WAREHOUSE_POOL, site_date
from medvault.assets.raw import RAW_DROPS
from medvault.platform.pipeline.dicom_step import process_dicom
from medvault.resources import PlatformResource, WarehouseResource


@dg.asset(
    key=["dicom", "instances"],
    deps=[RAW_DROPS],
    group_name="dicom",
    partitions_def=SITE_DATE,
    pool=WAREHOUSE_POOL,
    kinds={"duckdb", "dicom"},
    owners=OWNERS,
    description=(
        "DICOM header metadata (study/series/SOP UIDs, modality, laterality, station, sizes) of every image in the "
        "drop, one row per instance in dicom.instances; files that are not valid DICOM are quarantined naming the tag."
    ),
    metadata={"dagster/table_name": "dicom.instances"},
)
def dicom_instances(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform: PlatformResource
) -> dg.MaterializeResult:
    site, date = site_date(context)
    with warehouse.warehouse().connect() as con:
        summary = process_dicom(con, platform.lake(), platform.quarantine_zone(), site, date)
    return dg.MaterializeResult(metadata={**summary.as_metadata(), "dagster/row_count": summary.loaded})
