"""Ingest assets: raw/drops (receive every file of a (site, date) drop), raw/strays, and one staging asset
per source table, generated from the rules.

raw/drops is a graph of two ops so the warehouse pool is held only while the ledger is written: `fetch`
(outside the pool) copies, hashes and identifies the files into the lake's landing area; `record` (in
the pool) accounts for them in one transaction.
"""

import dagster as dg

from medvault.assets import schemas
from medvault.assets.partitions import OWNERS, WAREHOUSE_POOL
from medvault.assets.results import check, step_context
from medvault.platform.rules.models import Rules, SourceDef, TableDef
from medvault.platform.staging.tables import staging_name, union_columns
from medvault.platform.steps import receive, stage, strays
from medvault.platform.steps.context import Engine

RAW_DROPS = dg.AssetKey(["raw", "drops"])
STRAYS = dg.AssetKey(["raw", "strays"])
RAW_DROPS_OP, FETCH_OP = "raw__drops", "fetch"
STRAYS_OP = "raw__strays"


def ingest_run_config(store_name: str, files: dict[str, str]) -> dict:
    """Tell raw/drops which store announced the run and which file versions it saw stable."""
    return ingest_fetch_config({"store": store_name, "files": files})


def ingest_fetch_config(config: dict) -> dict:
    """Run config for raw/drops' fetch op of a run no sensor announced (backfills): `config` holds
    FetchConfig fields, e.g. {"settle_seconds": 0}."""
    return {"ops": {RAW_DROPS_OP: {"ops": {FETCH_OP: {"config": config}}}}} if config else {}


def announced(run_config: dict) -> tuple[str, dict[str, str]]:
    """(store, files) of an ingest run config built by `ingest_run_config`."""
    config = run_config["ops"][RAW_DROPS_OP]["ops"][FETCH_OP]["config"]
    return config["store"], dict(config["files"])


def strays_run_config(store_name: str, found: list[tuple[str, str, str]]) -> dict:
    files = [{"key": k, "code": c, "message": m} for k, c, m in found]
    return {"ops": {STRAYS_OP: {"config": {"store": store_name, "files": files}}}}


# -- raw/drops -------------------------------------------------------------------------------------------
class FetchConfig(dg.Config):
    """Set by the drop sensors; empty for backfills and manual runs (then every enabled store is read and
    files without a completion marker are taken once unchanged for MEDVAULT_SETTLE_SECONDS)."""

    store: str = ""
    files: dict[str, str] = {}  # key -> content version the sensor saw stable
    settle_seconds: float = -1  # < 0: MEDVAULT_SETTLE_SECONDS


def _landing_id(context) -> str:
    """A retried run records the landing its first attempt fetched."""
    return context.run.root_run_id or context.run.run_id


@dg.op(
    name=FETCH_OP,
    out=dg.Out(dg.Nothing),
    description="Copy, hash and identify the drop's files (no warehouse).",
)
def fetch_drop(context: dg.OpExecutionContext, config: FetchConfig, medvault: dg.ResourceParam[Engine]):
    with step_context(context, medvault) as ctx:
        stores = [config.store] if config.store else list(ctx.settings.stores)
        landing = receive.fetch(
            ctx,
            [(name, None) for name in stores],
            _landing_id(context),
            ready=config.files if config.store else None,
            settle_seconds=None if config.settle_seconds < 0 else config.settle_seconds,
        )
    fetched = sum(len(files) for files in landing.stores.values())
    context.log.info(f"fetched {fetched} file(s), {sum(landing.pending.values())} still uploading")


@dg.op(
    name="record",
    pool=WAREHOUSE_POOL,
    ins={"fetched": dg.In(dg.Nothing)},
    out={"result": dg.Out(dg.Nothing), receive.CHECK: dg.Out(dg.Nothing)},
    description="Account for every fetched file in the ledger, in one transaction.",
)
def record_drop(context: dg.OpExecutionContext, medvault: dg.ResourceParam[Engine]):
    with step_context(context, medvault) as ctx:
        site, date = ctx.partition
        landing = ctx.landing.load(site, date, _landing_id(context))
        if landing is None:
            raise dg.Failure(f"no fetched files for {site} {date} in this run: run the whole raw/drops asset")
        result = receive.record(ctx, landing)
    for name, summary in result.by_store.items():
        context.log.info(
            f"{name}: {summary.files_seen} files, {summary.received} received, {summary.quarantined} "
            f"quarantined, {summary.unchanged} unchanged, {summary.pending} still uploading"
        )
    if result.errors:
        raise dg.Failure(
            f"could not read the drop from {', '.join(sorted(result.errors))}; files from other stores were received",
            metadata={"store_errors": dg.MetadataValue.json(result.errors)},
        )
    by_store = {name: s.as_metadata() for name, s in result.by_store.items()}
    yield dg.Output(None, "result", metadata={**result.totals(), "by_store": dg.MetadataValue.json(by_store)})
    yield check(result.check())


def build_raw_drops(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.graph_asset(
        key=RAW_DROPS,
        group_name="raw",
        partitions_def=partitions,
        kinds={"python", "file"},
        owners=OWNERS,
        description=(
            "Every file of a `<site>/<YYYY-MM-DD>/` drop, accounted for in `ops.file_manifest`: identified and "
            "copied to `lake/raw/` (immutable), or quarantined with a reason. Identical content dropped again is a no-op; a "
            "changed file supersedes its earlier version; files still being uploaded are left for a later run."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                receive.CHECK,
                asset=RAW_DROPS,
                description="Warns when this receive quarantined files; the metadata gives counts by reason.",
            )
        ],
    )
    def raw_drops():
        result, problems = record_drop(fetch_drop())
        return {"result": result, f"{RAW_DROPS_OP}_{receive.CHECK}": problems}

    return raw_drops


# -- raw/strays ------------------------------------------------------------------------------------------
class StrayFile(dg.Config):
    key: str
    code: str
    message: str


class StraysConfig(dg.Config):
    """Filled in by the drop sensors; empty means: rescan every enabled store for strays."""

    store: str = ""
    files: list[StrayFile] = []


@dg.asset(
    key=STRAYS,
    group_name="raw",
    pool=WAREHOUSE_POOL,
    kinds={"python", "file"},
    owners=OWNERS,
    description=(
        "Files found outside the drop convention (at the root, beside site folders, in folders that are not "
        "dates or are outside the partition range): quarantined with the reason under the pseudo-site "
        "`_strays`, one manifest row per content."
    ),
)
def raw_strays(
    context: dg.AssetExecutionContext, config: StraysConfig, medvault: dg.ResourceParam[Engine]
) -> dg.MaterializeResult:
    with step_context(context, medvault, partitioned=False) as ctx:
        stores = [config.store] if config.store else list(ctx.settings.stores)
        given = {config.store: [(f.key, f.code, f.message) for f in config.files]} if config.files else None
        new = strays.run(ctx, stores, given)
    context.log.info(f"{new} stray file(s) quarantined")
    return dg.MaterializeResult(metadata={"strays_quarantined": new})


# -- staging ---------------------------------------------------------------------------------------------
def staging_key(system: str, table: str) -> dg.AssetKey:
    """staging/<system>__<table>: the lineage graph labels a node by its key's last part."""
    return dg.AssetKey(list(stage.asset_of(system, table)))


def _table_specs(system: str, table: str, defs: list[tuple[SourceDef, TableDef]]):
    """Asset specs (the table and its child extracts) and check specs of one source table."""
    _, newest = defs[-1]
    versions = ", ".join(s.version for s, _ in defs)
    specs = [
        dg.AssetSpec(
            key=staging_key(system, table),
            deps=[RAW_DROPS],
            group_name="staging",
            kinds={"duckdb"},
            owners=OWNERS,
            skippable=True,
            description=(newest.description or f"{system} {table} extract")
            + f"\n\nStaged from `{system}` versions {versions} into `staging.{staging_name(system, table)}`; "
            f"the latest row per business key is in the `staging.{staging_name(system, table)}__latest` view.",
            metadata={
                "dagster/column_schema": schemas.staging(union_columns(defs)),
                "dagster/table_name": f"staging.{staging_name(system, table)}",
                "business_key": ", ".join(newest.key),
            },
        )
    ]
    for child in newest.children:
        specs.append(
            dg.AssetSpec(
                key=staging_key(system, child.name),
                deps=[RAW_DROPS],
                group_name="staging",
                kinds={"duckdb"},
                owners=OWNERS,
                skippable=True,
                description=child.description
                or f"Rows of the `{child.array}` array of {system} {table}, one per element (staged with {table}).",
                metadata={
                    "dagster/table_name": f"staging.{staging_name(system, child.name)}",
                    "dagster/column_schema": schemas.child(union_columns(defs), newest.key, child),
                },
            )
        )
    checks = [
        dg.AssetCheckSpec(
            stage.CHECK,
            asset=staging_key(system, table),
            description=(
                "Every row accounted for: rows received = loaded + rejected, matching the staged slice (an error "
                "otherwise). Warns when rows were rejected, files quarantined while staging, or a business key "
                "appears twice with the same modified time; the metadata gives counts and reasons."
            ),
        ),
    ]
    return specs, checks


def staging_specs(rules: Rules) -> tuple[list[dg.AssetSpec], list[dg.AssetCheckSpec]]:
    """One asset per source table (and per child extract) with its checks; staged by the `load` step."""
    specs, check_specs = [], []
    for (system, table), defs in sorted(rules.staged_tables().items()):
        table_specs, table_checks = _table_specs(system, table, defs)
        specs += table_specs
        check_specs += table_checks
    return specs, check_specs
