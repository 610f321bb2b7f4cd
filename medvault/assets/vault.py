"""vault/<hub|link|satellite>: Data Vault 2.0 tables from the compiled vault model (rules/vault/*.yaml).

Every fed hub, link and satellite is its own asset in the lineage graph, depending on the staging
assets whose loads feed it; they materialize in one subsettable step (in model order) because all of
them write through the single warehouse writer.
"""

import dagster as dg

from medvault.assets.ingest import staging_key
from medvault.assets.partitions import OWNERS, WAREHOUSE_POOL
from medvault.assets.results import results, step_context
from medvault.platform.steps import vault
from medvault.platform.steps.context import Engine
from medvault.platform.vault.model import VaultModel


def vault_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["vault", name])


def build_vault_assets(model: VaultModel, partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    specs = [
        dg.AssetSpec(
            key=vault_key(obj.name),
            deps=[staging_key(*source.split(".", 1)) for source in model.sources(obj)],
            group_name="vault",
            kinds={"duckdb"},
            owners=OWNERS,
            description=obj.description,
            metadata={"dagster/table_name": f"vault.{obj.name}", "vault_kind": obj.kind},
        )
        for obj in model.fed()
    ]

    @dg.multi_asset(
        name="vault", specs=specs, partitions_def=partitions, pool=WAREHOUSE_POOL, can_subset=True
    )
    def _load(context: dg.AssetExecutionContext, medvault: dg.ResourceParam[Engine]):
        names = {k.path[-1] for k in context.selected_asset_keys}
        with step_context(context, medvault) as ctx:
            result = vault.run(ctx, names)
        yield from results(result)
        if result.failures:
            site, date = ctx.partition
            raise dg.Failure(f"vault loads failed for {', '.join(result.failures)} ({site} {date})")

    return [_load]
