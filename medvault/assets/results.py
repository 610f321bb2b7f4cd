"""Engine results to Dagster objects: the only place a `TableResult` becomes a `MaterializeResult` and a
`CheckOutcome` an `AssetCheckResult`."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from medvault.assets.partitions import site_date
from medvault.platform.results import CheckOutcome, StepResult, TableResult
from medvault.platform.steps.context import Engine, StepContext
from medvault.recovery import PID_TAG, process_tags


def asset_key(parts: tuple[str, ...]) -> dg.AssetKey:
    return dg.AssetKey(list(parts))


def metadata(values: dict) -> dict:
    """Plain values as Dagster metadata (dicts and lists as JSON)."""
    return {k: dg.MetadataValue.json(v) if isinstance(v, dict | list) else v for k, v in values.items()}


def _markdown(columns: tuple[str, ...], rows: list[tuple]) -> str:
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)
    return head + "\n" + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in rows)


def materialization(table: TableResult) -> dg.MaterializeResult:
    meta = metadata(table.metadata)
    if table.row_count is not None:
        meta["dagster/row_count"] = table.row_count
    if table.preview is not None:
        meta["preview"] = dg.MetadataValue.md(_markdown(*table.preview))
    return dg.MaterializeResult(asset_key=asset_key(table.table), metadata=meta)


def check(outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=outcome.name,
        asset_key=asset_key(outcome.table),
        passed=bool(outcome.passed),
        severity=dg.AssetCheckSeverity.WARN if outcome.warn else dg.AssetCheckSeverity.ERROR,
        metadata=metadata(outcome.metadata),
    )


def results(step: StepResult) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    yield from (materialization(t) for t in step.tables)
    yield from (check(c) for c in step.checks)


def partition_events(
    step: StepResult, partition: str
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """The same results as events of one partition, for an op that materializes many partitions in one
    run (the backfill batch)."""
    for t in step.tables:
        yield dg.AssetMaterialization(
            asset_key=asset_key(t.table), partition=partition, metadata=materialization(t).metadata
        )
    for c in step.checks:
        result = check(c)
        yield dg.AssetCheckEvaluation(
            asset_key=result.asset_key,
            check_name=c.name,
            passed=result.passed,
            metadata=result.metadata,
            severity=result.severity,
            partition=partition,
        )


def step_context(context, engine: Engine, partitioned: bool = True) -> StepContext:
    """The engine's context for this Dagster step: its partition, run and log."""
    site, date = site_date(context) if partitioned else (None, None)
    run = context.run
    if PID_TAG not in run.tags:  # launched by the daemon: record which process executes it
        context.instance.add_run_tags(run.run_id, process_tags())
    return engine.step(site, date, run_id=run.run_id, log=context.log)
