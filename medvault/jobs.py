"""Jobs: per-(site, date) ingest, the marts rebuild, stray-file quarantine and the freshness check.
Their names are the constants here; sensors, schedules and the headless runner import them."""

import dagster as dg

from medvault.assets.ingest import STRAYS
from medvault.assets.ops import sites_fresh

INGEST_JOB = "ingest_job"
MARTS_JOB = "marts_job"
STRAYS_JOB = "strays_job"
FRESHNESS_JOB = "freshness_job"

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
    selection=dg.AssetSelection.groups("reference", "pit", "marts") | dg.AssetSelection.checks(sites_fresh),
    description="Write changed reference tables, rebuild the point-in-time tables and the dashboard marts; check every site is still delivering.",
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
