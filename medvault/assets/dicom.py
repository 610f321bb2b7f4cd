"""dicom/instances: header metadata of every image in a (site, date) drop."""

import dagster as dg

from medvault.assets.ingest import RAW_DROPS
from medvault.assets.partitions import OWNERS, WAREHOUSE_POOL
from medvault.assets.results import results, step_context
from medvault.platform.steps import dicom
from medvault.platform.steps.context import Engine

DICOM_INSTANCES = dg.AssetKey(list(dicom.ASSET))


def build_dicom_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=DICOM_INSTANCES,
        deps=[RAW_DROPS],
        group_name="dicom",
        partitions_def=partitions,
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "dicom"},
        owners=OWNERS,
        description=(
            "DICOM header metadata (study/series/SOP UIDs, modality, laterality, station, sizes) of every image "
            "in the drop, one row per instance in dicom.instances; files that are not valid DICOM are "
            "quarantined naming the tag."
        ),
        metadata={"dagster/table_name": "dicom.instances"},
        check_specs=[
            dg.AssetCheckSpec(
                "sop_instance_unique",
                asset=DICOM_INSTANCES,
                description="No SOP Instance UID of this drop was already loaded from another date of the same site.",
            )
        ],
    )
    def dicom_instances(context: dg.AssetExecutionContext, medvault: dg.ResourceParam[Engine]):
        with step_context(context, medvault) as ctx:
            result = dicom.run(ctx)
        yield from results(result)

    return [dicom_instances]
