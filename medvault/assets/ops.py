"""Cross-partition checks on the platform itself: is every site still dropping data?"""

import dagster as dg

from medvault.assets.ingest import RAW_DROPS
from medvault.assets.partitions import SITE_PARTITIONS, WAREHOUSE_POOL
from medvault.assets.results import check, step_context
from medvault.platform.steps import freshness
from medvault.platform.steps.context import Engine


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
    context: dg.AssetCheckExecutionContext, medvault: dg.ResourceParam[Engine]
) -> dg.AssetCheckResult:
    known = set(context.instance.get_dynamic_partitions(SITE_PARTITIONS.name))
    with step_context(context, medvault, partitioned=False) as ctx:
        return check(freshness.sites_fresh(ctx, known))
