"""raw/drops: receive every stable file of a (site, date) drop, from the store that announced it."""

import dagster as dg

from medvault.assets.partitions import OWNERS, SITE_DATE, WAREHOUSE_POOL, site_date
from medvault.platform.config import env
from medvault.platform.pipeline.receive import receive_partition
from medvault.platform.redact import safe_error
from medvault.platform.stores.base import StoreError
from medvault.resources import DropStoresResource, PlatformResource, WarehouseResource

RAW_DROPS = dg.AssetKey(["raw", "drops"])


class RawDropsConfig(dg.Config):
    """Set by the drop sensors; empty for backfills and manual runs (then every enabled store is read and
    files without a completion marker are taken once unchanged for `settle_seconds`)."""

    store: str = ""
    files: dict[str, str] = {}  # key -> content version the sensor saw stable
    settle_seconds: float = float(env("MEDVAULT_SETTLE_SECONDS"))


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
        "changed file supersedes its earlier version; files still being uploaded are left for a later run."
    ),
)
def raw_drops(
    context: dg.AssetExecutionContext,
    config: RawDropsConfig,
    warehouse: WarehouseResource,
    platform: PlatformResource,
    drop_stores: DropStoresResource,
) -> dg.MaterializeResult:
    site, date = site_date(context)
    rules = platform.rules()
    stores = [config.store] if config.store else drop_stores.names()
    totals: dict[str, dict] = {}
    failed: dict[str, str] = {}
    with warehouse.warehouse().connect() as con:
        for name in stores:
            try:  # one store being down must not keep the others' files out
                with drop_stores.open(name) as store:
                    summary = receive_partition(
                        con,
                        store,
                        name,
                        platform.raw_zone(),
                        platform.quarantine_zone(),
                        rules,
                        site,
                        date,
                        run_id=context.run.run_id,
                        ready=config.files if config.store else None,
                        settle_seconds=config.settle_seconds,
                    )
            except StoreError as exc:
                failed[name] = safe_error(exc)
                context.log.error(f"{name}: {failed[name]}")
                continue
            totals[name] = summary.as_metadata()
            context.log.info(
                f"{name}: {summary.files_seen} files, {summary.received} received, {summary.quarantined} "
                f"quarantined, {summary.unchanged} unchanged, {summary.pending} still uploading"
            )
    if failed:
        raise dg.Failure(
            f"could not read the drop from {', '.join(sorted(failed))}; files from other stores were received",
            metadata={"store_errors": dg.MetadataValue.json(failed)},
        )
    keys = (
        "files_seen",
        "files_pending",
        "files_received",
        "files_quarantined",
        "files_unchanged",
        "files_superseded",
    )
    flat = {k: sum(t[k] for t in totals.values()) for k in keys}
    return dg.MaterializeResult(metadata={**flat, "by_store": dg.MetadataValue.json(totals)})
