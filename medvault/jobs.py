"""Jobs: per-(site, date) ingest, the marts rebuild, stray-file quarantine, the freshness check and seed
004's manual image reprocess. Their names are the constants here; sensors, schedules and the headless
runner import them.

(No `from __future__ import annotations` here: Dagster reads the ops' annotations as types.)"""

import dagster as dg

from medvault.assets.ingest import STRAYS
from medvault.assets.ops import sites_fresh
from medvault.platform.steps.context import Engine

INGEST_JOB = "ingest_job"
MARTS_JOB = "marts_job"
STRAYS_JOB = "strays_job"
FRESHNESS_JOB = "freshness_job"
REPROCESS_JOB = "dicom_reprocess_job"

ingest_job = dg.define_asset_job(
    INGEST_JOB,
    selection=dg.AssetSelection.groups("raw", "staging", "dicom", "vault")
    - dg.AssetSelection.assets(STRAYS)
    - dg.AssetSelection.checks(sites_fresh),  # a cross-site check: runs with the marts, not per partition
    description="Everything for one (site, date) drop: receive, stage, DICOM headers, vault.",
    executor_def=dg.in_process_executor,  # one process per run: every step waits on the one warehouse writer
)
marts_job = dg.define_asset_job(
    MARTS_JOB,
    selection=dg.AssetSelection.groups("reference", "pit", "bridge", "marts", "publish")
    | dg.AssetSelection.checks(sites_fresh),
    description="Write changed reference tables, rebuild the point-in-time and bridge tables and the marts, publish them (Parquet, CSV, PostgreSQL); check every site is still delivering.",
    executor_def=dg.in_process_executor,
)
strays_job = dg.define_asset_job(
    STRAYS_JOB,
    selection=dg.AssetSelection.assets(STRAYS),
    description="Quarantine files dropped outside `<site>/<YYYY-MM-DD>/`.",
    executor_def=dg.in_process_executor,
)
freshness_job = dg.define_asset_job(
    FRESHNESS_JOB,
    selection=dg.AssetSelection.checks(sites_fresh),
    description="Check that every site is still delivering (also when nothing arrives, which is the point).",
    executor_def=dg.in_process_executor,
)


class ReprocessConfig(dg.Config):
    """The source keys (`<site>/<date>/<name>`, as `ops.pipeline_file.source_key`) to deliver again."""

    keys: list[str]


@dg.op(name="reprocess_images", pool="warehouse")
def reprocess_images(
    context: dg.OpExecutionContext, config: ReprocessConfig, medvault: dg.ResourceParam[Engine]
):
    """Stamp, rename and copy the named images to the delivery store again (seed 004's manual trigger)."""
    from medvault.assets.dicom import DICOM_DELIVERED
    from medvault.assets.partitions import partition_key
    from medvault.assets.results import metadata
    from medvault.platform.steps import deliver

    with medvault.step(run_id=context.run_id, log=context.log) as ctx:
        summary, unknown, partitions = deliver.reprocess(ctx, list(config.keys))
    for site, date in partitions:
        context.log_event(
            dg.AssetMaterialization(
                asset_key=DICOM_DELIVERED, partition=partition_key(site, date), metadata={"reprocessed": True}
            )
        )
    context.add_output_metadata(metadata({**summary.as_metadata(), "unknown_keys": unknown}))
    if unknown:
        raise dg.Failure(
            f"{len(unknown)} key(s) are not files of the image pipeline: {', '.join(unknown[:5])}"
        )
    if summary.failed:
        raise dg.Failure(f"{summary.failed} of {summary.files} image(s) failed again; see their error logs")


@dg.job(
    name=REPROCESS_JOB,
    description="Deliver chosen images again (config: keys), from the UI or "
    "`medvault dicom reprocess KEY...`.",
    executor_def=dg.in_process_executor,
)
def dicom_reprocess_job():
    reprocess_images()
