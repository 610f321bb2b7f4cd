"""raw/drops: receive every file of a (site, date) drop from each enabled store."""


import dagster as dg

from medvault.assets.partitions import OWNERS, SITE_DATE, WAREHOUSE_POOL, site_date
from medvault.platform.pipeline.receive import receive_partition
from medvault.resources import DropStoresResource, PlatformResource, WarehouseResource

RAW_DROPS = dg.AssetKey(["raw", "drops"])


@dg.asset(
    key=RAW_DROPS,
    group_name="raw",
    partitions_def=SITE_DATE,
    pool=WAREHOUSE_POOL,
    kinds={"python", "file"},
    owners=OWNERS,
    description=(
        "Every file of a <site>/<date>/ drop, accounted for in ops.file_manifest: identified and copied to "
        "lake/raw (immutable), or quarantined with a reason. Identical content dropped again is a no-op; a "
        "changed file supersedes its earlier version."
    ),
)
def raw_drops(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    platform: PlatformResource,
    drop_stores: DropStoresResource,
) -> dg.MaterializeResult:
    site, date = site_date(context)
    rules = platform.rules()
    totals: dict[str, dict] = {}
    with warehouse.warehouse().connect() as con:
        for name in drop_stores.names():
            with drop_stores.open(name) as store:
                summary = receive_partition(
                    con, store, name, platform.raw_zone(), platform.quarantine_zone(), rules, site, date,
                    run_id=context.run.run_id,
                )
            totals[name] = summary.as_metadata()
            context.log.info(
                f"{name}: {summary.files_seen} files, {summary.received} received, "
                f"{summary.quarantined} quarantined, {summary.unchanged} unchanged"
            )
    flat = {
        k: sum(t[k] for t in totals.values())
        for k in ("files_seen", "files_received", "files_quarantined", "files_unchanged", "files_superseded")
    }
    return dg.MaterializeResult(metadata={**flat, "by_store": dg.MetadataValue.json(totals)})
