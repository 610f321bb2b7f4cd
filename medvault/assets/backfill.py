"""The backfill batch job: many (site, date) partitions of the ingest assets in ONE run, each partition's
materializations and check results still recorded against its own partition key.

Why a job of its own: Dagster runs a range of partitions in one run only through a `BackfillPolicy`,
and ranged runs of a site x date multi-partition with a dynamic dimension fail in Dagster 1.13 ("there
are (2) key ranges", dagster issues #32631, #33815). A run per partition costs a process or a run
start, ~130 planned events and a step start per partition; a batch pays them once. The op does per
partition exactly what `raw/drops` and `load` do (the engine's `receive` step, then `load_steps`) and logs
the results as `AssetMaterialization` / `AssetCheckEvaluation` events with the partition key, so the
assets' partition status and check history look as if each partition had run alone. One failed
partition does not stop the others; the run fails at the end naming them.
"""

from datetime import UTC, datetime

import dagster as dg

from medvault.assets.load import load_steps
from medvault.assets.partitions import SITE_PARTITIONS, WAREHOUSE_POOL, parse_partition_key, partition_key
from medvault.assets.results import metadata, partition_events
from medvault.platform import stopping
from medvault.platform.drops.layout import is_valid_date, is_valid_site, partition_range
from medvault.platform.redact import safe_error
from medvault.platform.results import StepResult, TableResult
from medvault.platform.steps import receive
from medvault.platform.steps.context import Engine
from medvault.recovery import PID_TAG, process_tags

BACKFILL_JOB = "backfill_batch_job"
BACKFILL_OP = "backfill_partitions"
PARTITIONS_TAG = "medvault/partitions"
FAILED_KEYS = "failed_partitions"  # metadata of the run's failure: the keys that failed


class BackfillBatchConfig(dg.Config):
    """The partitions to (re)process, as Dagster writes their keys ("<YYYY-MM-DD>|<site>"), and how long a
    file without a completion marker must stay unchanged to be taken (< 0: MEDVAULT_SETTLE_SECONDS).
    A drop sensor's batch also names its store and, per partition, the versions of the files it saw
    stable without a marker (as an ingest run's FetchConfig does); a backfill reads every store."""

    partitions: list[str]
    settle_seconds: float = -1
    store: str = ""
    files: dict[str, dict[str, str]] = {}  # partition key -> {file key: version}


def backfill_run_config(
    keys: list[str], settle_seconds: float | None = None, store: str = "", files: dict | None = None
) -> dict:
    """Run config of a batch run over `keys` (see BackfillBatchConfig)."""
    config: dict = {"partitions": list(keys)}
    if settle_seconds is not None:
        config["settle_seconds"] = settle_seconds
    if store:
        config |= {"store": store, "files": {k: dict(v) for k, v in (files or {}).items()}}
    return {"ops": {BACKFILL_OP: {"config": config}}}


def batch_partitions(run_config: dict) -> list[str]:
    """The partition keys of a batch run's config."""
    return list(run_config["ops"][BACKFILL_OP]["config"]["partitions"])


def _parsed(keys: list[str]) -> list[tuple[str, str]]:
    """(site, date) of every key, each once, in the given order; a key that is not one fails the run."""
    parsed, bad = [], []
    for key in keys:
        try:
            site, date = parse_partition_key(key)
        except ValueError:
            bad.append(key)
            continue
        if is_valid_site(site) and is_valid_date(date):
            parsed.append((site, date))
        else:
            bad.append(key)
    parsed = list(dict.fromkeys(parsed))  # a key named twice runs once
    if bad:
        raise dg.Failure(
            f"not a '<YYYY-MM-DD>|<site>' partition key: {', '.join(map(str, bad[:5]))}"
            + (" ..." if len(bad) > 5 else "")
        )
    return parsed


def build_backfill_job(load_asset: dg.AssetsDefinition) -> dg.JobDefinition:
    """The batch job over everything the `load` step can materialize (every table, every check)."""
    tables = {tuple(k.path) for k in load_asset.keys}
    checks = {(tuple(c.asset_key.path), c.name) for c in load_asset.check_keys}

    @dg.op(name=BACKFILL_OP, pool=WAREHOUSE_POOL)
    def backfill_partitions(
        context: dg.OpExecutionContext, config: BackfillBatchConfig, medvault: dg.ResourceParam[Engine]
    ):
        """Receive and load every named partition in turn, logging each one's results under its key."""
        if PID_TAG not in context.run.tags:  # launched by the daemon: record which process executes it
            context.instance.add_run_tags(context.run.run_id, process_tags())
        failed: dict[str, str] = {}  # partition key -> what failed
        sites = set(context.instance.get_dynamic_partitions(SITE_PARTITIONS.name))
        low, high = partition_range(medvault.settings.start_date, datetime.now(UTC).date())
        settle = None if config.settle_seconds < 0 else config.settle_seconds
        partitions = _parsed(config.partitions)
        for site, date in partitions:
            key = partition_key(site, date)
            problems = []
            if site not in sites:
                failed[str(key)] = f"site {site} is not a site partition (`medvault sites list`)"
            elif not low <= date <= high:
                failed[str(key)] = f"{date} is outside the partition range {low} to {high}"
            if str(key) in failed:
                context.log.error(f"{key} skipped: {failed[str(key)]}")
                continue
            try:
                announced = (config.store, config.files.get(str(key), {})) if config.store else None
                for step in _partition(medvault, context, site, date, settle, tables, checks, announced):
                    yield from partition_events(step, key)
                    problems += step.failures
            except Exception as exc:  # one partition's failure never stops the others
                if stopping.interrupted(exc):
                    raise
                problems.append(safe_error(exc))
            if problems:
                failed[str(key)] = "; ".join(problems)
                context.log.error(f"{key} failed: {failed[str(key)]}")
        done = len(partitions) - len(failed)
        if failed:
            shown = "; ".join(f"{k}: {why}" for k, why in list(failed.items())[:5])
            raise dg.Failure(
                f"{len(failed)} of {len(partitions)} partition(s) failed, the others were loaded: {shown}",
                metadata=metadata({"partitions_done": done, "failed": failed, FAILED_KEYS: list(failed)}),
            )
        yield dg.Output(None, metadata={"partitions_done": done})

    @dg.job(
        name=BACKFILL_JOB,
        description=(
            "Receive, stage and load many `<YYYY-MM-DD>|<site>` partitions in one run (config: partitions), "
            "each recorded under its own partition; what `medvault backfill` launches."
        ),
        executor_def=dg.in_process_executor,
    )
    def backfill_batch_job():
        backfill_partitions()

    return backfill_batch_job


def _partition(engine: Engine, context, site: str, date: str, settle, tables, checks, announced=None):
    """One partition: fetch and record its files (raw/drops), then the load step's tables and checks.
    `announced` is (store, {file key: version}) from a drop sensor: that store only, and its unmarked
    files at the versions the sensor saw stable, as in an ingest run."""
    with engine.step(site, date, run_id=context.run.run_id, log=context.log) as ctx:
        store, ready = announced or ("", None)
        stores = [store] if store else list(ctx.settings.stores)
        landing = receive.fetch(
            ctx, [(name, None) for name in stores], context.run.run_id, ready=ready, settle_seconds=settle
        )
        with ctx.session():
            received = receive.record(ctx, landing)
            by_store = {name: s.as_metadata() for name, s in received.by_store.items()}
            drops = TableResult(("raw", "drops"), {**received.totals(), "by_store": by_store})
            errors = [f"could not read the drop from {name}" for name in sorted(received.errors)]
            yield StepResult(tables=[drops], checks=[received.check()], failures=errors)
            if not errors:
                yield from load_steps(ctx, tables, checks)
