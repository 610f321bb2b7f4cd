"""The `load` step: staging, DICOM and vault assets of a (site, date), materialized in one subsettable step.

One step, not one per layer, because every part writes through the single warehouse writer anyway, and
because a table that received nothing is simply not materialized (its output is skipped) without
skipping the layers after it. Inside the step: stage the selected tables, then the DICOM slice (instances,
series, studies) and the image delivery, then the vault objects (not from a table whose staging failed in
this run). `load_steps` is that order, shared with the backfill batch (assets/backfill.py).
"""

from collections.abc import Iterator

import dagster as dg

from medvault.assets.dicom import dicom_specs
from medvault.assets.ingest import staging_specs
from medvault.assets.partitions import WAREHOUSE_POOL
from medvault.assets.results import results, step_context
from medvault.assets.vault import vault_check_specs, vault_specs
from medvault.platform.results import StepResult
from medvault.platform.rules import Rules
from medvault.platform.steps import deliver, dicom, stage, vault
from medvault.platform.steps.context import Engine, StepContext
from medvault.platform.steps.stage import StepRefused
from medvault.platform.vault.model import VaultModel

LOAD_OP = "load"
DICOM_TABLES = frozenset({dicom.ASSET, dicom.SERIES_ASSET, dicom.STUDIES_ASSET, dicom.CROSSCHECK_ASSET})


def _selected(step: StepResult, tables: set[tuple[str, ...]]) -> StepResult:
    """The step's results for the selected tables only (a step writing several tables may be subset)."""
    step.tables = [t for t in step.tables if t.table in tables]
    step.checks = [c for c in step.checks if c.table in tables]
    return step


def load_steps(
    ctx: StepContext, tables: set[tuple[str, ...]], checks: set[tuple[tuple[str, ...], str]]
) -> Iterator[StepResult]:
    """Load the selected tables (asset parts such as ("staging", "harmony_pacs__studies")) of the context's
    partition and compute the selected checks, handing out each step's results as soon as it is done. A
    part that failed is named in its result's `failures`; the other parts are still loaded. Raises
    `StepRefused` for a selection staging cannot serve (a child extract without its parent)."""
    staged = stage.run(ctx, {t for t in tables if t[0] == "staging"}, checks)
    yield staged
    if DICOM_TABLES & tables:
        yield _selected(dicom.run(ctx), tables)
    if deliver.ASSET in tables:
        yield deliver.run(ctx)
    names = {t[1] for t in tables if t[0] == "vault"}
    checked = {table[1] for table, _ in checks if table[0] == "vault"}
    if names or checked:  # a check alone reloads its object: idempotent, so it inserts nothing new
        failed = {f"{t[1]}.{t[2]}" for t in staged.failed}
        loaded = vault.run(ctx, names | checked, failed, checks)
        loaded.tables = [t for t in loaded.tables if t.table[1] in names]
        loaded.failures = [f"vault {name}" for name in loaded.failures]
        yield loaded


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
        tables = {tuple(k.path) for k in context.selected_asset_keys}
        checks = {(tuple(c.asset_key.path), c.name) for c in context.selected_asset_check_keys}
        failures = []
        with step_context(context, medvault) as ctx, ctx.session():
            try:
                for step in load_steps(ctx, tables, checks):
                    yield from results(step)
                    failures += step.failures
            except StepRefused as exc:
                raise dg.Failure(str(exc)) from None
        if failures:
            site, date = ctx.partition
            raise dg.Failure(f"{'; '.join(failures)} failed at {site} {date}; the other tables were loaded")

    return load
