"""publish/<output>: the marts out of the warehouse, after every mart is built: the Parquet lake, seed
000's CSV reports, PostgreSQL (materialized only when MEDVAULT_PUBLISH_POSTGRES is set) and the dashboard."""

import dagster as dg

from medvault.assets.cross_site import cross_site_step
from medvault.assets.partitions import OWNERS
from medvault.platform.rules.models import Rules
from medvault.platform.steps import publish

GROUP = "publish"
DESCRIPTIONS = {
    publish.PARQUET: "The marts as Hive-partitioned Parquet (lake/marts/<mart>/site=<site>/), small counts suppressed.",
    publish.CSV: "Seed 000's CSV reports: <site>/<report>/<report>_<Mon-DD-YYYY>.csv and combined/ (MEDVAULT_REPORTS).",
    publish.POSTGRES: "The marts in PostgreSQL (MEDVAULT_PUBLISH_POSTGRES, schema marts), bulk loaded, unchanged ones skipped.",
    publish.DASHBOARD: "The offline HTML dashboard (MEDVAULT_HOME/dashboard/index.html): imaging, clinical, operations, pipeline health.",
}
KINDS = {
    publish.PARQUET: "parquet",
    publish.CSV: "csv",
    publish.POSTGRES: "postgres",
    publish.DASHBOARD: "html",
}


def build_publish_asset(rules: Rules) -> dg.AssetsDefinition | None:
    if not rules.marts:
        return None
    deps = [dg.AssetKey(["marts", m.name]) for m in rules.marts]
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey([GROUP, name]),
            deps=deps,
            group_name=GROUP,
            owners=OWNERS,
            skippable=True,
            kinds={"parquet"}
            if name == publish.PARQUET
            else {"postgres"}
            if name == publish.POSTGRES
            else {"csv"},
            description=DESCRIPTIONS[name],
        )
        for name in publish.OUTPUTS
    ]
    return cross_site_step(GROUP, specs, publish.run)
