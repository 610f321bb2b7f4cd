"""dicom/instances: header metadata of every image in a (site, date) drop (materialized by `load`)."""

import dagster as dg

from medvault.assets import schemas
from medvault.assets.ingest import RAW_DROPS
from medvault.assets.partitions import OWNERS
from medvault.platform.steps import dicom

DICOM_INSTANCES = dg.AssetKey(list(dicom.ASSET))


def dicom_specs() -> tuple[list[dg.AssetSpec], list[dg.AssetCheckSpec]]:
    spec = dg.AssetSpec(
        key=DICOM_INSTANCES,
        deps=[RAW_DROPS],
        group_name="dicom",
        kinds={"duckdb", "dicom"},
        owners=OWNERS,
        skippable=True,
        description=(
            "DICOM header metadata (study/series/SOP UIDs, modality, laterality, station, sizes) of every image "
            "in the drop, one row per instance in `dicom.instances`; files that are not valid DICOM are "
            "quarantined naming the tag."
        ),
        metadata={"dagster/table_name": "dicom.instances", "dagster/column_schema": schemas.dicom()},
    )
    checks = [
        dg.AssetCheckSpec(
            dicom.CHECK,
            asset=DICOM_INSTANCES,
            description=(
                "Warns when images of the drop were quarantined, or an image's SOP Instance UID was already "
                "loaded from another date of the same site."
            ),
        )
    ]
    return [spec], checks
