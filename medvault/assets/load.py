"""The `load` step: staging, DICOM and vault assets of a (site, date), materialized in one subsettable step.

One step, not one per layer, because every part writes through the single warehouse writer anyway, and
because a table that received nothing is simply not materialized (its output is skipped) without
skipping the layers after it. Inside the step: stage the selected tables, then the DICOM slice (instances,
series, studies) and the image delivery, then the vault objects (not from a table whose staging failed in this run).
"""

import dagster as dg

from medvault.assets.dicom import DICOM_DELIVERED, DICOM_STEP_KEYS, dicom_specs
from medvault.assets.ingest import staging_specs
from medvault.assets.partitions import WAREHOUSE_POOL
from medvault.assets.results import results, step_context
from medvault.assets.vault import vault_check_specs, vault_specs
from medvault.platform.rules import Rules
from medvault.platform.steps import deliver, dicom, stage, vault
from medvault.platform.steps.context import Engine
from medvault.platform.steps.stage import StepRefused
from medvault.platform.vault.model import VaultModel

LOAD_OP = "load"


def _selected(step, selected: set) -> object:
    """The step's results for the selected assets only (a step writing several tables may be subset)."""
    step.tables = [t for t in step.tables if dg.AssetKey(list(t.table)) in selected]
    step.checks = [c for c in step.checks if dg.AssetKey(list(c.table)) in selected]
    return step


def build_load_asset(
    rules: Rules, model: VaultModel, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    staging, staging_checks = staging_specs(rules)
    images, image_checks = dicom_specs(rules)

    @dg.multi_asset(
        name=LOAD_OP,
        specs=[*staging, *images, *vault_specs(model)],
        check_specs=[*staging_checks, *image_checks, *vault_check_specs(model)],
        partitions_def=partitions,
        pool=WAREHOUSE_POOL,
        can_subset=True,
    )
    def load(context: dg.AssetExecutionContext, medvault: dg.ResourceParam[Engine]):
        keys = {tuple(k.path) for k in context.selected_asset_keys}
        checks = {(tuple(c.asset_key.path), c.name) for c in context.selected_asset_check_keys}
        failures = []
        with step_context(context, medvault) as ctx, ctx.session():
            try:
                staged = stage.run(ctx, {k for k in keys if k[0] == "staging"}, checks)
            except StepRefused as exc:
                raise dg.Failure(str(exc)) from None
            yield from results(staged)
            failures += staged.failures
            if DICOM_STEP_KEYS & context.selected_asset_keys:
                yield from results(_selected(dicom.run(ctx), context.selected_asset_keys))
            if DICOM_DELIVERED in context.selected_asset_keys:
                delivered = deliver.run(ctx)
                yield from results(delivered)
            names = {k[1] for k in keys if k[0] == "vault"}
            checked = {asset[1] for asset, _ in checks if asset[0] == "vault"}
            if names or checked:  # a check alone reloads its object: idempotent, so it inserts nothing new
                failed = {f"{t[1]}.{t[2]}" for t in staged.failed}
                loaded = vault.run(ctx, names | checked, failed, checks)
                loaded.tables = [t for t in loaded.tables if t.table[1] in names]
                yield from results(loaded)
                failures += [f"vault {name}" for name in loaded.failures]
        if failures:
            site, date = ctx.partition
            raise dg.Failure(f"{'; '.join(failures)} failed at {site} {date}; the other tables were loaded")

    return load
