"""publish/<output>: the marts out of the warehouse, after every mart is built: the Parquet lake, seed
000's CSV reports, PostgreSQL (materialized only when MEDVAULT_PUBLISH_POSTGRES is set) and the dashboard;
and the slices staged since the last publish as Parquet (`publish/staged_parquet`)."""

import dagster as dg

from medvault.assets.cross_site import cross_site_step
from medvault.assets.ingest import staging_key
from medvault.assets.partitions import OWNERS
from medvault.platform.rules.models import Rules
from medvault.platform.steps import publish

GROUP = "publish"
DESCRIPTIONS = {
    publish.PARQUET: "The marts as Hive-partitioned Parquet (lake/marts/<mart>/site=<site>/), small counts suppressed.",
    publish.CSV: "Seed 000's CSV reports: <site>/<report>/<report>_<Mon-DD-YYYY>.csv and combined/ (MEDVAULT_REPORTS).",
    publish.POSTGRES: "The marts in PostgreSQL (MEDVAULT_PUBLISH_POSTGRES, schema marts), bulk loaded, unchanged ones skipped.",
    publish.DASHBOARD: "The offline HTML dashboard (MEDVAULT_HOME/dashboard/index.html): imaging, clinical, operations, pipeline health.",
    publish.STAGED: "Every staged slice as Parquet (`lake/staged/<table>/site=<site>/date=<date>/data_0.parquet`), rewritten when the slice is staged again; patient data, the warehouse's access.",
}
KINDS = {
    publish.PARQUET: "parquet",
    publish.CSV: "csv",
    publish.POSTGRES: "postgres",
    publish.DASHBOARD: "html",
    publish.STAGED: "parquet",
}


def build_publish_asset(rules: Rules) -> dg.AssetsDefinition | None:
    marts = [dg.AssetKey(["marts", m.name]) for m in rules.marts]
    staged = [staging_key(system, table) for system, table in sorted(rules.staged_tables())]
    outputs = [*(publish.MART_OUTPUTS if marts else ()), *((publish.STAGED,) if staged else ())]
    if not outputs:
        return None
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey([GROUP, name]),
            deps=staged if name == publish.STAGED else marts,
            group_name=GROUP,
            owners=OWNERS,
            skippable=True,
            kinds={KINDS[name]},
            description=DESCRIPTIONS[name],
        )
        for name in outputs
    ]
    return cross_site_step(GROUP, specs, publish.run)
