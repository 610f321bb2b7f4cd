"""The step shape of the tables derived across sites (point-in-time, reference tables, marts): one
unpartitioned, subsettable multi-asset per kind, built by the marts job.

(No `from __future__ import annotations` here: Dagster reads the step's annotations as types.)"""

import dagster as dg

from medvault.assets.partitions import WAREHOUSE_POOL
from medvault.assets.results import results, step_context
from medvault.platform.steps.context import Engine


def cross_site_step(name: str, specs: list[dg.AssetSpec], run, check_specs=()) -> dg.AssetsDefinition:
    """A multi-asset whose step runs `run(ctx, names)` for the selected tables' names; the tables that
    failed fail the step after the others are reported."""

    @dg.multi_asset(
        name=name, specs=specs, check_specs=list(check_specs), pool=WAREHOUSE_POOL, can_subset=True
    )
    def step(context: dg.AssetExecutionContext, medvault: dg.ResourceParam[Engine]):
        names = {k.path[1] for k in context.selected_asset_keys}
        checks = {(tuple(c.asset_key.path), c.name) for c in context.selected_asset_check_keys}
        with step_context(context, medvault, partitioned=False) as ctx:
            outcome = run(ctx, names)
        outcome.checks = [c for c in outcome.checks if (c.table, c.name) in checks]
        yield from results(outcome)
        if outcome.failures:
            raise dg.Failure("; ".join(outcome.failures))

    return step
