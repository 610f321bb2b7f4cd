"""The step shape of the vault tables derived across sites (point-in-time, reference tables): one
unpartitioned, subsettable multi-asset per kind, built by the marts job.

(No `from __future__ import annotations` here: Dagster reads the step's annotations as types.)"""

import dagster as dg

from medvault.assets.partitions import WAREHOUSE_POOL
from medvault.assets.results import results, step_context
from medvault.platform.steps.context import Engine


def cross_site_step(name: str, specs: list[dg.AssetSpec], run) -> dg.AssetsDefinition:
    """A multi-asset whose step runs `run(ctx, names)` for the selected tables' names."""

    @dg.multi_asset(name=name, specs=specs, pool=WAREHOUSE_POOL, can_subset=True)
    def step(context: dg.AssetExecutionContext, medvault: dg.ResourceParam[Engine]):
        names = {k.path[1] for k in context.selected_asset_keys}
        with step_context(context, medvault, partitioned=False) as ctx:
            yield from results(run(ctx, names))

    return step
