"""vault/<hub|link|satellite>: Data Vault 2.0 tables generated from rules/vault/*.yaml.

Each table is its own asset, fed by the staging assets its loads name, so the lineage graph shows
which extracts build which hubs, links and satellites.
"""


from datetime import UTC, datetime

import dagster as dg

from medvault.assets.partitions import OWNERS, SITE_DATE, WAREHOUSE_POOL, site_date
from medvault.assets.staging import staging_key
from medvault.platform.rules.models import Rules
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_hub, load_link, load_satellite
from medvault.resources import PlatformResource, WarehouseResource


def _sources_feeding(rules: Rules, name: str, kind: str) -> list[dg.AssetKey]:
    keys = []
    for load in rules.vault.loads:
        feeds = (
            name in load.hubs if kind == "hub"
            else name in load.links if kind == "link"
            else any(s.name == name for s in load.satellites)
        )
        if feeds:
            keys.append(staging_key(load.system, load.table))
    return sorted(set(keys), key=lambda k: k.to_user_string())


def _build(rules: Rules, name: str, kind: str, description: str) -> dg.AssetsDefinition:
    loader = {"hub": load_hub, "link": load_link, "satellite": load_satellite}[kind]

    @dg.asset(
        key=["vault", name],
        deps=_sources_feeding(rules, name, kind),
        group_name="vault",
        partitions_def=SITE_DATE,
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        owners=OWNERS,
        description=description,
        metadata={"dagster/table_name": f"vault.{name}", "vault_kind": kind},
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform: PlatformResource):
        site, date = site_date(context)
        load_ts = datetime.now(UTC).replace(tzinfo=None)
        with warehouse.warehouse().connect() as con:
            create_vault_tables(con, platform.rules())
            inserted = loader(con, platform.rules(), name, site, date, load_ts)
            total = con.execute(f'SELECT count(*) FROM vault."{name}"').fetchone()[0]
        return dg.MaterializeResult(metadata={"rows_inserted": inserted, "rows_total": total})

    return _asset


def build_vault_assets(rules: Rules) -> list[dg.AssetsDefinition]:
    model = rules.vault
    assets = [
        _build(rules, hub.name, "hub", hub.description or f"Hub of the {hub.family} family, keyed by site + {', '.join(hub.business_key)}.")
        for hub in model.hubs.values()
        if _sources_feeding(rules, hub.name, "hub")
    ]
    assets += [
        _build(rules, link.name, "link", link.description or f"Link between {', '.join(link.hubs)}.")
        for link in model.links.values()
        if _sources_feeding(rules, link.name, "link")
    ]
    assets += [
        _build(rules, sat.name, "satellite", f"Satellite of {sat.parent}: {', '.join(sat.columns)} (history by hashdiff).")
        for sat in model.satellites().values()
    ]
    return assets
