"""Cross-partition checks: is every site still dropping data?"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from medvault.assets.partitions import SITE_PARTITIONS, WAREHOUSE_POOL
from medvault.assets.raw import RAW_DROPS
from medvault.platform.config import env
from medvault.resources import PlatformResource, WarehouseResource


@dg.asset_check(
    asset=RAW_DROPS,
    name="sites_fresh",
    pool=WAREHOUSE_POOL,
    description=(
        "Every known site (rules/sites.yaml and the site partitions) delivered a file within "
        "MEDVAULT_FRESHNESS_HOURS (default 36 h); the metadata gives each site's hours since its last file. "
        "Runs hourly (freshness_schedule) and after every mart refresh."
    ),
)
def sites_fresh(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, platform: PlatformResource
) -> dg.AssetCheckResult:
    max_age = timedelta(hours=float(env("MEDVAULT_FRESHNESS_HOURS")))
    sites = set(platform.rules().sites) | set(context.instance.get_dynamic_partitions(SITE_PARTITIONS.name))
    with warehouse.warehouse().connect() as con:
        last = dict(
            con.execute(
                "SELECT site, max(received_at) FROM ops.file_manifest WHERE site <> '_strays' GROUP BY site"
            ).fetchall()
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    ages = {site: (now - last[site]) if site in last else None for site in sorted(sites)}
    stale = {s: a for s, a in ages.items() if a is None or a > max_age}
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "max_age_hours": max_age.total_seconds() / 3600,
            "stale_sites": ", ".join(sorted(stale)) or "none",
            "hours_since_last_file": dg.MetadataValue.json(
                {s: (None if a is None else round(a.total_seconds() / 3600, 1)) for s, a in ages.items()}
            ),
        },
    )
