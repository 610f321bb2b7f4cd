"""vault/<hub|link|satellite>: Data Vault 2.0 tables generated from rules/vault/*.yaml.

Every hub, link and satellite is its own asset in the lineage graph, fed by the staging assets its
loads name; they materialize in one subsettable step (hubs, then links, then satellites) because all
of them write through the single warehouse writer.
"""

from datetime import UTC, datetime

import dagster as dg

from medvault.assets.partitions import OWNERS, SITE_DATE, WAREHOUSE_POOL, site_date
from medvault.assets.staging import staging_key
from medvault.platform.redact import safe_error
from medvault.platform.rules.models import Rules
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_hub, load_link, load_satellite
from medvault.resources import PlatformResource, WarehouseResource

LOADERS = {"hub": load_hub, "link": load_link, "satellite": load_satellite}


def vault_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["vault", name])


def _sources_feeding(rules: Rules, name: str, kind: str) -> list[dg.AssetKey]:
    keys = set()
    for load in rules.vault.loads:
        feeds = (
            name in load.hubs
            if kind == "hub"
            else name in load.links
            if kind == "link"
            else any(s.name == name for s in load.satellites)
        )
        if feeds:
            keys.add(staging_key(load.system, load.table))
    return sorted(keys, key=lambda k: k.to_user_string())


def vault_tables(rules: Rules) -> list[tuple[str, str, str]]:
    """(name, kind, description) of every fed vault table, in load order: hubs, links, satellites."""
    model = rules.vault
    out = [
        (
            h.name,
            "hub",
            h.description or f"Hub of the {h.family} family, keyed by site + {', '.join(h.business_key)}.",
        )
        for h in model.hubs.values()
        if _sources_feeding(rules, h.name, "hub")
    ]
    out += [
        (link.name, "link", link.description or f"Link between {', '.join(link.hubs)}.")
        for link in model.links.values()
        if _sources_feeding(rules, link.name, "link")
    ]
    out += [
        (s.name, "satellite", f"Satellite of {s.parent}: {', '.join(s.columns)} (history by hashdiff).")
        for s in model.satellites().values()
    ]
    return out


def build_vault_assets(rules: Rules) -> list[dg.AssetsDefinition]:
    tables = vault_tables(rules)
    specs = [
        dg.AssetSpec(
            key=vault_key(name),
            deps=_sources_feeding(rules, name, kind),
            group_name="vault",
            kinds={"duckdb"},
            owners=OWNERS,
            description=description,
            metadata={"dagster/table_name": f"vault.{name}", "vault_kind": kind},
        )
        for name, kind, description in tables
    ]
    kinds = {name: kind for name, kind, _ in tables}

    @dg.multi_asset(name="vault", specs=specs, partitions_def=SITE_DATE, pool=WAREHOUSE_POOL, can_subset=True)
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform: PlatformResource):
        site, date = site_date(context)
        rules_now = platform.rules()
        load_ts = datetime.now(UTC).replace(tzinfo=None)
        failed = []
        with warehouse.warehouse().connect() as con:
            create_vault_tables(con, rules_now)
            for name, _, _ in tables:
                if vault_key(name) not in context.selected_asset_keys:
                    continue
                try:
                    inserted = LOADERS[kinds[name]](con, rules_now, name, site, date, load_ts)
                except Exception as exc:  # keep loading the other tables; report at the end
                    context.log.error(f"vault {name} failed: {safe_error(exc)}")
                    failed.append(name)
                    continue
                total = con.execute(f'SELECT count(*) FROM vault."{name}"').fetchall()[0][0]
                yield dg.MaterializeResult(
                    asset_key=vault_key(name),
                    metadata={"rows_inserted": inserted, "dagster/row_count": total},
                )
        if failed:
            raise dg.Failure(f"vault loads failed for {', '.join(failed)} ({site} {date})")

    return [_load]
