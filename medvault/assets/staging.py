"""staging/<system>/<table>: one asset per source table, generated from the source definitions.

Adding a source system is YAML only: a new `rules/sources/<system>/<version>.yaml` becomes new assets
here. JSON arrays exploded into child extracts are materialized by their parent, in the same
transaction, and appear as their own assets in the lineage graph.
"""

from dataclasses import replace

import dagster as dg

from medvault.assets.partitions import OWNERS, SITE_DATE, WAREHOUSE_POOL, site_date
from medvault.assets.raw import RAW_DROPS
from medvault.platform.ingest.profile import profile
from medvault.platform.pipeline.stage import SQL_TYPES, stage_table, staging_name, union_columns
from medvault.platform.redact import safe_error
from medvault.platform.rules.models import Rules, SourceDef, TableDef
from medvault.platform.warehouse.db import quote_ident as q
from medvault.resources import PlatformResource, WarehouseResource


def staging_key(system: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["staging", system, table])


def _schema(columns) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name, SQL_TYPES[c.type], description="patient identifier (pii)" if c.pii else None
            )
            for c in columns
        ]
    )


def _reconcile(con, site: str, date: str, system: str, table: str) -> dg.AssetCheckResult:
    """rows received = loaded + rejected per file, and the staged slice and ops.rejected_rows agree."""
    received, loaded, rejected, files = con.execute(
        """SELECT coalesce(sum(rows_received), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0),
                  count(*)
           FROM ops.file_manifest WHERE site = ? AND date = ? AND system = ? AND source_table = ? AND status = 'loaded'""",
        [site, date, system, table],
    ).fetchone()
    staged = con.execute(
        f"SELECT count(*) FROM staging.{q(staging_name(system, table))} WHERE _site = ? AND _date = ?",
        [site, date],
    ).fetchone()[0]
    rejected_rows = con.execute(
        """SELECT count(DISTINCT (sha256, row_number)) FROM ops.rejected_rows
           WHERE site = ? AND date = ? AND source_table = ?""",
        [site, date, f"{system}.{table}"],
    ).fetchone()[0]
    ok = received == loaded + rejected and staged == loaded and rejected_rows == rejected
    return dg.AssetCheckResult(
        check_name="rows_reconcile",
        asset_key=staging_key(system, table),
        passed=bool(ok),
        metadata={
            "files": files,
            "rows_received": received,
            "rows_loaded": loaded,
            "rows_rejected": rejected,
            "rows_in_staging": staged,
            "rows_in_rejected_rows": rejected_rows,
        },
    )


def _key_unique(con, site: str, date: str, system: str, tdef: TableDef) -> dg.AssetCheckResult:
    """No business key appears twice with the same modified time in one drop (which version would win?)."""
    if not tdef.key:
        return dg.AssetCheckResult(
            check_name="key_unique",
            passed=True,
            asset_key=staging_key(system, tdef.name),
            metadata={"note": "no key declared"},
        )
    cols = [*tdef.key, *([tdef.modified] if tdef.modified else [])]
    dupes = con.execute(
        f"""SELECT count(*) FROM (SELECT {", ".join(q(c) for c in cols)} FROM staging.{q(staging_name(system, tdef.name))}
            WHERE _site = ? AND _date = ? GROUP BY ALL HAVING count(*) > 1)""",
        [site, date],
    ).fetchone()[0]
    return dg.AssetCheckResult(
        check_name="key_unique",
        asset_key=staging_key(system, tdef.name),
        passed=dupes == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"duplicate_keys": dupes, "key": ", ".join(tdef.key)},
    )


def _table_specs(system: str, table: str, defs: list[tuple[SourceDef, TableDef]]):
    """Asset specs (the table and its child extracts) and check specs of one source table."""
    _, newest = defs[-1]
    columns = union_columns(defs)
    versions = ", ".join(s.version for s, _ in defs)
    specs = [
        dg.AssetSpec(
            key=staging_key(system, table),
            deps=[RAW_DROPS],
            group_name="staging",
            kinds={"duckdb"},
            owners=OWNERS,
            description=(newest.description or f"{system} {table} extract")
            + f"\n\nStaged from {system} versions {versions} into staging.{staging_name(system, table)}; "
            "the latest row per business key is in the __latest view.",
            metadata={
                "dagster/column_schema": _schema(columns),
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
                description=child.description
                or f"Rows of the `{child.array}` array of {system} {table}, one per element (staged with {table}).",
                metadata={"dagster/table_name": f"staging.{staging_name(system, child.name)}"},
            )
        )
    checks = [
        dg.AssetCheckSpec(
            "rows_reconcile",
            asset=staging_key(system, table),
            description="rows received = rows loaded + rows rejected, matching the staged slice",
        ),
        dg.AssetCheckSpec(
            "key_unique",
            asset=staging_key(system, table),
            description="no business key twice with the same modified time in one drop",
        ),
    ]
    return specs, checks


def _stage_one(context, con, rules: Rules, platform, system: str, table: str, site: str, date: str):
    """Stage one source table for the partition and yield its selected results and checks."""
    defs = rules.staged_tables()[(system, table)]
    _, newest = defs[-1]
    selected = context.selected_asset_keys
    key = staging_key(system, table)
    checks = context.selected_asset_check_keys
    family = {key, *(staging_key(system, c.name) for c in newest.children)}
    if not family & selected:  # only the checks were asked for: check the slice as it is
        if dg.AssetCheckKey(key, "rows_reconcile") in checks:
            yield _reconcile(con, site, date, system, table)
        if dg.AssetCheckKey(key, "key_unique") in checks:
            yield _key_unique(con, site, date, system, newest)
        return
    if key not in selected:
        children = ", ".join(k.to_user_string() for k in sorted(family & selected, key=str))
        raise dg.Failure(
            f"{children} is staged together with its parent {key.to_user_string()} (one file, one transaction): "
            "select the parent too"
        )
    summary = stage_table(con, rules, platform.lake(), platform.quarantine_zone(), system, table, site, date)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _mv_slice AS SELECT * FROM staging.{q(staging_name(system, table))} "
        "WHERE _site = ? AND _date = ?",
        [site, date],
    )
    column_profile = profile(con, "_mv_slice", replace(newest, columns=tuple(union_columns(defs))))
    con.execute("DROP TABLE _mv_slice")
    if key in selected:
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                **{k: v for k, v in summary.as_metadata().items() if not isinstance(v, dict)},
                "dagster/row_count": summary.rows_loaded,
                "reject_reasons": dg.MetadataValue.json(summary.reject_reasons),
                "undeclared_columns": dg.MetadataValue.json(summary.extra_columns),
                "profile": dg.MetadataValue.json(column_profile),
            },
        )
    for child in newest.children:
        if staging_key(system, child.name) in selected:
            yield dg.MaterializeResult(
                asset_key=staging_key(system, child.name),
                metadata={"dagster/row_count": summary.children.get(child.name, 0)},
            )
    if dg.AssetCheckKey(key, "rows_reconcile") in checks:
        yield _reconcile(con, site, date, system, table)
    if dg.AssetCheckKey(key, "key_unique") in checks:
        yield _key_unique(con, site, date, system, newest)
    context.log.debug(f"{system}.{table}: {summary.rows_loaded} loaded, {summary.rows_rejected} rejected")


def build_staging_assets(rules: Rules) -> list[dg.AssetsDefinition]:
    """All source tables as one subsettable multi-asset: one asset per table in the graph, one step per run.

    One step (not one per table) because every staging write goes through the single warehouse writer
    anyway, and each extra step costs a DuckDB connection and a dozen event-log writes.
    """
    tables = sorted(rules.staged_tables().items())
    specs, check_specs, owner = [], [], {}
    for (system, table), defs in tables:
        table_specs, table_checks = _table_specs(system, table, defs)
        specs += table_specs
        check_specs += table_checks
        for spec in table_specs:
            owner[spec.key] = (system, table)

    @dg.multi_asset(
        name="staging",
        specs=specs,
        check_specs=check_specs,
        partitions_def=SITE_DATE,
        pool=WAREHOUSE_POOL,
        can_subset=True,
    )
    def _stage(context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform: PlatformResource):
        site, date = site_date(context)
        rules_now: Rules = platform.rules()
        wanted = sorted(
            {owner[k] for k in context.selected_asset_keys}
            | {owner[c.asset_key] for c in context.selected_asset_check_keys}
        )
        failed = []
        with warehouse.warehouse().connect() as con:
            for system, table in wanted:
                try:
                    yield from _stage_one(context, con, rules_now, platform, system, table, site, date)
                except dg.Failure:
                    raise  # a request that cannot be served (e.g. a child asset without its parent)
                except Exception as exc:  # one broken table must not stop the others
                    context.log.error(f"staging {system}.{table} failed: {safe_error(exc)}")
                    failed.append(f"{system}.{table} ({safe_error(exc)})")
        if failed:
            raise dg.Failure(
                f"staging failed for {'; '.join(failed)} at {site} {date}; the other tables were staged"
            )

    return [_stage]
