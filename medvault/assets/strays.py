"""raw/strays: quarantine files dropped outside <site>/<YYYY-MM-DD>/ (they belong to no partition)."""

from datetime import UTC, datetime

import dagster as dg

from medvault.assets.partitions import OWNERS, WAREHOUSE_POOL
from medvault.platform.drops.scan import scan
from medvault.platform.pipeline.strays import quarantine_strays
from medvault.resources import DropStoresResource, PlatformResource, WarehouseResource

STRAYS = dg.AssetKey(["raw", "strays"])


class StrayFile(dg.Config):
    key: str
    code: str
    message: str


class StraysConfig(dg.Config):
    """Filled in by the drop sensors; empty means: rescan every enabled store for strays."""

    store: str = ""
    files: list[StrayFile] = []


@dg.asset(
    key=STRAYS,
    group_name="raw",
    pool=WAREHOUSE_POOL,
    kinds={"python", "file"},
    owners=OWNERS,
    description=(
        "Files found outside the drop convention (at the root, beside site folders, in folders that are not "
        "dates): quarantined with the reason under the pseudo-site _strays, one manifest row per content."
    ),
)
def raw_strays(
    context: dg.AssetExecutionContext,
    config: StraysConfig,
    warehouse: WarehouseResource,
    platform: PlatformResource,
    drop_stores: DropStoresResource,
) -> dg.MaterializeResult:
    today = datetime.now(UTC).date().isoformat()
    stores = [config.store] if config.store else drop_stores.names()
    new = 0
    with warehouse.warehouse().connect() as con:
        for name in stores:
            with drop_stores.open(name) as store:
                if config.files:
                    strays = [(f.key, f.code, f.message) for f in config.files]
                else:
                    strays = scan(store, None, full=True).strays
                new += quarantine_strays(
                    con, store, name, platform.quarantine_zone(), strays, today, run_id=context.run.run_id
                )
    context.log.info(f"{new} stray file(s) quarantined")
    return dg.MaterializeResult(metadata={"strays_quarantined": new})
