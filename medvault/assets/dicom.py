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
    check_specs=[
        dg.AssetCheckSpec(
            "sop_instance_unique",
            asset=["dicom", "instances"],
            description="No SOP Instance UID of this drop was already loaded from another date of the same site.",
        )
    ],
)
def dicom_instances(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform: PlatformResource
):
    site, date = site_date(context)
    with warehouse.warehouse().connect() as con:
        summary = process_dicom(con, platform.lake(), platform.quarantine_zone(), site, date)
        elsewhere = con.execute(
            """SELECT count(DISTINCT a.sop_instance_uid) FROM dicom.instances a JOIN dicom.instances b
               ON a.sop_instance_uid = b.sop_instance_uid AND a._site = b._site AND a._date <> b._date
               WHERE a._site = ? AND a._date = ?""",
            [site, date],
        ).fetchall()[0][0]
    yield dg.MaterializeResult(metadata={**summary.as_metadata(), "dagster/row_count": summary.loaded})
    yield dg.AssetCheckResult(
        check_name="sop_instance_unique",
        passed=elsewhere == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"instances_also_loaded_on_another_date": elsewhere},
    )
