"""Publish the built marts out of the warehouse: the Parquet lake (`lake/marts/`), seed 000's CSV reports
(MEDVAULT_REPORTS), PostgreSQL (MEDVAULT_PUBLISH_POSTGRES) and the offline HTML dashboard
(MEDVAULT_HOME/dashboard/index.html), each from the suppressed copy
(publish/suppress.py); and the staged slices staged since the last publish as Parquet (`lake/staged/`,
patient data, not suppressed: the warehouse's room). Cross-site; runs after the marts in the marts job.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medvault.platform.dashboard.build import write_dashboard
from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.marts.models import MartDef, build_order
from medvault.platform.publish import postgres
from medvault.platform.publish.csv_reports import write_csv_reports
from medvault.platform.publish.parquet import write_mart_parquet
from medvault.platform.publish.staged import write_staged_slices
from medvault.platform.publish.suppress import suppressed_cells
from medvault.platform.redact import safe_error
from medvault.platform.results import StepResult, TableResult
from medvault.platform.staging.tables import staging_name
from medvault.platform.steps.context import StepContext
from medvault.platform.warehouse import table_exists

ZONE = "publish"
PARQUET, CSV, POSTGRES, DASHBOARD = "marts_parquet", "csv_reports", "postgres", "dashboard"
STAGED = "staged_parquet"
MART_OUTPUTS = (PARQUET, CSV, POSTGRES, DASHBOARD)
OUTPUTS = (*MART_OUTPUTS, STAGED)


def _built(con, ctx: StepContext) -> tuple[list[MartDef], list[str]]:
    marts = build_order(ctx.rules.marts)
    built = [m for m in marts if table_exists(con, "marts", m.name)]
    return built, [m.name for m in marts if m not in built]


def run(ctx: StepContext, names: set[str] | None = None) -> StepResult:
    """`names`: the outputs to write (None: all; PostgreSQL only when MEDVAULT_PUBLISH_POSTGRES is set)."""
    names = set(OUTPUTS) if names is None else names
    threshold = ctx.settings.small_count
    result = StepResult()
    with ctx.connect() as con:
        if STAGED in names:
            _publish_staged(ctx, con, result)
        if not names & set(MART_OUTPUTS):
            return result
        marts, missing = _built(con, ctx)
        common = {"marts": len(marts), "marts_not_built_yet": missing, "small_count_threshold": threshold}
        common["cells_suppressed"] = sum(suppressed_cells(con, m, threshold) for m in marts)
        if PARQUET in names:
            files = [k for m in marts for k in write_mart_parquet(con, ctx.lake, m, threshold)]
            meta = {**common, "files": len(files), "lake_prefix": "marts/"}
            result.tables.append(TableResult((ZONE, PARQUET), meta, len(files)))
        if CSV in names:
            day = datetime.now(UTC).date()
            files = [k for m in marts for k in write_csv_reports(con, ctx.reports, m, threshold, day)]
            meta = {**common, "files": len(files), "report_date": day.isoformat()}
            result.tables.append(TableResult((ZONE, CSV), meta, len(files)))
        if DASHBOARD in names:
            path, data = write_dashboard(con, ctx.rules, ctx.settings.home, threshold)
            shown = sum(len(rows) for rows in data["datasets"].values())
            meta = {
                **common,
                "path": str(path),
                "url": path.as_uri(),
                "rows_shown": shown,
                "sites": len(data["sites"]),
            }
            result.tables.append(TableResult((ZONE, DASHBOARD), meta, shown))
        if POSTGRES in names and ctx.settings.publish_postgres:
            _publish_postgres(ctx, con, marts, common, result)
    return result


def _publish_staged(ctx: StepContext, con, result: StepResult) -> None:
    """Every slice staged since its last export, one batch per staged table (and its child extracts)."""
    ledger = Ledger(con)
    pending = ledger.exports.pending()
    by_target: dict[str, list] = {}
    for item in pending:
        by_target.setdefault(item.target, []).append(item)
    children = {
        staging_name(system, table): [staging_name(system, c.name) for c in defs[-1][1].children]
        for (system, table), defs in ctx.rules.staged_tables().items()
    }
    written = removed = 0
    for target, items in sorted(by_target.items()):
        table = target.removeprefix("staging.")
        slices = [(i.site, i.date) for i in items]
        for name in (table, *children.get(table, [])):
            if table_exists(con, "staging", name):
                w, r = write_staged_slices(con, ctx.lake, name, slices)
                written, removed = written + w, removed + r
        ledger.exports.exported(items)
    meta = {
        "slices": len(pending),
        "files_written": written,
        "files_removed": removed,
        "lake_prefix": "staged/",
    }
    result.tables.append(TableResult((ZONE, STAGED), meta, written))


def _publish_postgres(ctx: StepContext, con, marts: list[MartDef], common: dict, result: StepResult) -> None:
    written, unchanged = [], []
    try:
        with postgres.connect(ctx.settings.publish_postgres) as pg:
            for mart in marts:
                published = postgres.publish_mart(
                    con, pg, mart, ctx.settings.small_count, ctx.settings.publish_reader
                )
                (written if published.written else unchanged).append(published.table)
    except Exception as exc:  # the server or a table failed: the step fails after the other outputs
        result.failures.append(f"PostgreSQL publish: {safe_error(exc)}")
        result.failed.append((ZONE, POSTGRES))
        return
    ledger = Ledger(con)  # the step's own connection: no second one to the warehouse
    for table in written:
        ledger.audit.record(LoadRecord("publish", f"postgres:{table}", 0), ctx.run_id)
    meta = {**common, "tables_written": written, "tables_unchanged": unchanged}
    result.tables.append(TableResult((ZONE, POSTGRES), meta, len(written)))
