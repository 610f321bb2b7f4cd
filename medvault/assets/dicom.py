"""DICOM assets of a (site, date), materialized by `load`: header metadata (`dicom/instances`), series and
studies aggregated from it, and the stamped, renamed copies on the delivery store (`dicom/delivered`)."""

import dagster as dg

from medvault.assets import schemas
from medvault.assets.ingest import RAW_DROPS
from medvault.assets.partitions import OWNERS
from medvault.platform.dicom import crosscheck
from medvault.platform.dicom.tables import SERIES_COLUMNS, STUDIES_COLUMNS
from medvault.platform.rules import Rules
from medvault.platform.steps import deliver, dicom

DICOM_INSTANCES = dg.AssetKey(list(dicom.ASSET))
DICOM_SERIES = dg.AssetKey(list(dicom.SERIES_ASSET))
DICOM_STUDIES = dg.AssetKey(list(dicom.STUDIES_ASSET))
DICOM_CROSSCHECK = dg.AssetKey(list(dicom.CROSSCHECK_ASSET))
DICOM_DELIVERED = dg.AssetKey(list(deliver.ASSET))
# materialized together by the DICOM step: selecting one of them runs it
DICOM_STEP_KEYS = {DICOM_INSTANCES, DICOM_SERIES, DICOM_STUDIES, DICOM_CROSSCHECK}


def _spec(
    key: dg.AssetKey, deps, description: str, metadata: dict, kinds=("duckdb", "dicom")
) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=key,
        deps=deps,
        group_name="dicom",
        kinds=set(kinds),
        owners=OWNERS,
        skippable=True,
        description=description,
        metadata=metadata,
    )


def dicom_specs(rules: Rules) -> tuple[list[dg.AssetSpec], list[dg.AssetCheckSpec]]:
    pacs = rules.delivery.pacs
    specs = [
        _spec(
            DICOM_INSTANCES,
            [RAW_DROPS],
            "DICOM header metadata (study/series/SOP UIDs, modality, laterality, station, sizes) of every image "
            "in the drop, one row per instance in `dicom.instances`, with its FileID, ScanID and pipeline UID; "
            "files that are not valid DICOM are quarantined naming the tag.",
            {
                "dagster/table_name": "dicom.instances",
                "dagster/column_schema": schemas.dicom(rules.dicom_tags),
            },
        ),
        _spec(
            DICOM_SERIES,
            [DICOM_INSTANCES],
            "One row per series of the drop's images (`dicom.series`): study, number, modality, body part, "
            "laterality, station, images and bytes.",
            {
                "dagster/table_name": "dicom.series",
                "dagster/column_schema": schemas.dicom_aggregate(SERIES_COLUMNS),
            },
        ),
        _spec(
            DICOM_STUDIES,
            [DICOM_INSTANCES],
            "One row per study of the drop's images (`dicom.studies`): date, description, accession, "
            "modalities, series, images and bytes.",
            {
                "dagster/table_name": "dicom.studies",
                "dagster/column_schema": schemas.dicom_aggregate(STUDIES_COLUMNS),
            },
        ),
        _spec(
            DICOM_CROSSCHECK,
            [
                DICOM_INSTANCES,
                *(dg.AssetKey(["staging", t]) for t in (pacs.studies, pacs.series, pacs.instances)),
            ],
            "The drop's images against the site's PACS extract (`dicom.pacs_crosscheck`): images whose study or "
            "series the extract does not list, and listed instances still without an image after the grace "
            "period of `rules/delivery.yaml`.",
            {
                "dagster/table_name": "dicom.pacs_crosscheck",
                "dagster/column_schema": schemas.dicom_aggregate(crosscheck.COLUMNS),
            },
        ),
        _spec(
            DICOM_DELIVERED,
            [DICOM_INSTANCES],
            "Seed 004's image pipeline: every image stamped with its pipeline UID, renamed by the template of "
            "`rules/delivery.yaml` and copied to the delivery store (MEDVAULT_DELIVERY); status per file in "
            "`ops.pipeline_file`, error logs under `error_logs/`.",
            {},
            kinds=("dicom", "storage"),
        ),
    ]
    checks = [
        dg.AssetCheckSpec(
            dicom.CHECK,
            asset=DICOM_INSTANCES,
            description=(
                "Warns when images of the drop were quarantined, or an image's SOP Instance UID was already "
                "loaded from another date of the same site."
            ),
        ),
        dg.AssetCheckSpec(
            dicom.PACS_CHECK,
            asset=DICOM_INSTANCES,
            description=(
                "Warns when an image's study or series is not in the site's PACS extract, or a PACS instance has "
                "no image after the grace period (rows in `dicom.pacs_crosscheck`)."
            ),
        ),
        dg.AssetCheckSpec(
            deliver.CHECK,
            asset=DICOM_DELIVERED,
            description="Warns when an image of the drop failed delivery or was delivered with errors (has_error).",
        ),
    ]
    return specs, checks
